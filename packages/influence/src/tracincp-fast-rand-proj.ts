import { ArgumentError, createRandom, describeValue, type Model } from '@attribution/tensor';
import {
  checkAbort,
  checkOptionNames,
  checkTopK,
  dot,
  inputList,
  labelledBatches,
  positiveInt,
  topK,
  withCheckpoint,
  type Checkpoints,
  type InfluenceOptions,
  type InfluenceScores,
  type InputBatch,
  type KMostInfluential,
} from './common.js';
import { TracInCPFastBase, type TracInCPFastOptions } from './tracincp-fast.js';

/** Options of {@link TracInCPFastRandProj}. */
export interface TracInCPFastRandProjOptions<T> extends TracInCPFastOptions<T> {
  /**
   * The dimension of the projected per-checkpoint embedding (Captum's `projection_dim`). When the embedding
   * (output gradient ⊗ layer input) is larger, the output gradient and the layer input are each multiplied by a
   * Gaussian matrix of ⌊√projectionDim⌋ columns (at most their own size). Default: no projection (exact scores).
   */
  readonly projectionDim?: number;
  /** Seed of the projections (default 0); the same seed gives the same projections. */
  readonly seed?: number;
}

/** A matrix `[rows, cols]` row-major. */
interface Matrix {
  readonly rows: number;
  readonly cols: number;
  readonly values: Float64Array;
}

function project(v: Float64Array, m: Matrix | undefined): Float64Array {
  if (!m) return v;
  const out = new Float64Array(m.cols);
  for (let i = 0; i < m.rows; i++) {
    const x = v[i] as number;
    if (x === 0) continue;
    for (let j = 0; j < m.cols; j++) out[j] = (out[j] as number) + x * (m.values[i * m.cols + j] as number);
  }
  return out;
}

/**
 * TracInCPFastRandProj (Captum's `TracInCPFastRandProj`): TracInCPFast with the training set's embeddings computed
 * once and kept. Each example's embedding concatenates, over checkpoints, $\sqrt{\eta_c}\,(g P_g) \otimes (a P_a)$,
 * where $g$ is the loss gradient at the output and $a$ the final layer's input, optionally projected by seeded
 * Gaussian matrices $P_g, P_a$ (entries $\mathcal N(0, 1/d)$ for $d$ columns); scores are dot products of
 * embeddings. Proponents and opponents come from an exact (brute-force) maximum-inner-product search over the kept
 * embeddings, not Captum's approximate Annoy index. The embeddings are built on first use (or by {@link prepare}).
 * Memory: `nTrain × checkpoints × (projected) embedding size` float64 values.
 */
export class TracInCPFastRandProj<T> extends TracInCPFastBase<T> {
  private readonly projectionDim: number | undefined;
  private readonly seed: number;
  private projections: { g: Matrix; a: Matrix } | null | undefined;
  private train: Float64Array[] | undefined;
  private preparing: Promise<void> | undefined;

  /**
   * @param model - the model (its backend; the model of checkpoints that bring none), or the checkpoints themselves.
   * @param trainDataset - a dataset of labelled batches, or one labelled batch split into batches of `batchSize`.
   * @param options - checkpoints, loss, final layer, projection.
   */
  constructor(model: Model<T> | Checkpoints<T>, trainDataset: unknown, options: TracInCPFastRandProjOptions<T>) {
    super(model, trainDataset, options, ['checkpoints', 'finalLayer', 'lossFunc', 'testLossFunc', 'batchSize', 'projectionDim', 'seed']);
    this.projectionDim = options.projectionDim === undefined ? undefined : positiveInt(options.projectionDim, 'options.projectionDim', 1);
    const seed = options.seed ?? 0;
    if (typeof seed !== 'number' || !Number.isInteger(seed)) throw new ArgumentError('options.seed', 'an integer', describeValue(seed));
    this.seed = seed;
  }

  /** The projection matrices (Captum's `_set_projections_tracincp_fast_rand_proj`), from the first batch's dimensions. */
  private makeProjections(gradientDim: number, inputDim: number): { g: Matrix; a: Matrix } | null {
    const pd = this.projectionDim;
    if (pd === undefined || gradientDim * inputDim <= pd) return null;
    const root = Math.floor(Math.sqrt(pd));
    const random = createRandom(this.seed);
    const gaussian = (rows: number, cols: number): Matrix => {
      const std = 1 / Math.sqrt(cols);
      return { rows, cols, values: Float64Array.from({ length: rows * cols }, () => random.normal() * std) };
    };
    const g = gaussian(gradientDim, Math.min(root, gradientDim));
    const a = gaussian(inputDim, Math.min(root, inputDim));
    return { g, a };
  }

  /** The embeddings of labelled examples, one per example, concatenated over checkpoints. */
  private async embed(data: unknown, argument: string, test: { inputs: T[]; labels: unknown; rows: number } | undefined, signal?: AbortSignal): Promise<Float64Array[]> {
    const b = await this.backend();
    const parts: Float64Array[][] = [];
    for (let c = 0; c < this.loader.count; c++) {
      await withCheckpoint(this.loader, c, this.model, async (model, lr) => {
        if (lr < 0) throw new ArgumentError(`checkpoints[${c}].learningRate`, 'a non-negative learning rate (its square root scales the embedding)', describeValue(lr));
        const root = Math.sqrt(lr);
        let j = 0;
        const add = (features: { g: Float64Array; a: Float64Array }[]): void => {
          for (const f of features) {
            if (this.projections === undefined) this.projections = this.makeProjections(f.g.length, f.a.length);
            const g = project(f.g, this.projections?.g);
            const a = project(f.a, this.projections?.a);
            const e = new Float64Array(g.length * a.length);
            for (let p = 0; p < g.length; p++) for (let q = 0; q < a.length; q++) e[p * a.length + q] = (g[p] as number) * (a[q] as number) * root;
            (parts[j] ??= []).push(e);
            j++;
          }
        };
        if (test) {
          add(await this.features(model, test.inputs, test.labels, this.testLossFunc, test.rows));
          return;
        }
        for await (const batch of labelledBatches(b, data, this.batchSize, argument)()) {
          try {
            checkAbort(signal);
            add(await this.features(model, batch.inputs, batch.labels, this.lossFunc, batch.rows));
          } finally {
            b.dispose(batch.owned);
          }
        }
      });
    }
    return parts.map((list) => {
      const out = new Float64Array(list.reduce((n, e) => n + e.length, 0));
      let o = 0;
      for (const e of list) {
        out.set(e, o);
        o += e.length;
      }
      return out;
    });
  }

  /** Computes and keeps the training set's embeddings (done by the first `influence` call otherwise). */
  async prepare(options?: { readonly signal?: AbortSignal }): Promise<void> {
    checkOptionNames(options, ['signal'], 'options');
    if (this.train) return;
    this.preparing ??= this.embed(this.trainDataset, 'trainDataset', undefined, options?.signal).then(
      (e) => {
        this.train = e;
      },
      (err: unknown) => {
        this.preparing = undefined;
        throw err;
      },
    );
    await this.preparing;
  }

  /** The embeddings of labelled examples (Captum's `compute_intermediate_quantities`): one row per example. */
  async intermediateQuantities(inputs: InputBatch<T>, labels: unknown): Promise<Float64Array[]> {
    await this.prepare();
    const test = inputList(await this.backend(), inputs, 'inputs');
    return this.embed(undefined, 'inputs', { ...test, labels });
  }

  /**
   * Scores `[nTest][nTrain]` (dot products of embeddings), or with `k` the `k` proponents (largest dot products) or
   * opponents (smallest) from an exact search.
   */
  override influence(inputs: InputBatch<T>, labels: unknown, options?: InfluenceOptions & { readonly k?: undefined }): Promise<InfluenceScores>;
  override influence(inputs: InputBatch<T>, labels: unknown, options: InfluenceOptions & { readonly k: number }): Promise<KMostInfluential>;
  override async influence(inputs: InputBatch<T>, labels: unknown, options?: InfluenceOptions): Promise<InfluenceScores | KMostInfluential> {
    const { k, proponents } = checkTopK(options);
    await this.prepare({ signal: options?.signal });
    const test = inputList(await this.backend(), inputs, 'inputs');
    const e = await this.embed(undefined, 'inputs', { ...test, labels }, options?.signal);
    const train = this.train as Float64Array[];
    const scores = e.map((q) => train.map((t) => dot(q, t)));
    return k === undefined ? scores : topK(scores, k, proponents);
  }

  /** Not available, as in Captum: use {@link TracInCPFast}'s `selfInfluence` (exact, and no cheaper here). */
  override selfInfluence(): Promise<never> {
    return Promise.reject(
      new ArgumentError('selfInfluence', 'TracInCPFast for self influence', 'TracInCPFastRandProj', "Random projections only approximate self influence and save nothing there, so Captum's TracInCPFastRandProj refuses it: use TracInCPFast.selfInfluence()."),
    );
  }
}
