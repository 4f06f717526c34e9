// Tutorial: explaining a model of tabular data (docs/tutorials/tabular.md).
// Run after `pnpm build`: node apps/tutorials/dist/tabular.js [outDir]
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { fromOnnx, tensor, type OnnxTensor } from '@attribution/onnx';
import { FeatureAblation, KernelShap, ShapleyValueSampling } from '@attribution/primary';
import { barChartSvg } from '@attribution/visualize';
import { docsOutDir, files, isMain, readJson, round } from './data.js';

/** The numbers the tutorial shows. */
export interface TabularTutorialResult {
  readonly patient: { readonly predicted: string; readonly probability: number; readonly truth: string };
  /** The malignant logit of the patient and of the baseline (the average patient). */
  readonly logit: number;
  readonly baselineLogit: number;
  /** Σ attributions of each method (Shapley methods: about logit − baselineLogit). */
  readonly sums: Record<string, number>;
  /** The five features with the largest |attribution|, per method. */
  readonly top: Record<string, string[]>;
  /** The groups of the feature mask and their FeatureAblation attributions. */
  readonly groups: Record<string, number>;
  /** Pearson correlation of the KernelShap and ShapleyValueSampling attributions over the 30 features. */
  readonly agreement: number;
  /** The five features with the largest mean |attribution| over all patients. */
  readonly globalTop: string[];
  readonly accuracy: number;
  readonly files: string[];
}

interface Samples {
  classes: string[];
  featureNames: string[];
  mean: number[];
  std: number[];
  rawRows: number[][];
  labels: number[];
}

const values = (t: OnnxTensor): number[] => Array.from(t.data as Float32Array);
const sum = (v: readonly number[]): number => v.reduce((a, b) => a + b, 0);
const mean = (v: readonly number[]): number => sum(v) / v.length;
const correlation = (a: readonly number[], b: readonly number[]): number => {
  const [ma, mb] = [mean(a), mean(b)];
  const cov = sum(a.map((v, i) => (v - ma) * (b[i]! - mb)));
  return cov / Math.sqrt(sum(a.map((v) => (v - ma) ** 2)) * sum(b.map((v) => (v - mb) ** 2)));
};
/** The `k` names with the largest |value|. */
const topK = (scores: readonly number[], names: readonly string[], k = 5): string[] =>
  scores
    .map((v, i) => [Math.abs(v), names[i]!] as const)
    .sort((a, b) => b[0] - a[0])
    .slice(0, k)
    .map(([, name]) => name);

export async function main(outDir = docsOutDir): Promise<TabularTutorialResult> {
  // 1. The model: an MLP trained on the Wisconsin breast-cancer data (30 measurements of cell nuclei,
  //    98% test accuracy). Input [N, 30], standardised; output logits [N, 2] for "malignant" and "benign".
  const data = readJson<Samples>(files.cancerSamples);
  const names = data.featureNames;
  const model = await fromOnnx(ort, files.cancerModel, { labels: data.classes });

  // 2. Preprocessing: standardise every column with the training mean and standard deviation.
  const standardise = (rows: number[][]): OnnxTensor =>
    tensor(Float32Array.from(rows.flatMap((row) => row.map((v, j) => (v - data.mean[j]!) / data.std[j]!))), [rows.length, names.length]);
  const all = standardise(data.rawRows);
  const logits = values((await model.forward({ inputs: [all] })).output as OnnxTensor);
  const predictions = data.labels.map((_, i) => (logits[2 * i]! > logits[2 * i + 1]! ? 0 : 1));
  const accuracy = mean(predictions.map((p, i) => (p === data.labels[i] ? 1 : 0)));

  // 3. One patient: number 38 of the test set, a borderline case. The baseline is the average patient (all
  //    zeros after standardisation): the attributions say why this patient's "malignant" score differs from
  //    the average patient's.
  const i = 38;
  const x = standardise([data.rawRows[i]!]);
  const [z0, z1] = [logits[2 * i]!, logits[2 * i + 1]!];
  const probability = 1 / (1 + Math.exp(-Math.abs(z0 - z1)));
  const baselineLogit = values((await model.forward({ inputs: [tensor(new Float32Array(30), [1, 30])] })).output as OnnxTensor)[0]!;
  console.log(`patient ${i}: ${data.classes[predictions[i]!]} (${probability.toFixed(4)}), truly ${data.classes[data.labels[i]!]}; malignant logit ${z0.toFixed(3)}, average patient ${baselineLogit.toFixed(3)}`);

  // 4. Three perturbation methods, all explaining the "malignant" logit from the same baseline.
  const options = { target: 'malignant', baselines: 0 } as const;
  const kernelShap = await new KernelShap(model).attribute(x, { ...options, nSamples: 1000, perturbationsPerEval: 100, seed: 0 });
  const svs = await new ShapleyValueSampling(model).attribute(x, { ...options, nSamples: 50, perturbationsPerEval: 30, seed: 0 });
  const ablation = await new FeatureAblation(model).attribute(x, { ...options, perturbationsPerEval: 30 });

  // 5. FeatureAblation removes one feature at a time, but radius, perimeter and area measure the same thing
  //    (correlation 0.99): removing one leaves the others to carry the signal. A feature mask ablates such
  //    features together: six groups, each with its mean, standard error and worst value.
  const groupOf = (name: string): string => {
    if (/radius|perimeter|area/.test(name)) return 'size';
    if (/compactness|concav/.test(name)) return 'shape';
    return name.replace(/^(mean|worst) | error$/g, '');
  };
  const groupNames = [...new Set(names.map(groupOf))];
  const featureMask = tensor(Int32Array.from(names, (name) => groupNames.indexOf(groupOf(name))), [1, names.length]);
  const grouped = await new FeatureAblation(model).attribute(x, { ...options, featureMask, perturbationsPerEval: 6 });
  const groupScores = groupNames.map((g) => values(grouped.attributions)[names.findIndex((n) => groupOf(n) === g)]!);
  const column = (j: number): number[] => data.rawRows.map((row) => row[j]!);
  const sizeCorrelation = correlation(column(names.indexOf('mean radius')), column(names.indexOf('mean area')));

  // 6. Comparison.
  const scores: Record<string, number[]> = {
    KernelShap: values(kernelShap.attributions),
    ShapleyValueSampling: values(svs.attributions),
    FeatureAblation: values(ablation.attributions),
  };
  const sums: Record<string, number> = {};
  const top: Record<string, string[]> = {};
  for (const [method, s] of Object.entries(scores)) {
    sums[method] = round(sum(s));
    top[method] = topK(s, names);
    console.log(`${method}: Σ ${sum(s).toFixed(3)}; top ${top[method]!.join(', ')}`);
  }
  const agreement = correlation(scores.KernelShap!, scores.ShapleyValueSampling!);
  console.log(`correlation(KernelShap, ShapleyValueSampling) ${agreement.toFixed(3)}; r(mean radius, mean area) ${sizeCorrelation.toFixed(3)}`);
  console.log('grouped FeatureAblation:', groupNames.map((g, k) => `${g} ${groupScores[k]!.toFixed(3)}`).join(', '));

  // 7. Bar charts.
  fs.mkdirSync(outDir, { recursive: true });
  const written: string[] = [];
  const svg = (name: string, content: string): void => {
    fs.writeFileSync(path.join(outDir, name), content);
    written.push(name);
  };
  svg('tabular-kernel-shap.svg', barChartSvg(scores.KernelShap!, names, { sort: 'abs', top: 10, title: `KernelShap, patient ${i}, "malignant"` }));
  svg('tabular-shapley-sampling.svg', barChartSvg(scores.ShapleyValueSampling!, names, { sort: 'abs', top: 10, title: `ShapleyValueSampling, patient ${i}, "malignant"` }));
  svg('tabular-ablation-groups.svg', barChartSvg(groupScores, groupNames, { sort: 'abs', title: `FeatureAblation of 6 feature groups, patient ${i}` }));

  // 8. Global importance: the mean |Shapley value| of every feature over all 40 test patients, each explained
  //    for its own predicted class.
  const everyone = await new ShapleyValueSampling(model).attribute(all, { target: 'predicted', baselines: 0, nSamples: 20, perturbationsPerEval: 30, seed: 0 });
  const v = values(everyone.attributions);
  const importance = names.map((_, j) => mean(data.rawRows.map((_, r) => Math.abs(v[r * names.length + j]!))));
  const globalTop = topK(importance, names);
  svg('tabular-global.svg', barChartSvg(importance, names, { sort: 'abs', top: 12, title: 'Mean |Shapley value| over 40 test patients' }));
  console.log(`global: ${globalTop.join(', ')}`);

  model.dispose();
  return {
    patient: { predicted: data.classes[predictions[i]!]!, probability: round(probability), truth: data.classes[data.labels[i]!]! },
    logit: round(z0),
    baselineLogit: round(baselineLogit),
    sums,
    top,
    groups: Object.fromEntries(groupNames.map((g, k) => [g, round(groupScores[k]!)])),
    agreement: round(agreement),
    globalTop,
    accuracy,
    files: written,
  };
}

if (isMain(import.meta.url)) await main(process.argv[2]);
