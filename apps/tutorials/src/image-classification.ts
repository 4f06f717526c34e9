// Tutorial: explaining an image classifier (docs/tutorials/image-classification.md).
// Run after `pnpm build`: node apps/tutorials/dist/image-classification.js [outDir]
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { LayerGradCam } from '@attribution/layer';
import { deletion, infidelity, infidelityPerturbFunc } from '@attribution/metrics';
import { fromOnnx, tensor, type OnnxTensor } from '@attribution/onnx';
import { IntegratedGradients, NoiseTunnel, Occlusion, Saliency } from '@attribution/primary';
import { encodePng, figure, grid, visualizeImageAttr, type ImageMethod, type Sign } from '@attribution/visualize';
import { docsOutDir, files, isMain, readJson, round } from './data.js';

/** The numbers the tutorial shows. */
export interface ImageTutorialResult {
  readonly predicted: number;
  readonly probability: number;
  readonly ig: { readonly sum: number; readonly logitChange: number; readonly delta: number };
  readonly igMeanBaseline: { readonly sum: number; readonly logitChange: number; readonly delta: number };
  readonly infidelity: Record<string, number>;
  readonly deletionAuc: Record<string, number>;
  readonly files: string[];
}

const values = (t: OnnxTensor): number[] => Array.from(t.data as Float32Array);
const sum = (v: readonly number[]): number => v.reduce((a, b) => a + b, 0);
const mean = (v: readonly number[]): number => sum(v) / v.length;
/** A deterministic number in [0, 1) for (row, pixel), so the perturbations do not depend on batching. */
const hash = (row: number, pixel: number): number => {
  let h = Math.imul(row + 1, 0x9e3779b1) ^ Math.imul(pixel + 1, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  return ((h ^ (h >>> 13)) >>> 0) / 2 ** 32;
};

export async function main(outDir = docsOutDir): Promise<ImageTutorialResult> {
  // 1. The model: a small CNN trained on scikit-learn's 8×8 digits. Input x [N, 1, 8, 8], output logits [N, 10].
  const labels = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
  const model = await fromOnnx(ort, files.digitsModel, { labels });

  // 2. Preprocessing: grey levels 0–16 scaled to [0, 1], laid out NCHW. The samples file holds 40 held-out
  //    test digits already scaled; example 5 is a "3".
  const samples = readJson<{ images: number[][]; labels: number[] }>(files.digitsSamples);
  const toInput = (images: number[][]): OnnxTensor => tensor(Float32Array.from(images.flat()), [images.length, 1, 8, 8]);
  const x = toInput([samples.images[5]!]);

  // 3. Prediction: the logits, their softmax and the most likely class.
  const { output } = await model.forward({ inputs: [x] });
  const logits = values(output as OnnxTensor);
  const exps = logits.map((v) => Math.exp(v - Math.max(...logits)));
  const probabilities = exps.map((v) => v / sum(exps));
  const predicted = probabilities.indexOf(Math.max(...probabilities));
  console.log(`predicted ${labels[predicted]} with probability ${probabilities[predicted]!.toFixed(4)}`);

  // 4. Integrated Gradients from a black image (no ink), with the convergence delta.
  const ig = new IntegratedGradients(model);
  const black = await ig.attribute(x, { target: predicted, baselines: 0, nSteps: 50, returnConvergenceDelta: true });
  const zeros = toInput([new Array<number>(64).fill(0)]);
  const { output: atBlack } = await model.forward({ inputs: [zeros] });
  const igSummary = {
    sum: sum(values(black.attributions)),
    logitChange: logits[predicted]! - values(atBlack as OnnxTensor)[predicted]!,
    delta: values(black.delta!)[0]!,
  };
  console.log(`IG, black baseline: Σ attributions ${igSummary.sum.toFixed(4)}, F(x) − F(0) ${igSummary.logitChange.toFixed(4)}, delta ${igSummary.delta.toExponential(2)}`);

  //    The baseline is a choice: the average test digit asks "what makes this a 3 rather than an average digit?"
  const meanDigit = toInput([samples.images[0]!.map((_, p) => mean(samples.images.map((image) => image[p]!)))]);
  const average = await ig.attribute(x, { target: predicted, baselines: meanDigit, nSteps: 50, returnConvergenceDelta: true });
  const { output: atMean } = await model.forward({ inputs: [meanDigit] });
  const igMeanSummary = {
    sum: sum(values(average.attributions)),
    logitChange: logits[predicted]! - values(atMean as OnnxTensor)[predicted]!,
    delta: values(average.delta!)[0]!,
  };
  console.log(`IG, mean-digit baseline: Σ attributions ${igMeanSummary.sum.toFixed(4)}, F(x) − F(mean) ${igMeanSummary.logitChange.toFixed(4)}`);

  // 5. Other methods for comparison: the raw gradient, SmoothGrad (the gradient averaged over noisy copies)
  //    and Occlusion (what the logit loses when a 2×2 patch is blacked out).
  const saliency = await new Saliency(model).attribute(x, { target: predicted });
  const smoothGrad = await new NoiseTunnel(new Saliency(model)).attribute(x, { target: predicted, ntType: 'smoothgrad', nSamples: 50, stdevs: 0.15, seed: 1 });
  const occlusion = await new Occlusion(model).attribute(x, { target: predicted, slidingWindowShapes: [1, 2, 2], baselines: 0 });

  // 6. Grad-CAM on the last convolution's ReLU, /3/Relu_output_0 [1, 32, 8, 8]: channel activations weighted by
  //    their mean gradient. The layer keeps the input's 8×8 grid; a smaller one would be resized first with
  //    LayerGradCam.interpolate(model.backend, cam, [8, 8], 'bilinear').
  const gradCam = await new LayerGradCam(model, '/3/Relu_output_0').attribute(x, { target: predicted, reluAttributions: true });

  // 7. Heat maps as PNG files, magnified 24× (the digit is 8×8 pixels).
  fs.mkdirSync(outDir, { recursive: true });
  const written: string[] = [];
  const image = grid(values(x), x.dims);
  const png = (name: string, attr: OnnxTensor | undefined, method: ImageMethod, sign: Sign): void => {
    const rgba = attr ? visualizeImageAttr(grid(values(attr), attr.dims), { method, sign, layout: 'chw', originalImage: image }) : visualizeImageAttr(image, { method: 'original_image', layout: 'chw', originalImage: image });
    fs.writeFileSync(path.join(outDir, name), encodePng(figure([{ image: rgba }], { scale: 24, padding: 0 })));
    written.push(name);
  };
  png('digit-input.png', undefined, 'original_image', 'all');
  png('digit-ig.png', black.attributions, 'blended_heat_map', 'all');
  png('digit-ig-mean-baseline.png', average.attributions, 'blended_heat_map', 'all');
  png('digit-saliency.png', saliency.attributions, 'heat_map', 'absolute_value');
  png('digit-smoothgrad.png', smoothGrad.attributions, 'heat_map', 'absolute_value');
  png('digit-occlusion.png', occlusion.attributions, 'blended_heat_map', 'all');
  png('digit-gradcam.png', gradCam.attributions as OnnxTensor, 'blended_heat_map', 'positive');

  // 8. Sanity checks. Infidelity: black out a random quarter of the pixels, 50 times; do the attributions of
  //    the removed pixels add up to the logit that is lost? (Lower is better; `normalize` fits the scale first,
  //    so methods with different units compare.)
  const removeRandomPixels = infidelityPerturbFunc<OnnxTensor>((inputs, _baselines, { rows }) => {
    const [batch] = inputs as [OnnxTensor];
    const per = batch.dims.slice(1).reduce((a, d) => a * d, 1);
    const kept = Float32Array.from(batch.data as Float32Array, (v, i) => (hash(rows[Math.floor(i / per)]!, i % per) < 0.25 ? 0 : v));
    return tensor(kept, batch.dims);
  });
  const infid: Record<string, number> = {};
  for (const [name, attr] of [['IntegratedGradients', black.attributions], ['Occlusion', occlusion.attributions], ['Saliency', saliency.attributions]] as const) {
    const score = await infidelity(model, x, attr, { target: predicted, perturbFunc: removeRandomPixels, baselines: 0, nPerturbSamples: 50, normalize: true });
    infid[name] = round(values(score as OnnxTensor)[0]!, 4);
  }

  //    Deletion curves on all 40 test digits: black out the pixels in the order of the attribution and watch
  //    the true class's logit fall. A lower area under the curve means the ranking found the evidence.
  const all = toInput(samples.images);
  const target = samples.labels;
  let seed = 12345;
  const randomRanking = tensor(Float32Array.from({ length: 40 * 64 }, () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31), all.dims);
  const ranked: [string, OnnxTensor][] = [
    ['IntegratedGradients', (await ig.attribute(all, { target, baselines: 0 })).attributions],
    ['Saliency', (await new Saliency(model).attribute(all, { target })).attributions],
    ['Occlusion', (await new Occlusion(model).attribute(all, { target, slidingWindowShapes: [1, 2, 2] })).attributions],
    ['random', randomRanking],
  ];
  const deletionAuc: Record<string, number> = {};
  for (const [name, attr] of ranked) deletionAuc[name] = round(mean((await deletion(model, all, attr, { target, steps: 16 })).auc), 3);
  console.log('infidelity (normalized):', infid);
  console.log('deletion AUC (mean over 40 digits):', deletionAuc);

  model.dispose();
  return {
    predicted,
    probability: round(probabilities[predicted]!),
    ig: { sum: round(igSummary.sum), logitChange: round(igSummary.logitChange), delta: igSummary.delta },
    igMeanBaseline: { sum: round(igMeanSummary.sum), logitChange: round(igMeanSummary.logitChange), delta: igMeanSummary.delta },
    infidelity: infid,
    deletionAuc,
    files: written,
  };
}

if (isMain(import.meta.url)) await main(process.argv[2]);
