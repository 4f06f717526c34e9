import { checkLossFunction, hostNumbers, prepareLoss, throwIfAborted, type LossFunction } from '@attribution/core';
import {
  ArgumentError,
  ModelError,
  ShapeError,
  describeChoices,
  describeValue,
  formatShape,
  listParameters,
  type Backend,
  type LayerRef,
  type Model,
} from '@attribution/tensor';

/** A batch of model inputs: one tensor, or one tensor per model input (dimension 0: the examples). */
export type InputBatch<T> = T | readonly T[];

/**
 * A labelled batch, as Captum's data loaders yield them: an array whose last element is the labels and whose other
 * elements are the model inputs (`[x, y]`, `[x1, x2, y]`), or `{ inputs, labels }`. The labels take the forms of
 * the loss (see `prepareLoss` in `@attribution/core`): class indices (an array or an integer tensor) for
 * `'cross-entropy'` and `'neg-log'`, a tensor shaped like the output for `'mse'`, anything for a user loss.
 */
export type LabelledBatch<T> = readonly unknown[] | { readonly inputs: InputBatch<T>; readonly labels: unknown };

/**
 * A dataset that can be traversed several times: an array of batches, an iterable whose iterator is a fresh object
 * each time, or a function returning a fresh (async) iterable per call (for a generator: `() => gen()`).
 */
export type Dataset<B> = Iterable<B> | AsyncIterable<B> | (() => Iterable<B> | AsyncIterable<B>);

/**
 * One checkpoint of training: the model with that checkpoint's weights (omit it when the weights were swapped into
 * the model the method was built with, e.g. by a loader calling `setWeights`), and the learning rate used after it
 * (Captum's `checkpoints_load_func` return value; default 1).
 */
export interface Checkpoint<T> {
  /** The model at this checkpoint (default: the model given to the method). */
  readonly model?: Model<T>;
  /** The learning rate of this checkpoint (default 1). */
  readonly learningRate?: number;
}

/**
 * Checkpoints loaded on demand, one at a time: `load(i)` for `i = 0 … count − 1` (an ONNX file per checkpoint, or
 * weights swapped into one tfjs model), and `release(i, checkpoint)` after its use (dispose a loaded model there).
 */
export interface CheckpointLoader<T> {
  /** How many checkpoints there are. */
  readonly count: number;
  /** Loads checkpoint `index`. */
  load(index: number): Checkpoint<T> | Promise<Checkpoint<T>>;
  /** Called when checkpoint `index` is no longer needed (optional). */
  release?(index: number, checkpoint: Checkpoint<T>): void | Promise<void>;
}

/** A list of checkpoints, or a loader. */
export type Checkpoints<T> = readonly Checkpoint<T>[] | CheckpointLoader<T>;

/** Scores of test examples against training examples: one row per test example. */
export type InfluenceScores = number[][];

/** The `k` most influential training examples of each test example (Captum's `KMostInfluentialResults`). */
export interface KMostInfluential {
  /** Per test example, the indices (in the training dataset) of its `k` proponents or opponents, most influential first. */
  readonly indices: number[][];
  /** Their influence scores, in the same order. */
  readonly influenceScores: number[][];
}

/** Options of the `influence` methods. */
export interface InfluenceOptions {
  /** When given, return the `k` most influential training examples per test example instead of every score. */
  readonly k?: number;
  /** With `k`: the largest scores (proponents, default) or the smallest (opponents). */
  readonly proponents?: boolean;
  /** Stops between batches with an AbortError. */
  readonly signal?: AbortSignal;
}

type Source<B> = () => Iterable<B> | AsyncIterable<B>;

/** A function giving a fresh traversal of `dataset` per call; one-shot iterators are rejected. */
export function sourceOf<B>(dataset: Dataset<B>, argument: string): Source<B> {
  if (typeof dataset === 'function') return dataset;
  const d = dataset as Partial<Iterable<unknown> & AsyncIterable<unknown>> | null;
  const hint = 'The dataset is read several times: pass an array of batches or a function returning a fresh iterable, e.g. () => batches().';
  if (!d || (typeof d[Symbol.iterator] !== 'function' && typeof d[Symbol.asyncIterator] !== 'function')) {
    throw new ArgumentError(argument, 'an array or (async) iterable of batches, or a function returning one', describeValue(dataset), hint);
  }
  const sync = d[Symbol.iterator];
  const it = typeof sync === 'function' ? sync.call(d) : (d[Symbol.asyncIterator] as () => AsyncIterator<unknown>).call(d);
  if ((it as unknown) === d) throw new ArgumentError(argument, 'a dataset that can be traversed several times', 'a one-shot iterator (e.g. a generator object)', hint);
  return () => dataset as Iterable<B>;
}

/** Iterates one traversal of a dataset. */
export async function* traverse<B>(source: Source<B>, argument: string): AsyncGenerator<B> {
  const d = source();
  if (d && typeof (d as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') yield* d as AsyncIterable<B>;
  else if (d && typeof (d as Iterable<unknown>)[Symbol.iterator] === 'function') yield* d as Iterable<B>;
  else throw new ArgumentError(argument, 'a function returning an (async) iterable of batches', describeValue(d));
}

/** The input tensors of an input batch, checked, with the number of examples. */
export function inputList<T>(backend: Backend<T>, inputs: unknown, argument: string): { inputs: T[]; rows: number } {
  const list = (Array.isArray(inputs) ? inputs : [inputs]) as unknown[];
  if (list.length === 0) throw new ArgumentError(argument, `one ${backend.name} tensor per model input`, 'an empty array');
  let rows = -1;
  list.forEach((t, i) => {
    if (!backend.isTensor(t)) throw new ArgumentError(list.length > 1 ? `${argument}[${i}]` : argument, `a ${backend.name} tensor (dimension 0: the examples)`, describeValue(t));
    const shape = backend.shape(t);
    if (shape.length === 0) throw new ShapeError(argument, 'a tensor whose dimension 0 holds the examples', 'a scalar');
    if (rows >= 0 && shape[0] !== rows) throw new ShapeError(argument, `tensors with the same number of examples (${rows})`, `shape ${formatShape(shape)} at position ${i}`);
    rows = shape[0] as number;
  });
  if (rows === 0) throw new ShapeError(argument, 'at least one example', 'a batch of 0 examples');
  return { inputs: list as T[], rows };
}

/** Splits a labelled batch into its inputs and labels. */
export function splitLabelled<T>(backend: Backend<T>, batch: unknown, argument: string): { inputs: T[]; labels: unknown; rows: number } {
  if (Array.isArray(batch)) {
    if (batch.length < 2) throw new ArgumentError(argument, 'a batch [...inputs, labels] (the labels last, as Captum) or { inputs, labels }', `an array of ${batch.length}`);
    const { inputs, rows } = inputList(backend, batch.slice(0, -1), argument);
    return { inputs, labels: batch[batch.length - 1], rows };
  }
  if (batch !== null && typeof batch === 'object' && 'inputs' in batch) {
    const b = batch as { inputs: unknown; labels: unknown };
    const { inputs, rows } = inputList(backend, b.inputs, `${argument}.inputs`);
    return { inputs, labels: b.labels, rows };
  }
  throw new ArgumentError(argument, 'a batch [...inputs, labels] (the labels last, as Captum) or { inputs, labels }', describeValue(batch));
}

/** Checks an optional positive integer option. */
export function positiveInt(value: unknown, argument: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw new ArgumentError(argument, 'a positive integer', describeValue(value));
  return value;
}

/** Checks a finite number option. */
export function finiteNumber(value: unknown, argument: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new ArgumentError(argument, 'a finite number', describeValue(value));
  return value;
}

/** Checks option names against the known ones (catches typos such as `batchsize`). */
export function checkOptionNames(options: object | undefined, known: readonly string[], argument: string): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object') throw new ArgumentError(argument, 'an options object', describeValue(options));
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new ArgumentError(argument, describeChoices('known option names', key, known), `'${key}'`);
  }
}

/** Checks a loss option (required: influence needs a loss, as Captum's TracInCPFast). */
export function requireLoss(value: unknown, argument: string): LossFunction {
  if (value === undefined) {
    throw new ArgumentError(argument, "a loss: 'cross-entropy', 'neg-log', 'mse', a function (output row, label) => number or { loss, gradient? }", 'undefined');
  }
  return checkLossFunction(value, argument);
}

/** The checkpoints as a loader. */
export function checkpointLoader<T>(checkpoints: unknown, argument = 'checkpoints'): CheckpointLoader<T> {
  if (Array.isArray(checkpoints)) {
    if (checkpoints.length === 0) throw new ArgumentError(argument, 'at least one checkpoint { model?, learningRate? }', 'an empty array');
    const list = checkpoints as readonly Checkpoint<T>[];
    return { count: list.length, load: (i) => list[i] as Checkpoint<T> };
  }
  const c = checkpoints as Partial<CheckpointLoader<T>> | null;
  if (c && typeof c === 'object' && typeof c.load === 'function') {
    if (typeof c.count !== 'number' || !Number.isInteger(c.count) || c.count < 1) throw new ArgumentError(`${argument}.count`, 'a positive integer (how many checkpoints load(i) gives)', describeValue(c.count));
    if (c.release !== undefined && typeof c.release !== 'function') throw new ArgumentError(`${argument}.release`, 'a function (index, checkpoint) => void', describeValue(c.release));
    return c as CheckpointLoader<T>;
  }
  throw new ArgumentError(argument, 'an array of checkpoints { model?, learningRate? } or a loader { count, load(i), release? }', describeValue(checkpoints));
}

/** Whether `value` looks like a {@link Model}. */
export function isModel<T>(value: unknown): value is Model<T> {
  const m = value as Partial<Model<T>> | null;
  return m !== null && typeof m === 'object' && typeof m.forward === 'function' && typeof m.gradient === 'function' && typeof m.backend === 'object';
}

/**
 * The first argument of a TracIn class and its `checkpoints` option: a model with `options.checkpoints`, or the
 * checkpoints themselves (each bringing its model) with no `options.checkpoints`.
 */
export function modelAndCheckpoints<T>(first: unknown, optionCheckpoints: unknown): { model: Model<T> | undefined; loader: CheckpointLoader<T> } {
  if (isModel<T>(first)) {
    if (optionCheckpoints === undefined) throw new ArgumentError('options.checkpoints', 'a list of checkpoints { model?, learningRate? } or a loader { count, load(i), release? }', 'undefined');
    return { model: first, loader: checkpointLoader<T>(optionCheckpoints, 'options.checkpoints') };
  }
  if (Array.isArray(first) || (first !== null && typeof first === 'object' && typeof (first as CheckpointLoader<T>).load === 'function')) {
    if (optionCheckpoints !== undefined) throw new ArgumentError('options.checkpoints', 'no value when the checkpoints are the first argument', describeValue(optionCheckpoints));
    return { model: undefined, loader: checkpointLoader<T>(first, 'checkpoints') };
  }
  throw new ArgumentError('model', 'a Model (from fromOnnx or fromTfjs), or the checkpoints: a list of { model, learningRate } or a loader { count, load(i), release? }', describeValue(first));
}

/** Loads checkpoint `i`, checks it, runs `fn` on its model and learning rate, then releases it. */
export async function withCheckpoint<T, R>(
  loader: CheckpointLoader<T>,
  index: number,
  fallback: Model<T> | undefined,
  fn: (model: Model<T>, learningRate: number) => Promise<R>,
): Promise<R> {
  const ckpt = await loader.load(index);
  if (ckpt === null || typeof ckpt !== 'object') throw new ArgumentError(`checkpoints[${index}]`, 'a checkpoint { model?, learningRate? }', describeValue(ckpt));
  try {
    const model = ckpt.model ?? fallback;
    if (!isModel<T>(model)) {
      throw new ArgumentError(`checkpoints[${index}].model`, fallback ? 'a Model (from fromOnnx or fromTfjs)' : 'a Model (from fromOnnx or fromTfjs): the checkpoints were given without a model to fall back on', describeValue(ckpt.model));
    }
    if (fallback && model.backend !== fallback.backend && model.backend.name !== fallback.backend.name) {
      throw new ArgumentError(`checkpoints[${index}].model`, `a model of the ${fallback.backend.name} backend`, `a model of the ${model.backend.name} backend`);
    }
    const lr = ckpt.learningRate ?? 1;
    if (typeof lr !== 'number' || !Number.isFinite(lr)) throw new ArgumentError(`checkpoints[${index}].learningRate`, 'a finite number', describeValue(lr));
    return await fn(model, lr);
  } finally {
    await loader.release?.(index, ckpt);
  }
}

/** The backend of a TracIn class: its model's, or that of the first checkpoint's model (loaded and released once). */
export async function backendOf<T>(model: Model<T> | undefined, loader: CheckpointLoader<T>): Promise<Backend<T>> {
  if (model) return model.backend;
  return withCheckpoint(loader, 0, undefined, (m) => Promise.resolve(m.backend));
}

/** A resolved set of parameters: their names and sizes, in order. */
export interface ParameterSet {
  readonly names: readonly string[];
  readonly sizes: readonly number[];
  readonly total: number;
}

/**
 * The parameters that `layers` names — parameter names (`fc2.weight`, `dense/kernel`) or layer names (every
 * parameter of that layer: an ONNX node such as `/fc2/Gemm`, a tfjs layer) — or all of them.
 */
export async function resolveParameters<T>(model: Model<T>, layers: unknown, argument = 'layers'): Promise<ParameterSet> {
  const all = await listParameters(model);
  let chosen = all;
  if (layers !== undefined) {
    if (!Array.isArray(layers) || layers.length === 0 || !layers.every((l) => typeof l === 'string')) {
      throw new ArgumentError(argument, 'a non-empty array of parameter or layer names', describeValue(layers));
    }
    const picked = new Set<string>();
    for (const name of layers as string[]) {
      const byParam = all.filter((p) => p.name === name);
      // A layer name, or the PyTorch module path of an exported ONNX node: `fc2` or `block.fc` for `/block/fc/Gemm`.
      const modulePath = (layer: string): string | undefined => (layer.startsWith('/') && layer.lastIndexOf('/') > 0 ? layer.slice(1, layer.lastIndexOf('/')) : undefined);
      const byLayer = all.filter((p) => p.layer === name || modulePath(p.layer) === name.replaceAll('.', '/'));
      const hits = byParam.length ? byParam : byLayer;
      if (!hits.length) {
        const choices = [...new Set([...all.map((p) => p.name), ...all.map((p) => p.layer)])];
        throw new ArgumentError(argument, describeChoices("the model's parameter or layer names", name, choices), `'${name}'`);
      }
      hits.forEach((p) => picked.add(p.name));
    }
    chosen = all.filter((p) => picked.has(p.name));
  }
  const sizes = chosen.map((p) => p.shape.reduce((a, b) => a * b, 1));
  return { names: chosen.map((p) => p.name), sizes, total: sizes.reduce((a, b) => a + b, 0) };
}

/** Row `i` of every tensor (a batch of one). */
function rowOf<T>(backend: Backend<T>, t: T, i: number): T {
  const shape = backend.shape(t);
  return backend.slice(t, [i, ...shape.slice(1).map(() => 0)], [1, ...shape.slice(1).map(() => -1)]);
}

/**
 * The gradient of each example's loss with respect to the parameters, flattened and concatenated in `params`
 * order (one row per example): one forward pass for the losses' output gradients, then one gradient call per
 * example (a batch of one, since parameter gradients are summed over the batch).
 */
export async function perExampleGradients<T>(
  model: Model<T>,
  inputs: readonly T[],
  labels: unknown,
  lossFunc: LossFunction,
  params: ParameterSet,
  rows: number,
): Promise<Float64Array[]> {
  const b = model.backend;
  const prepared = await prepareLoss(b, lossFunc, labels, rows, model.labels);
  const fwd = await model.forward({ inputs });
  b.dispose(fwd.captured);
  let grad: T;
  try {
    grad = (await prepared.compute(fwd.output)).gradient;
  } finally {
    b.dispose(fwd.output);
  }
  const out: Float64Array[] = [];
  try {
    for (let i = 0; i < rows; i++) {
      const xi = inputs.map((t) => rowOf(b, t, i));
      const wi = rowOf(b, grad, i);
      try {
        const r = await model.gradient({ inputs: xi, outputWeights: wi, wrt: params.names.map((param) => ({ param })) });
        b.dispose([r.output, ...r.captured]);
        const row = new Float64Array(params.total);
        let offset = 0;
        for (const [k, g] of r.gradients.entries()) {
          const values = hostNumbers(await b.data(g));
          if (values.length !== params.sizes[k]) {
            b.dispose(r.gradients);
            throw new ShapeError('checkpoints', `a parameter '${params.names[k]}' of ${params.sizes[k]} values in every checkpoint`, `${values.length} values`);
          }
          row.set(values, offset);
          offset += values.length;
        }
        b.dispose(r.gradients);
        const bad = row.findIndex((v) => !Number.isFinite(v));
        if (bad >= 0) throw new ModelError(`The loss gradient of example ${i} of a batch is not finite (${row[bad]} at value ${bad} of the parameters ${params.names.join(', ')}).`);
        out.push(row);
      } finally {
        b.dispose([...xi, wi]);
      }
    }
  } finally {
    b.dispose(grad);
  }
  return out;
}

/** Per-example loss gradients with respect to the output, and the captured final-layer input, both flattened per example. */
export async function outputGradientsAndLayerInput<T>(
  model: Model<T>,
  inputs: readonly T[],
  labels: unknown,
  lossFunc: LossFunction,
  layer: LayerRef,
  rows: number,
): Promise<{ gradients: Float64Array[]; activations: Float64Array[] }> {
  const b = model.backend;
  const prepared = await prepareLoss(b, lossFunc, labels, rows, model.labels);
  const fwd = await model.forward({ inputs, capture: [layer] });
  try {
    const outShape = b.shape(fwd.output);
    if (outShape.length !== 2) throw new ShapeError('model output', 'an output of shape [batch, classes] (the final fully connected layer, as Captum asserts)', `shape ${formatShape(outShape)}`);
    const { gradient } = await prepared.compute(fwd.output);
    const g = hostNumbers(await b.data(gradient));
    b.dispose(gradient);
    const a = hostNumbers(await b.data(fwd.captured[0] as T));
    return { gradients: splitRows(g, rows), activations: splitRows(a, rows) };
  } finally {
    b.dispose([fwd.output, ...fwd.captured]);
  }
}

/** Splits flat row-major values into `rows` rows. */
export function splitRows(values: Float64Array, rows: number): Float64Array[] {
  const size = values.length / rows;
  return Array.from({ length: rows }, (_, i) => values.slice(i * size, (i + 1) * size));
}

/** Dot product in float64. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

/** Checks `k` and `proponents`. */
export function checkTopK(options: InfluenceOptions | undefined, argument = 'options'): { k: number | undefined; proponents: boolean } {
  checkOptionNames(options, ['k', 'proponents', 'signal'], argument);
  const k = options?.k === undefined ? undefined : positiveInt(options.k, `${argument}.k`, 1);
  const proponents = options?.proponents ?? true;
  if (typeof proponents !== 'boolean') throw new ArgumentError(`${argument}.proponents`, 'true (largest scores) or false (smallest)', describeValue(proponents));
  return { k, proponents };
}

/**
 * The `k` largest (proponents) or smallest (opponents) entries of each row, most influential first; ties keep the
 * lower index first. `k` is capped at the row length.
 */
export function topK(scores: readonly (readonly number[])[], k: number, largest: boolean): KMostInfluential {
  const indices: number[][] = [];
  const influenceScores: number[][] = [];
  for (const row of scores) {
    const order = row.map((_, j) => j).sort((a, b) => (largest ? (row[b] as number) - (row[a] as number) : (row[a] as number) - (row[b] as number)) || a - b);
    const top = order.slice(0, Math.min(k, row.length));
    indices.push(top);
    influenceScores.push(top.map((j) => row[j] as number));
  }
  return { indices, influenceScores };
}

/** Throws the signal's AbortError when aborted. */
export function checkAbort(signal: AbortSignal | undefined): void {
  throwIfAborted(signal);
}

/** One batch of a labelled dataset, ready for the model; `owned` are tensors made here (free them after use). */
export interface ReadyBatch<T> {
  readonly inputs: T[];
  readonly labels: unknown;
  readonly rows: number;
  readonly owned: T[];
}

/** Rows `[start, start + size)` of a label value: a tensor or an array with one entry per example, or one label for all. */
function sliceLabels<T>(backend: Backend<T>, labels: unknown, rows: number, start: number, size: number, owned: T[]): unknown {
  if (backend.isTensor(labels)) {
    const shape = backend.shape(labels);
    if (shape[0] !== rows) return labels;
    const t = backend.slice(labels, [start, ...shape.slice(1).map(() => 0)], [size, ...shape.slice(1).map(() => -1)]);
    owned.push(t);
    return t;
  }
  if (Array.isArray(labels) && labels.length === rows) return labels.slice(start, start + size);
  return labels;
}

/** Whether `value` is one labelled batch (`[...tensors, labels]` or `{ inputs, labels }`) rather than a dataset. */
function isSingleBatch<T>(backend: Backend<T>, value: unknown): boolean {
  if (Array.isArray(value)) return value.length >= 2 && backend.isTensor(value[0]);
  return value !== null && typeof value === 'object' && 'inputs' in value && 'labels' in value;
}

/**
 * The batches of a labelled dataset: a {@link Dataset} of labelled batches (used as they come), or one labelled
 * batch holding every example (`[x, y]`, `{ inputs, labels }`), split into batches of `batchSize`.
 */
export function labelledBatches<T>(backend: Backend<T>, data: unknown, batchSize: number, argument: string): () => AsyncGenerator<ReadyBatch<T>> {
  if (isSingleBatch(backend, data)) {
    const whole = splitLabelled(backend, data, argument);
    return async function* () {
      for (let start = 0; start < whole.rows; start += batchSize) {
        const size = Math.min(batchSize, whole.rows - start);
        const owned: T[] = [];
        const inputs = whole.inputs.map((t) => {
          const shape = backend.shape(t);
          const s = backend.slice(t, [start, ...shape.slice(1).map(() => 0)], [size, ...shape.slice(1).map(() => -1)]);
          owned.push(s);
          return s;
        });
        const labels = sliceLabels(backend, whole.labels, whole.rows, start, size, owned);
        yield { inputs, labels, rows: size, owned };
      }
    };
  }
  const source = sourceOf<unknown>(data as Dataset<unknown>, argument);
  return async function* () {
    let i = 0;
    for await (const batch of traverse(source, argument)) {
      const { inputs, labels, rows } = splitLabelled(backend, batch, `${argument} batch ${i}`);
      yield { inputs, labels, rows, owned: [] };
      i++;
    }
  };
}

/** The batches of an unlabelled dataset (inputs only): a {@link Dataset} of input batches, or one input batch split into batches of `batchSize`. */
export function inputBatches<T>(backend: Backend<T>, data: unknown, batchSize: number, argument: string): () => AsyncGenerator<ReadyBatch<T>> {
  const single = backend.isTensor(data) || (Array.isArray(data) && data.length > 0 && data.every((t) => backend.isTensor(t)));
  if (single) {
    const whole = inputList(backend, data, argument);
    return async function* () {
      for (let start = 0; start < whole.rows; start += batchSize) {
        const size = Math.min(batchSize, whole.rows - start);
        const inputs = whole.inputs.map((t) => {
          const shape = backend.shape(t);
          return backend.slice(t, [start, ...shape.slice(1).map(() => 0)], [size, ...shape.slice(1).map(() => -1)]);
        });
        yield { inputs, labels: undefined, rows: size, owned: [...inputs] };
      }
    };
  }
  const source = sourceOf<unknown>(data as Dataset<unknown>, argument);
  return async function* () {
    let i = 0;
    for await (const batch of traverse(source, argument)) {
      const { inputs, rows } = inputList(backend, batch, `${argument} batch ${i}`);
      yield { inputs, labels: undefined, rows, owned: [] };
      i++;
    }
  };
}
