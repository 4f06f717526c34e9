import path from 'node:path';
import { Concept, RidgeClassifier, SGDClassifier, TCAV, conceptFromNpyFolder, scoresAcross, tTest, type TCAVResult } from '@attribution/concept';
import { fromOnnx, type HostTensor, type OnnxTensor } from '@attribution/onnx';
import { ArgumentError, describeValue, toNumbers, type Backend } from '@attribution/tensor';
import { parseLimits, type Limits } from './limits.js';
import { loadRuntime, parseProviders } from './methods.js';
import { checkJsonOut, writeAtomic } from './output.js';
import { parseOptions, parseTarget, readTensor } from './read.js';

/** The flags of `attribution concept`. */
export interface ConceptFlags {
  /** false with `--no-cache`. */
  cache?: boolean;
  /** `--ep cuda,cpu`: ONNX Runtime execution providers. */
  ep?: string;
  layer: string[];
  concept: string[];
  random: string[];
  input: string[];
  target?: string;
  options?: string;
  out?: string;
  limit?: string[];
  runtime: string;
}

const OPTIONS = ['classifier', 'seed', 'batchSize', 'internalBatchSize', 'alpha', 'attributeToLayerInput', 'significance'];

/** `name=path`, or a path named by its last component (without `.npy`). */
function parseConcept(text: string, argument: string): { name: string; folder: string; argument: string } {
  const eq = text.indexOf('=');
  const [name, folder] = eq > 0 ? [text.slice(0, eq), text.slice(eq + 1)] : [path.basename(path.resolve(text)).replace(/\.npy$/, ''), text];
  if (!folder) throw new ArgumentError(argument, 'name=path: a folder of .npy examples or a .npy stack of them', `'${text}'`);
  return { name, folder, argument };
}

/**
 * A concept from a `.npy` stack [M, …] (its examples in batches of `batchSize`, read once), or from a folder of
 * `.npy` files, one example each (read batch by batch as the examples are traversed).
 */
async function conceptOf(b: Backend<OnnxTensor>, c: { name: string; folder: string; argument: string }, id: number, batchSize: number, limits: Limits): Promise<Concept<OnnxTensor>> {
  if (!c.folder.endsWith('.npy')) return conceptFromNpyFolder(b, id, c.name, c.folder, { batchSize });
  const stack = await readTensor(c.folder, c.argument, limits);
  const [m, ...rest] = stack.dims as number[];
  const size = rest.reduce((x, y) => x * y, 1);
  const values = toNumbers(stack.data);
  return new Concept(id, c.name, () =>
    Array.from({ length: Math.ceil((m as number) / batchSize) }, (_, k) => {
      const rows = Math.min(batchSize, (m as number) - k * batchSize);
      return b.tensor(Float32Array.from(values.subarray(k * batchSize * size, (k * batchSize + rows) * size)), [rows, ...rest]);
    }),
  );
}

const mean = (v: readonly number[]): number => v.reduce((a, b) => a + b, 0) / v.length;

/**
 * `attribution concept <model> --layer L --concept name=path … --random path … --input x.npy --target n`: TCAV
 * (Captum's captum.concept) with concepts given as `.npy` stacks or folders of `.npy` examples. With random folders, each concept is
 * paired with each random folder and the TCAV scores across those pairs are tested (two-sided t-test) against
 * the scores of random-versus-random pairs; without, the concepts form one experimental set.
 */
export async function conceptCommand(modelPath: string, o: ConceptFlags, out: (text: string) => void): Promise<void> {
  if (o.layer.length === 0) throw new ArgumentError('--layer', 'at least one layer (attribution inspect --layers lists them)', 'none');
  if (o.concept.length === 0) throw new ArgumentError('--concept', 'at least one concept: name=folder of .npy examples (one example per file)', 'none');
  if (o.input.length === 0) throw new ArgumentError('--input', 'the inputs to score (.npy or .json)', 'none');
  if (o.random.length === 1) throw new ArgumentError('--random', 'at least two random folders (the significance test compares concept-versus-random with random-versus-random scores), or none', '1');
  if (o.random.length === 0 && o.concept.length < 2) throw new ArgumentError('--concept', 'two or more concepts when no --random folders are given (a CAV separates concepts)', `${o.concept.length}`);
  const target = parseTarget(o.target);
  if (target === 'predicted' || (target !== undefined && (Array.isArray(target) ? target : [target]).some((t) => typeof t !== 'number'))) {
    throw new ArgumentError('--target', 'class indices: an integer or comma-separated integers (one per example)', `'${o.target}'`);
  }
  const options = parseOptions(o.options);
  for (const key of Object.keys(options)) if (!OPTIONS.includes(key)) throw new ArgumentError('--options', `only ${OPTIONS.join(', ')}`, `'${key}'`);
  const kind = options.classifier ?? 'sgd';
  if (kind !== 'sgd' && kind !== 'ridge') throw new ArgumentError('--options.classifier', "'sgd' (Captum's default SGDClassifier) or 'ridge'", describeValue(kind));
  const seed = options.seed ?? 0;
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) throw new ArgumentError('--options.seed', 'an integer', describeValue(seed));
  const level = options.significance ?? 0.05;
  if (typeof level !== 'number' || !(level > 0 && level < 1)) throw new ArgumentError('--options.significance', 'a number in (0, 1)', describeValue(level));
  const limits = parseLimits(o.limit);
  const concepts = o.concept.map((c, i) => parseConcept(c, `--concept #${i + 1}`));
  const randoms = o.random.map((c, i) => parseConcept(c, `--random #${i + 1}`));
  const names = [...concepts, ...randoms].map((c) => c.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) throw new ArgumentError('--concept', 'distinct concept names', `'${twice}' twice`);
  checkJsonOut(o.out, modelPath, o.input);
  const ort = await loadRuntime(o.runtime);
  const providers = parseProviders(o.ep);
  const model = await fromOnnx(ort, modelPath, { ...(providers ? { executionProviders: providers } : {}), ...(o.cache === false ? { cache: false } : {}) });
  try {
    const inputs = await Promise.all(o.input.map((f, i) => readTensor(f, `--input #${i + 1}`, limits)));
    const b = model.backend;
    const batchSize = typeof options.batchSize === 'number' ? options.batchSize : 64;
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new ArgumentError('--options.batchSize', 'an integer ≥ 1', describeValue(batchSize));
    const conceptObjs = await Promise.all(concepts.map((c, i) => conceptOf(b, c, i, batchSize, limits)));
    const randomObjs = await Promise.all(randoms.map((c, i) => conceptOf(b, c, concepts.length + i, batchSize, limits)));
    const classifier = kind === 'ridge' ? new RidgeClassifier(typeof options.alpha === 'number' ? { alpha: options.alpha } : {}) : new SGDClassifier({ seed, ...(typeof options.alpha === 'number' ? { alpha: options.alpha } : {}) });
    const tcav = new TCAV(model, o.layer, {
      modelId: path.basename(modelPath),
      classifier,
      ...(typeof options.internalBatchSize === 'number' ? { internalBatchSize: options.internalBatchSize } : {}),
      ...(options.attributeToLayerInput === true ? { attributeToLayerInput: true } : {}),
    });
    const conceptSets = conceptObjs.map((c) => randomObjs.map((r) => [c, r]));
    const randomSets = randomObjs.slice(1).map((r) => [randomObjs[0] as Concept<OnnxTensor>, r]);
    const sets = randomObjs.length > 0 ? [...conceptSets.flat(), ...randomSets] : [conceptObjs];
    const scores: TCAVResult = await tcav.interpret(inputs.length === 1 ? (inputs[0] as HostTensor) : inputs, sets, target !== undefined ? { target: target as number | number[] } : {});
    const significance: Record<string, Record<string, unknown>> = {};
    const lines: string[] = [];
    if (randomObjs.length > 0) {
      for (const [k, c] of conceptObjs.entries()) {
        significance[c.name] = {};
        for (const layer of o.layer) {
          const own = scoresAcross(scores, conceptSets[k] as Concept<OnnxTensor>[][], layer, 'signCount');
          const random = scoresAcross(scores, randomSets, layer, 'signCount');
          const test = tTest(own, random);
          const entry = { tcavScore: mean(own), scores: own, randomScore: mean(random), randomScores: random, tStatistic: test.statistic, pValue: test.pValue, significant: test.pValue < level };
          (significance[c.name] as Record<string, unknown>)[layer] = entry;
          lines.push(`${c.name} at ${layer}: TCAV score ${entry.tcavScore.toFixed(3)} (random ${entry.randomScore.toFixed(3)}), p = ${test.pValue.toPrecision(2)}${entry.significant ? '' : ' (not significant)'}`);
        }
      }
    } else {
      const key = Object.keys(scores)[0] as string;
      for (const layer of o.layer) {
        const s = (scores[key] as Record<string, { signCount: number[] }>)[layer] as { signCount: number[] };
        lines.push(`${layer}: ${conceptObjs.map((c, i) => `${c.name} ${(s.signCount[i] as number).toFixed(3)}`).join(', ')}`);
      }
    }
    const accuracy = Object.fromEntries(Object.entries(tcav.cavs).map(([key, byLayer]) => [key, Object.fromEntries(Object.entries(byLayer).map(([layer, cav]) => [layer, cav.stats.accs]))]));
    const json = {
      method: 'tcav',
      model: modelPath,
      layers: o.layer,
      target: target ?? null,
      classifier: kind,
      concepts: concepts.map((c, i) => ({ id: i, name: c.name, path: c.folder })),
      random: randoms.map((c, i) => ({ id: concepts.length + i, name: c.name, path: c.folder })),
      scores,
      cavAccuracy: accuracy,
      ...(randomObjs.length > 0 ? { significance, level } : {}),
    };
    if (o.out === undefined) out(`${lines.join('\n')}\n`);
    else if (o.out === '-') out(`${JSON.stringify(json)}\n`);
    else {
      writeAtomic(o.out, `${JSON.stringify(json)}\n`, { argument: '--out' });
      out(`wrote ${o.out}\n`);
    }
  } finally {
    model.dispose();
  }
}
