import { throwIfAborted } from '@attribution/core';
import { ArgumentError, describeValue, toNumbers, type Backend, type Model } from '@attribution/tensor';
import { FeatureAblation } from './feature-ablation.js';

/**
 * The role of each element of a dataset batch (Captum's `InputRole`): `needAttr` (0) is passed to the model and
 * attributed; `needForward` (1) is passed to the model, not attributed; `noForward` (2) is not passed to the
 * model (e.g. a label) but `reduce` sees it.
 */
export const InputRole = Object.freeze({ needAttr: 0, needForward: 1, noForward: 2 } as const);
/** One of {@link InputRole}'s values. */
export type InputRoleValue = 0 | 1 | 2;

/** A batch of a dataset: one tensor, or a list of tensors (dimension 0: the examples of the batch). */
export type DatasetBatch<T> = T | readonly T[];

/**
 * A dataset: something that can be traversed several times — an array of batches, any iterable whose
 * iterator is a fresh object each time, or a function returning a fresh (async) iterable of batches per call
 * (for a generator: `() => gen()`). A one-shot iterator (a generator object) is rejected, since the dataset is
 * read `1 + ⌈features / perturbationsPerPass⌉` times.
 */
export type Dataset<T> = Iterable<DatasetBatch<T>> | AsyncIterable<DatasetBatch<T>> | (() => Iterable<DatasetBatch<T>> | AsyncIterable<DatasetBatch<T>>);

/** A model output read back to the host (what `reduce` receives). */
export interface HostOutput {
  /** The values, row-major. */
  readonly values: Float64Array;
  /** The shape; dimension 0 is the batch. */
  readonly shape: readonly number[];
}

/** A dataset-level metric: a number or an array of numbers (flattened, row-major). */
export type Metric = number | ArrayLike<number>;

/** Options of {@link attributeDataset}. `A` is the type of `reduce`'s accumulator. */
export interface DatasetAttributionOptions<T, A = HostOutput> {
  /** The role of each element of a batch (Captum's `input_roles`; default: every element is attributed). */
  readonly inputRoles?: readonly InputRoleValue[];
  /**
   * One baseline per attributed element (or one for all): a number, or a tensor whose first dimension is 1
   * (broadcast to every batch). Default 0.
   */
  readonly baselines?: number | T | readonly (number | T)[];
  /**
   * One feature mask per attributed element (or a tensor for a single one): integer feature ids with first
   * dimension 1 and the element's per-example shape, the same for every example. An id may appear in several
   * elements (ablated together). Default: every position its own feature, numbered across elements.
   */
  readonly featureMask?: T | readonly T[];
  /**
   * Accumulates the model's outputs over the batches of one traversal (Captum's `reduce`):
   * `reduce(accum, output, inputs)`, `accum` undefined on the first batch; `inputs` are all elements of the
   * (perturbed) batch, valid only during the call. Default: concatenate the outputs (the metric is then every
   * example's output, and the attributions have one row per example, like FeatureAblation's per batch).
   */
  readonly reduce?: (accum: A | undefined, output: HostOutput, inputs: readonly T[]) => A | Promise<A>;
  /**
   * Turns the accumulator into the metric to attribute (Captum's `to_metric`); without it the accumulator
   * must be a {@link Metric} or a {@link HostOutput}.
   */
  readonly toMetric?: (accum: A) => Metric | HostOutput | Promise<Metric | HostOutput>;
  /**
   * How many perturbations share one traversal of the dataset (Captum's `perturbations_per_pass`, default 1):
   * fewer traversals, one accumulator kept per perturbation.
   */
  readonly perturbationsPerPass?: number;
  /**
   * true (default): one attribution tensor per attributed element, shaped `[K, …per-example shape]` for a
   * metric of K values; false: one tensor `[K, features]`.
   */
  readonly returnInputShape?: boolean;
  /** Stops between batches with an AbortError. */
  readonly signal?: AbortSignal;
}

/** What {@link attributeDataset} returns. */
export interface DatasetAttributionResult<T> {
  /** The attributions: per attributed element (a single tensor when batches are single tensors), or `[K, features]`. */
  readonly attributions: T | T[];
  /** The metric of the unperturbed dataset, flattened (K values). */
  readonly metric: Float64Array;
  /** The number of features (largest feature id + 1). */
  readonly features: number;
  /** How many times the dataset was traversed. */
  readonly passes: number;
}

const OPTION_NAMES = ['inputRoles', 'baselines', 'featureMask', 'reduce', 'toMetric', 'perturbationsPerPass', 'returnInputShape', 'signal'];

const product = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

type Source<T> = () => Iterable<DatasetBatch<T>> | AsyncIterable<DatasetBatch<T>>;

/** A function giving a fresh traversal of `dataset` per call; one-shot iterators are rejected. */
function sourceOf<T>(dataset: Dataset<T>): Source<T> {
  if (typeof dataset === 'function') return dataset;
  const d = dataset as Partial<Iterable<unknown> & AsyncIterable<unknown>> | null;
  const hint = 'The dataset is read several times: pass an array of batches or a function returning a fresh iterable, e.g. () => batches().';
  if (!d || (typeof d[Symbol.iterator] !== 'function' && typeof d[Symbol.asyncIterator] !== 'function')) {
    throw new ArgumentError('dataset', 'an array or (async) iterable of batches, or a function returning one', describeValue(dataset), hint);
  }
  const sync = d[Symbol.iterator];
  const it = typeof sync === 'function' ? sync.call(d) : (d[Symbol.asyncIterator] as () => AsyncIterator<unknown>).call(d);
  if ((it as unknown) === d) throw new ArgumentError('dataset', 'a dataset that can be traversed several times', 'a one-shot iterator (e.g. a generator object)', hint);
  return () => dataset as Iterable<DatasetBatch<T>>;
}

async function* traverse<T>(source: Source<T>): AsyncGenerator<DatasetBatch<T>> {
  const d = source();
  if (d && typeof (d as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') yield* d as AsyncIterable<DatasetBatch<T>>;
  else if (d && typeof (d as Iterable<unknown>)[Symbol.iterator] === 'function') yield* d as Iterable<DatasetBatch<T>>;
  else throw new ArgumentError('dataset', 'a function returning an (async) iterable of batches', describeValue(d));
}

function toMetricValues(value: unknown, what: string): Float64Array {
  if (typeof value === 'number') return Float64Array.of(value);
  const v = value as Partial<HostOutput> | ArrayLike<number> | null;
  if (v && typeof v === 'object' && !Array.isArray(v) && !ArrayBuffer.isView(v) && 'values' in v && v.values && typeof v.values === 'object') return Float64Array.from(v.values);
  if (v && (Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView)))) {
    const out = Float64Array.from(v as ArrayLike<number>);
    if (out.every((e) => typeof e === 'number')) return out;
  }
  throw new ArgumentError(what, 'a number, an array of numbers or a model output ({ values, shape })', describeValue(value), 'With a custom reduce, give toMetric to turn its accumulator into numbers.');
}

const concatOutputs = (accum: HostOutput | undefined, output: HostOutput): HostOutput => {
  if (!accum) return { values: Float64Array.from(output.values), shape: [...output.shape] };
  const values = new Float64Array(accum.values.length + output.values.length);
  values.set(accum.values);
  values.set(output.values, accum.values.length);
  return { values, shape: [(accum.shape[0] ?? 0) + (output.shape[0] ?? 0), ...output.shape.slice(1)] };
};

/** Everything fixed by the first batch: roles, which elements are attributed, their masks and baselines. */
interface Layout<T> {
  readonly tuple: boolean;
  readonly roles: readonly InputRoleValue[];
  /** The batch positions of the attributed elements. */
  readonly attr: readonly number[];
  /** Per attributed element: its per-example shape, feature ids per position, baseline. */
  readonly rest: readonly (readonly number[])[];
  readonly masks: readonly Int32Array[];
  readonly baselines: readonly (number | T)[];
  readonly features: number;
}

async function layoutOf<T>(backend: Backend<T>, batch: DatasetBatch<T>, options: DatasetAttributionOptions<T, unknown>): Promise<Layout<T>> {
  const tuple = Array.isArray(batch);
  const elements = (tuple ? batch : [batch]) as readonly T[];
  elements.forEach((e, i) => {
    if (!backend.isTensor(e)) throw new ArgumentError(`dataset batch element ${i}`, `a ${backend.name} tensor`, describeValue(e));
  });
  const roles: readonly InputRoleValue[] = options.inputRoles ?? elements.map(() => InputRole.needAttr);
  if (!Array.isArray(roles) || roles.length !== elements.length || !roles.every((r) => r === 0 || r === 1 || r === 2)) {
    throw new ArgumentError('inputRoles', `${elements.length} roles (one per element of a batch), each 0 (attribute), 1 (forward only) or 2 (neither)`, describeValue(roles));
  }
  const attr = roles.flatMap((r, i) => (r === InputRole.needAttr ? [i] : []));
  if (!attr.length) throw new ArgumentError('inputRoles', 'at least one element to attribute (role 0)', describeValue(roles));
  const rest = attr.map((i) => backend.shape(elements[i] as T).slice(1));
  const list = <V>(value: V | readonly V[] | undefined, name: string, isOne: (v: unknown) => boolean): (V | undefined)[] => {
    if (value === undefined) return attr.map(() => undefined);
    const arr = Array.isArray(value) ? (value as readonly V[]) : isOne(value) ? attr.map(() => value as V) : [value as V];
    if (arr.length !== attr.length) throw new ArgumentError(name, `${attr.length} values, one per attributed element (role 0)`, `${arr.length}`);
    return [...arr];
  };
  const baselines = list<number | T>(options.baselines, 'baselines', (v) => typeof v === 'number' || (backend.isTensor(v) && attr.length === 1)).map((b, k) => {
    if (b === undefined) return 0;
    if (typeof b === 'number') {
      if (!Number.isFinite(b)) throw new ArgumentError(`baselines[${k}]`, 'a finite number or a tensor', describeValue(b));
      return b;
    }
    if (!backend.isTensor(b)) throw new ArgumentError(`baselines[${k}]`, `a number or a ${backend.name} tensor`, describeValue(b));
    const dims = backend.shape(b);
    if (dims[0] !== 1) throw new ArgumentError(`baselines[${k}]`, 'a tensor whose first dimension is 1, broadcast to every batch', `shape [${dims.join(', ')}]`);
    return b;
  });
  const givenMasks = list<T>(options.featureMask, 'featureMask', (v) => backend.isTensor(v));
  const masks: Int32Array[] = [];
  let offset = 0;
  for (const [k, m] of givenMasks.entries()) {
    const size = product(rest[k] as number[]);
    if (m === undefined) {
      masks.push(Int32Array.from({ length: size }, (_, j) => offset + j));
      offset += size;
      continue;
    }
    if (!backend.isTensor(m)) throw new ArgumentError(`featureMask[${k}]`, `a ${backend.name} tensor of integer feature ids`, describeValue(m));
    const dims = backend.shape(m);
    const want = [1, ...(rest[k] as number[])];
    if (dims[0] !== 1 || product(dims) !== size) {
      throw new ArgumentError(`featureMask[${k}]`, `shape [${want.join(', ')}] (first dimension 1: one mask for every example)`, `shape [${dims.join(', ')}]`);
    }
    const ids = toNumbers(await backend.data(m));
    const ints = Int32Array.from(ids);
    ids.forEach((v, j) => {
      if (!Number.isInteger(v) || v < 0) throw new ArgumentError(`featureMask[${k}]`, 'non-negative integer feature ids', `${describeValue(v)} at position ${j}`);
    });
    masks.push(ints);
  }
  // Captum: features are 0 … max id (ids absent from every mask get attribution 0).
  const features = masks.reduce((m, ids) => ids.reduce((a, b) => Math.max(a, b + 1), m), 0);
  return { tuple, roles, attr, rest, masks, baselines, features };
}

/**
 * Feature ablation of a dataset-level metric (Captum's `DataLoaderAttribution`): each feature (the same feature
 * mask for every example) is replaced by its baseline in every batch of the dataset, the model's outputs are
 * accumulated over the dataset with `reduce` and turned into a metric with `toMetric`, and the attribution of
 * the feature is `metric(dataset) − metric(dataset with the feature ablated)`.
 *
 * The dataset is traversed `1 + ⌈features / perturbationsPerPass⌉` times (Captum: one more, to read a first
 * batch); memory holds one batch and one accumulator per perturbation of the pass. With the default `reduce`
 * (concatenate) the result equals FeatureAblation on each batch, concatenated.
 *
 * @param method A {@link FeatureAblation} of the model (the only method Captum supports here).
 * @param dataset The batches: see {@link Dataset}.
 */
export async function attributeDataset<T, A = HostOutput>(method: FeatureAblation<T>, dataset: Dataset<T>, options: DatasetAttributionOptions<T, A> = {}): Promise<DatasetAttributionResult<T>> {
  if (!(method instanceof FeatureAblation)) {
    throw new ArgumentError('method', 'a FeatureAblation (the perturbation method Captum’s DataLoaderAttribution supports)', describeValue(method));
  }
  if (options === null || typeof options !== 'object') throw new ArgumentError('options', 'an object', describeValue(options));
  for (const key of Object.keys(options)) {
    if (!OPTION_NAMES.includes(key)) throw new ArgumentError(`options.${key}`, `one of the options ${OPTION_NAMES.join(', ')}`, `'${key}'`);
  }
  const perPass = options.perturbationsPerPass ?? 1;
  if (!Number.isInteger(perPass) || perPass < 1) throw new ArgumentError('perturbationsPerPass', 'a positive integer', describeValue(options.perturbationsPerPass));
  const returnInputShape = options.returnInputShape ?? true;
  if (typeof returnInputShape !== 'boolean') throw new ArgumentError('returnInputShape', 'a boolean', describeValue(options.returnInputShape));
  if (options.reduce !== undefined && typeof options.reduce !== 'function') throw new ArgumentError('reduce', 'a function (accum, output, inputs) => accum', describeValue(options.reduce));
  if (options.toMetric !== undefined && typeof options.toMetric !== 'function') throw new ArgumentError('toMetric', 'a function (accum) => metric', describeValue(options.toMetric));
  const { model, backend } = method as { model: Model<T>; backend: Backend<T> };
  const reduce = (options.reduce ?? concatOutputs) as (accum: unknown, output: HostOutput, inputs: readonly T[]) => unknown;
  const source = sourceOf(dataset);
  let layout: Layout<T> | undefined;

  /**
   * One traversal: for every batch, the model on the batch with each perturbation applied (a list of feature
   * ids ablated together; [] for none), accumulated; then the metric of each.
   */
  const pass = async (perturbations: readonly (readonly number[])[]): Promise<Float64Array[]> => {
    const accums: unknown[] = perturbations.map(() => undefined);
    let batches = 0;
    for await (const batch of traverse(source)) {
      throwIfAborted(options.signal);
      layout ??= await layoutOf(backend, batch, options as DatasetAttributionOptions<T, unknown>);
      const L = layout;
      const elements = (Array.isArray(batch) ? batch : [batch]) as readonly T[];
      if (Array.isArray(batch) !== L.tuple || elements.length !== L.roles.length) {
        throw new ArgumentError(`dataset batch ${batches}`, `${L.tuple ? `a list of ${L.roles.length} tensors` : 'a single tensor'}, as the first batch`, Array.isArray(batch) ? `a list of ${elements.length}` : describeValue(batch));
      }
      L.attr.forEach((pos, k) => {
        const dims = backend.shape(elements[pos] as T).slice(1);
        if (dims.join() !== (L.rest[k] as number[]).join()) throw new ArgumentError(`dataset batch ${batches}, element ${pos}`, `per-example shape [${(L.rest[k] as number[]).join(', ')}], as the first batch`, `[${dims.join(', ')}]`);
      });
      for (const [p, ablate] of perturbations.entries()) {
        const owned: T[] = [];
        try {
          const perturbed = elements.map((e, pos) => {
            const k = L.attr.indexOf(pos);
            if (k < 0) return e;
            const ids = L.masks[k] as Int32Array;
            if (!ablate.some((f) => ids.includes(f))) return e;
            const keep = backend.tensor(Float32Array.from(ids, (id) => (ablate.includes(id) ? 0 : 1)), [1, ...(L.rest[k] as number[])]);
            const drop = backend.sub(1, keep);
            const kept = backend.mul(e, keep);
            const base = backend.mul(L.baselines[k] as number | T, drop);
            const out = backend.add(kept, base);
            backend.dispose([keep, drop, kept, base]);
            owned.push(out);
            return out;
          });
          const forwardInputs = perturbed.filter((_, pos) => L.roles[pos] !== InputRole.noForward);
          const { output, captured } = await model.forward({ inputs: forwardInputs });
          backend.dispose([...captured]);
          let host: HostOutput;
          try {
            host = { values: Float64Array.from(toNumbers(await backend.data(output))), shape: [...backend.shape(output)] };
          } finally {
            backend.dispose(output);
          }
          accums[p] = await reduce(accums[p], host, perturbed);
        } finally {
          backend.dispose(owned);
        }
      }
      batches++;
    }
    if (!batches) throw new ArgumentError('dataset', 'at least one batch', 'an empty dataset');
    return Promise.all(
      accums.map(async (a, p) => {
        const m = options.toMetric ? await options.toMetric(a as A) : a;
        return toMetricValues(m, options.toMetric ? `toMetric's result (perturbation ${p})` : `reduce's result (perturbation ${p})`);
      }),
    );
  };

  const [base] = (await pass([[]])) as [Float64Array];
  const L = layout as unknown as Layout<T>;
  const K = base.length;
  const F = L.features;
  // unique[k · F + f]: metric k's change when feature f is ablated.
  const unique = new Float64Array(K * F);
  let passes = 1;
  for (let start = 0; start < F; start += perPass) {
    const group = Array.from({ length: Math.min(perPass, F - start) }, (_, j) => [start + j]);
    const metrics = await pass(group);
    passes++;
    metrics.forEach((m, j) => {
      if (m.length !== K) throw new ArgumentError('toMetric', `a metric of ${K} values whatever the perturbation, as unperturbed`, `${m.length} values with feature ${start + j} ablated`);
      for (let k = 0; k < K; k++) unique[k * F + start + j] = (base[k] as number) - (m[k] as number);
    });
  }
  if (!returnInputShape) return { attributions: backend.tensor(Float32Array.from(unique), [K, F]), metric: base, features: F, passes };
  const attributions = L.attr.map((_, i) => {
    const ids = L.masks[i] as Int32Array;
    const size = ids.length;
    const values = new Float32Array(K * size);
    for (let k = 0; k < K; k++) for (let j = 0; j < size; j++) values[k * size + j] = unique[k * F + (ids[j] as number)] as number;
    return backend.tensor(values, [K, ...(L.rest[i] as number[])]);
  });
  return { attributions: L.tuple ? attributions : (attributions[0] as T), metric: base, features: F, passes };
}
