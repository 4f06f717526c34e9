import { NaiveInfluenceFunction, SimilarityInfluence, TracInCP, TracInCPFast, TracInCPFastRandProj } from '@attribution/influence';
import { fromOnnx, type HostTensor, type OnnxModel, type OnnxTensor } from '@attribution/onnx';
import { ArgumentError, closestName, describeValue, toNumbers } from '@attribution/tensor';
import { parseLimits } from './limits.js';
import { withCliLosses } from './losses.js';
import { loadRuntime, parseProviders } from './methods.js';
import { checkJsonOut, writeAtomic } from './output.js';
import { INFLUENCE_METHODS } from './names.js';
import { parseOptions, parseTarget, readTensor } from './read.js';

type InfluenceMethod = (typeof INFLUENCE_METHODS)[number];

/** The flags of `attribution influence`. */
export interface InfluenceFlags {
  /** false with `--no-cache`. */
  cache?: boolean;
  /** `--ep cuda,cpu`: ONNX Runtime execution providers. */
  ep?: string;
  method: string;
  train: string[];
  trainLabels?: string;
  input: string[];
  target?: string;
  layer: string[];
  checkpoint: string[];
  selfInfluence?: boolean;
  options?: string;
  out?: string;
  limit?: string[];
  runtime: string;
}

/** The `--options` each method reads. */
const OPTIONS: Readonly<Record<InfluenceMethod, readonly string[]>> = {
  similarity: ['k', 'similarityMetric', 'similarityDirection', 'batchSize'],
  'tracin-cp': ['k', 'proponents', 'lossFunc', 'testLossFunc', 'batchSize', 'layers'],
  'tracin-cp-fast': ['k', 'proponents', 'lossFunc', 'testLossFunc', 'batchSize', 'finalLayer'],
  'tracin-cp-fast-rand-proj': ['k', 'proponents', 'lossFunc', 'testLossFunc', 'batchSize', 'finalLayer', 'projectionDim', 'seed'],
  'naive-influence-function': ['k', 'proponents', 'lossFunc', 'testLossFunc', 'batchSize', 'layers', 'projectionDim', 'hessianReg', 'hessianInverseTol', 'hessian'],
};

/** `file.onnx` or `file.onnx=learningRate` (default 1). */
function parseCheckpoint(text: string, k: number): { file: string; learningRate: number } {
  const eq = text.lastIndexOf('=');
  if (eq < 0) return { file: text, learningRate: 1 };
  const lr = Number(text.slice(eq + 1));
  if (!Number.isFinite(lr) || lr < 0) throw new ArgumentError(`--checkpoint #${k + 1}`, 'file.onnx or file.onnx=learningRate (a number ≥ 0)', `'${text}'`);
  return { file: text.slice(0, eq), learningRate: lr };
}

/** Class indices from a .json array or an integer .npy/.json tensor. */
async function readLabels(file: string, argument: string, limits: ReturnType<typeof parseLimits>): Promise<number[]> {
  if (file.endsWith('.json')) {
    const { readFile } = await import('node:fs/promises');
    let value: unknown;
    try {
      value = JSON.parse(await readFile(file, 'utf8'));
    } catch (e) {
      throw new ArgumentError(argument, 'a readable .json array of class indices (or a .npy / .json tensor of them)', `'${file}' (${(e as Error).message})`);
    }
    if (Array.isArray(value)) {
      if (!value.every((v) => Number.isInteger(v) && v >= 0)) throw new ArgumentError(argument, 'an array of class indices (integers ≥ 0)', `'${file}'`);
      return value as number[];
    }
  }
  const t = await readTensor(file, argument, limits);
  const values = Array.from(toNumbers(t.data));
  if (t.dims.length !== 1 || !values.every((v) => Number.isInteger(v) && v >= 0)) throw new ArgumentError(argument, 'a 1-D tensor of class indices', `shape [${t.dims.join(', ')}]`);
  return values;
}

/**
 * `attribution influence <model> --method …`: which training examples drive the predictions of `--input`
 * (Captum's captum.influence) for an ONNX model. Checkpoints are ONNX files of the same network, each with the
 * learning rate used after it.
 */
export async function influenceCommand(modelPath: string, o: InfluenceFlags, out: (text: string) => void): Promise<void> {
  if (!(INFLUENCE_METHODS as readonly string[]).includes(o.method)) {
    const guess = closestName(o.method, INFLUENCE_METHODS);
    throw new ArgumentError('--method', `one of ${INFLUENCE_METHODS.join(', ')}`, `'${o.method}'`, guess ? `Did you mean ${guess}?` : undefined);
  }
  const method = o.method as InfluenceMethod;
  if (o.train.length === 0) throw new ArgumentError('--train', 'the training inputs: a .npy stack [M, …] (or .json tensor); repeat for a model with several inputs', 'none');
  if (o.input.length === 0 && !o.selfInfluence) throw new ArgumentError('--input', 'the test inputs to explain (or --self-influence)', 'none');
  const similarity = method === 'similarity';
  if (similarity && o.layer.length === 0) throw new ArgumentError('--layer', 'at least one layer whose activations are compared (attribution inspect --layers lists them)', 'none');
  if (!similarity && o.layer.length > 0) throw new ArgumentError('--layer', `no --layer for ${method} (choose parameters with --options '{"layers": […]}' or the final layer with "finalLayer")`, o.layer.join(', '));
  if (!similarity && o.trainLabels === undefined) throw new ArgumentError('--train-labels', 'the training labels (class indices: a .json array or a .npy tensor)', 'none');
  if (!similarity && o.input.length > 0 && o.target === undefined) throw new ArgumentError('--target', 'the test examples\' labels: a class index, or one per example', 'none');
  if (o.selfInfluence && (similarity || method === 'tracin-cp-fast-rand-proj')) throw new ArgumentError('--self-influence', 'a method with self influence: tracin-cp, tracin-cp-fast or naive-influence-function', method);
  if (method === 'naive-influence-function' && o.checkpoint.length > 1) throw new ArgumentError('--checkpoint', 'one checkpoint at most for naive-influence-function (it explains one model)', `${o.checkpoint.length}`);
  const options = parseOptions(o.options);
  for (const key of Object.keys(options)) {
    if (!OPTIONS[method].includes(key)) throw new ArgumentError('--options', `only ${OPTIONS[method].join(', ')} for ${method}`, `'${key}'`, closestName(key, OPTIONS[method]) ? `Did you mean ${closestName(key, OPTIONS[method])}?` : undefined);
  }
  const { k, proponents, ...rest } = options;
  if (k !== undefined && (!Number.isSafeInteger(k) || (k as number) < 1)) throw new ArgumentError('--options.k', 'an integer ≥ 1', describeValue(k));
  const target = parseTarget(o.target);
  if (target === 'predicted' || (target !== undefined && (Array.isArray(target) ? target : [target]).some((t) => typeof t !== 'number'))) {
    throw new ArgumentError('--target', 'class indices: an integer or comma-separated integers (one per example)', `'${o.target}'`);
  }
  checkJsonOut(o.out, modelPath, [...o.train, ...o.input]);
  const limits = parseLimits(o.limit);
  const ort = await loadRuntime(o.runtime);
  const checkpoints = o.checkpoint.map(parseCheckpoint);
  const providers = parseProviders(o.ep);
  const onnx = { ...(providers ? { executionProviders: providers } : {}), ...(o.cache === false ? { cache: false } : {}) };
  const opened: OnnxModel[] = [];
  try {
    const model = await fromOnnx(ort, modelPath, onnx);
    opened.push(model);
    const train = await Promise.all(o.train.map((f, i) => readTensor(f, `--train #${i + 1}`, limits)));
    const inputs = await Promise.all(o.input.map((f, i) => readTensor(f, `--input #${i + 1}`, limits)));
    const rows = (train[0] as HostTensor).dims[0] as number;
    const testRows = (inputs[0]?.dims[0] as number | undefined) ?? 0;
    const labels = o.trainLabels === undefined ? undefined : await readLabels(o.trainLabels, '--train-labels', limits);
    if (labels && labels.length !== rows) throw new ArgumentError('--train-labels', `one label per training example (${rows})`, `${labels.length}`);
    const testLabels = target === undefined ? undefined : Array.isArray(target) ? (target as number[]) : new Array<number>(testRows).fill(target as number);
    if (testLabels && testLabels.length !== testRows) throw new ArgumentError('--target', `one label per test example (${testRows})`, `${testLabels.length}`);
    const losses = withCliLosses(rest);
    const lossFunc = losses.lossFunc ?? 'cross-entropy';
    const query = { ...(k !== undefined ? { k: k as number } : {}), ...(proponents !== undefined ? { proponents: proponents as boolean } : {}) };
    // Checkpoints: the files given (opened one at a time, closed after), else the model itself with learning rate 1.
    const loader =
      checkpoints.length === 0
        ? [{ model, learningRate: 1 }]
        : {
            count: checkpoints.length,
            load: async (i: number) => ({ model: await fromOnnx(ort, (checkpoints[i] as { file: string }).file, onnx), learningRate: (checkpoints[i] as { learningRate: number }).learningRate }),
            release: (_i: number, c: { model?: unknown }) => (c.model as OnnxModel).dispose(),
          };
    const testInputs = inputs.length === 1 ? (inputs[0] as HostTensor) : inputs;
    let result: Record<string, unknown>;
    if (similarity) {
      const sim = new SimilarityInfluence<OnnxTensor>(model, o.layer, train.length === 1 ? train[0] : train, rest as never);
      result = { layers: await sim.influence(testInputs, k !== undefined ? { topK: k as number } : {}) };
    } else {
      const trainSet = [...train, labels];
      const common = { ...losses, lossFunc } as never;
      const explainer =
        method === 'tracin-cp'
          ? new TracInCP<OnnxTensor>(model, trainSet, { ...(common as object), checkpoints: loader } as never)
          : method === 'tracin-cp-fast'
            ? new TracInCPFast<OnnxTensor>(model, trainSet, { ...(common as object), checkpoints: loader } as never)
            : method === 'tracin-cp-fast-rand-proj'
              ? new TracInCPFastRandProj<OnnxTensor>(model, trainSet, { ...(common as object), checkpoints: loader } as never)
              : undefined;
      let nif: NaiveInfluenceFunction<OnnxTensor> | undefined;
      if (!explainer) {
        const at = checkpoints.length === 1 ? await fromOnnx(ort, (checkpoints[0] as { file: string }).file, onnx) : model;
        if (at !== model) opened.push(at);
        nif = new NaiveInfluenceFunction<OnnxTensor>(at, trainSet, common);
      }
      const scorer = (explainer ?? nif) as { influence(i: unknown, l: unknown, q: object): Promise<unknown>; selfInfluence(d?: unknown): Promise<number[]> };
      result = {
        ...(inputs.length > 0 ? { influence: await scorer.influence(testInputs, testLabels, query) } : {}),
        ...(o.selfInfluence ? { selfInfluence: await scorer.selfInfluence() } : {}),
      };
    }
    const json = {
      method,
      model: modelPath,
      checkpoints: checkpoints.length ? checkpoints : [{ file: modelPath, learningRate: 1 }],
      ...(o.target !== undefined ? { target } : {}),
      options,
      ...result,
    };
    if (o.out === undefined) out(summaryOf(json, rows));
    else if (o.out === '-') out(`${JSON.stringify(json)}\n`);
    else {
      writeAtomic(o.out, `${JSON.stringify(json)}\n`, { argument: '--out' });
      out(`wrote ${o.out}\n`);
    }
  } finally {
    for (const m of opened) m.dispose();
  }
}

/** Per test example, its top training examples (or the self-influence extremes), when no --out is given. */
function summaryOf(r: Record<string, unknown>, rows: number): string {
  const lines: string[] = [];
  const top = (indices: number[], scores: number[]): string => indices.map((i, j) => `#${i} (${(scores[j] as number).toPrecision(3)})`).join(', ');
  if (r.layers) {
    for (const [layer, res] of Object.entries(r.layers as Record<string, { indices: number[][]; similarities: number[][] }>)) {
      res.indices.forEach((ids, t) => lines.push(`test #${t}, layer ${layer}: most similar ${top(ids, res.similarities[t] as number[])}`));
    }
  }
  const inf = r.influence as { indices: number[][]; influenceScores: number[][] } | number[][] | undefined;
  if (inf && !Array.isArray(inf)) inf.indices.forEach((ids, t) => lines.push(`test #${t}: ${(r.options as { proponents?: boolean }).proponents === false ? 'opponents' : 'proponents'} ${top(ids, inf.influenceScores[t] as number[])}`));
  else if (inf) {
    inf.forEach((row, t) => {
      const order = row.map((_, i) => i).sort((a, b) => (row[b] as number) - (row[a] as number)).slice(0, 5);
      lines.push(`test #${t}: proponents ${top(order, order.map((i) => row[i] as number))} (of ${rows}; --options '{"k":…}' for more)`);
    });
  }
  const self = r.selfInfluence as number[] | undefined;
  if (self) {
    const order = self.map((_, i) => i).sort((a, b) => (self[b] as number) - (self[a] as number)).slice(0, 5);
    lines.push(`largest self influence: ${top(order, order.map((i) => self[i] as number))}`);
  }
  return `${lines.join('\n')}\n`;
}
