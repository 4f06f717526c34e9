import { hostNumbers } from '@attribution/core';
import { ArgumentError, ShapeError, describeValue, type LayerRef, type Model } from '@attribution/tensor';
import { checkAbort, checkOptionNames, inputBatches, inputList, positiveInt, type InputBatch } from './common.js';

/**
 * A similarity of activations: `(test, train)` with one flattened activation row per example, returning one row of
 * `train.length` similarities per test example (Captum's `similarity_metric` on batches).
 */
export type SimilarityFunction = (test: readonly Float64Array[], train: readonly Float64Array[]) => ArrayLike<number>[];

/** Options of {@link SimilarityInfluence}. */
export interface SimilarityInfluenceOptions {
  /** `'cosine'` (default), `'euclidean'` or a {@link SimilarityFunction}. */
  readonly similarityMetric?: 'cosine' | 'euclidean' | SimilarityFunction;
  /** `'max'` (default): the most similar are the largest values; `'min'`: the smallest (use with `'euclidean'`). */
  readonly similarityDirection?: 'max' | 'min';
  /** Examples per forward pass when the training set is given as one batch (default 32). */
  readonly batchSize?: number;
  /**
   * Cosine only: the value that replaces every entry of a zero activation vector before the dot product (Captum's
   * `replace_nan`; default −2 for `'max'`, 2 for `'min'`).
   */
  readonly replaceNan?: number;
}

/** Options of {@link SimilarityInfluence.influence}. */
export interface SimilarityQueryOptions {
  /** How many training examples to return per test example (default 1). */
  readonly topK?: number;
  /** Extra positional arguments passed to the model after the test inputs (not to the training inputs, as Captum). */
  readonly additionalForwardArgs?: readonly unknown[];
  /** Stops between batches with an AbortError. */
  readonly signal?: AbortSignal;
}

/** The most similar training examples of each test example at one layer. */
export interface SimilarityResult {
  /** Per test example, the indices of its `topK` most similar training examples, most similar first. */
  readonly indices: number[][];
  /** Their similarities, in the same order. */
  readonly similarities: number[][];
  /**
   * Cosine only: the `[test, train]` pairs where either activation vector is zero, so that their similarity is
   * the `replaceNan` construction rather than a cosine (Captum's `zero_acts-<layer>` entry, which Captum finds by
   * comparing similarities with `replaceNan`); absent when there are none.
   */
  readonly zeroActivations?: [number, number][];
}

const norm = (v: Float64Array): number => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

/** Captum's `cosine_similarity`: rows normalised; a zero row becomes `replaceNan` everywhere. */
function cosine(replaceNan: number): SimilarityFunction {
  const unit = (v: Float64Array): Float64Array => {
    const n = norm(v);
    return n !== 0 ? v.map((x) => x / n) : v.map(() => replaceNan);
  };
  return (test, train) => {
    const tr = train.map(unit);
    return test.map(unit).map((t) => tr.map((r) => t.reduce((s, x, i) => s + x * (r[i] as number), 0)));
  };
}

/** Captum's `euclidean_distance` (`torch.cdist`). */
const euclidean: SimilarityFunction = (test, train) =>
  test.map((t) =>
    train.map((r) => {
      let s = 0;
      for (let i = 0; i < t.length; i++) s += ((t[i] as number) - (r[i] as number)) ** 2;
      return Math.sqrt(s);
    }),
  );

const keyOf = (ref: LayerRef): string => (ref.side === 'input' ? `${ref.layer}:input` : ref.index ? `${ref.layer}:${ref.index}` : ref.layer);

/**
 * SimilarityInfluence (Captum's `SimilarityInfluence`): the training examples whose activations at the given layers
 * are most similar to a test example's — cosine similarity of the flattened activations (largest first) or Euclidean
 * distance (with `similarityDirection: 'min'`, smallest first). The training activations are recomputed per call
 * and streamed batch by batch (Captum caches them on disk); only the running top-k is kept.
 */
export class SimilarityInfluence<T> {
  private readonly refs: LayerRef[];
  private readonly metric: SimilarityFunction;
  private readonly direction: 'max' | 'min';
  private readonly replaceNan: number | undefined;
  private readonly batchSize: number;

  /**
   * @param model - the model.
   * @param layers - a layer name or LayerRef, or several.
   * @param trainDataset - the training inputs: a dataset of input batches, or one input batch split into batches of `batchSize`.
   * @param options - metric, direction, batch size.
   */
  constructor(
    readonly model: Model<T>,
    layers: string | LayerRef | readonly (string | LayerRef)[],
    readonly trainDataset: unknown,
    options?: SimilarityInfluenceOptions,
  ) {
    if (model === null || typeof model !== 'object' || typeof model.forward !== 'function') throw new ArgumentError('model', 'a Model (from fromOnnx or fromTfjs)', describeValue(model));
    checkOptionNames(options, ['similarityMetric', 'similarityDirection', 'batchSize', 'replaceNan'], 'options');
    const list = (Array.isArray(layers) ? layers : [layers]) as unknown[];
    if (list.length === 0) throw new ArgumentError('layers', 'a layer name or LayerRef, or a non-empty array of them', 'an empty array');
    this.refs = list.map((l, i) => {
      if (typeof l === 'string' && l.length > 0) return { layer: l };
      if (l !== null && typeof l === 'object' && typeof (l as LayerRef).layer === 'string') return l as LayerRef;
      throw new ArgumentError(`layers[${i}]`, 'a layer name or a LayerRef { layer, side?, index? }', describeValue(l));
    });
    const direction = options?.similarityDirection ?? 'max';
    if (direction !== 'max' && direction !== 'min') throw new ArgumentError('options.similarityDirection', "'max' or 'min'", describeValue(direction));
    this.direction = direction;
    const m = options?.similarityMetric ?? 'cosine';
    if (m === 'cosine') {
      const r = options?.replaceNan ?? (direction === 'max' ? -2 : 2);
      if (typeof r !== 'number' || !Number.isFinite(r)) throw new ArgumentError('options.replaceNan', 'a finite number', describeValue(r));
      this.replaceNan = r;
      this.metric = cosine(r);
    } else if (m === 'euclidean') this.metric = euclidean;
    else if (typeof m === 'function') this.metric = m;
    else throw new ArgumentError('options.similarityMetric', "'cosine', 'euclidean' or a function (test rows, train rows) => similarity rows", describeValue(m));
    if (options?.replaceNan !== undefined && m !== 'cosine') throw new ArgumentError('options.replaceNan', "no value unless similarityMetric is 'cosine'", describeValue(options.replaceNan));
    this.batchSize = positiveInt(options?.batchSize, 'options.batchSize', 32);
    inputBatches(model.backend, trainDataset, this.batchSize, 'trainDataset');
  }

  /** The activations of a batch at every layer, one flattened row per example. */
  private async activations(inputs: readonly T[], rows: number, args: readonly unknown[] | undefined): Promise<Float64Array[][]> {
    const b = this.model.backend;
    const fwd = await this.model.forward({ inputs, capture: this.refs, ...(args ? { args } : {}) });
    try {
      const out: Float64Array[][] = [];
      for (const t of fwd.captured) {
        const v = hostNumbers(await b.data(t));
        const size = v.length / rows;
        out.push(Array.from({ length: rows }, (_, i) => v.slice(i * size, (i + 1) * size)));
      }
      return out;
    } finally {
      b.dispose([fwd.output, ...fwd.captured]);
    }
  }

  /**
   * The `topK` most similar training examples of each test example, per layer (keyed by layer name; `name:input`
   * for a layer's input).
   * @param inputs - the test inputs (one tensor, or one per model input).
   */
  async influence(inputs: InputBatch<T>, options?: SimilarityQueryOptions): Promise<Record<string, SimilarityResult>> {
    checkOptionNames(options, ['topK', 'additionalForwardArgs', 'signal'], 'options');
    const k = positiveInt(options?.topK, 'options.topK', 1);
    const args = options?.additionalForwardArgs;
    if (args !== undefined && !Array.isArray(args)) throw new ArgumentError('options.additionalForwardArgs', 'an array of extra model arguments', describeValue(args));
    const b = this.model.backend;
    const test = inputList(b, inputs, 'inputs');
    const testActs = await this.activations(test.inputs, test.rows, args);
    const testZero = testActs.map((rows) => rows.map((v) => norm(v) === 0));
    const largest = this.direction === 'max';
    const best = this.refs.map(() => Array.from({ length: test.rows }, () => [] as { v: number; j: number }[]));
    const zero = this.refs.map(() => [] as [number, number][]);
    let offset = 0;
    for await (const batch of inputBatches(b, this.trainDataset, this.batchSize, 'trainDataset')()) {
      try {
        checkAbort(options?.signal);
        const acts = await this.activations(batch.inputs, batch.rows, undefined);
        this.refs.forEach((_ref, l) => {
          const sim = this.metric(testActs[l] as Float64Array[], acts[l] as Float64Array[]);
          if (!Array.isArray(sim) || sim.length !== test.rows || sim.some((row) => row?.length !== batch.rows)) {
            throw new ShapeError('options.similarityMetric', `a function returning ${test.rows} rows of ${batch.rows} similarities (test × training examples of the batch)`, describeValue(sim));
          }
          sim.forEach((row, i) => {
            const list = (best[l] as { v: number; j: number }[][])[i] as { v: number; j: number }[];
            for (let r = 0; r < batch.rows; r++) {
              const v = row[r] as number;
              if (typeof v !== 'number' || Number.isNaN(v)) throw new ArgumentError('options.similarityMetric', 'a function returning numbers', `${describeValue(v)} for test ${i}, training example ${offset + r}`);
              if (this.replaceNan !== undefined && (testZero[l]?.[i] || norm((acts[l] as Float64Array[])[r] as Float64Array) === 0)) (zero[l] as [number, number][]).push([i, offset + r]);
              list.push({ v, j: offset + r });
            }
            list.sort((x, y) => (largest ? y.v - x.v : x.v - y.v) || x.j - y.j);
            list.length = Math.min(list.length, k);
          });
        });
        offset += batch.rows;
      } finally {
        b.dispose(batch.owned);
      }
    }
    const result: Record<string, SimilarityResult> = {};
    this.refs.forEach((ref, l) => {
      const lists = best[l] as { v: number; j: number }[][];
      const z = zero[l] as [number, number][];
      result[keyOf(ref)] = {
        indices: lists.map((list) => list.map((e) => e.j)),
        similarities: lists.map((list) => list.map((e) => e.v)),
        ...(z.length ? { zeroActivations: z } : {}),
      };
    });
    return result;
  }
}
