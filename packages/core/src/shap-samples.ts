import { ArgumentError, createRandom, type Backend, type Model } from '@attribution/tensor';
import { gatherArgs } from './args.js';
import { checkRowLimit, exampleRanges } from './batching.js';
import { prepareDistribution, type BaselineDistribution } from './distribution.js';
import type { PreparedInputs } from './inputs.js';
import { addRowNoise, callSeeds, type ExampleSeeds } from './noise.js';
import { checkInteger, checkSeeds, throwIfAborted, type RunOptions } from './options.js';
import type { Scope } from './scope.js';
import type { TargetSelection } from './target.js';

/** One chunk of GradientSHAP samples: rows of the example-major expansion (N·nSamples rows in all). */
export interface ShapChunk<T> {
  /** Expanded-row ids of the chunk. */
  readonly rows: readonly number[];
  /** The example of each row. */
  readonly examples: readonly number[];
  /** Noisy inputs x̃ per input tensor. */
  readonly noisy: readonly T[];
  /** Drawn references b per input tensor. */
  readonly references: readonly T[];
  /** Path points b + α(x̃ − b). */
  readonly points: readonly T[];
  /** Additional arguments for the chunk's rows. */
  readonly args: readonly unknown[];
  /** The target for the chunk's rows. */
  readonly selection: TargetSelection;
}

/** The sampling options of GradientSHAP and its layer and neuron variants. */
export interface ShapSamplingOptions<T> extends RunOptions {
  /** The reference distribution: per input a tensor of B ≥ 1 rows, or a function of the inputs returning them. */
  readonly baselines: BaselineDistribution<T>;
  /** Random samples per example (default 5). */
  readonly nSamples?: number;
  /** Standard deviation of the Gaussian noise added to the inputs: one for all inputs, or one per input (default 0). */
  readonly stdevs?: number | readonly number[];
  /** The most rows one model call may see (the N·nSamples samples are split across calls). */
  readonly internalBatchSize?: number;
  /**
   * Seed of the draws: the same seed gives the same result (default: a random seed). One seed per example
   * makes each example's draws depend on its seed alone, so its attribution is the same in any batch.
   */
  readonly seed?: number | readonly number[];
}

/** Per input, the standard deviations of a `stdevs` option (a number for all inputs, or one per input). */
export function checkStdevs(value: unknown, inputs: number, fallback: number): number[] {
  const list = value === undefined ? new Array<number>(inputs).fill(fallback) : typeof value === 'number' ? new Array<number>(inputs).fill(value) : value;
  if (!Array.isArray(list) || list.length !== inputs || !list.every((v) => typeof v === 'number' && v >= 0 && Number.isFinite(v))) {
    throw new ArgumentError('stdevs', `a number ≥ 0 or one per input (${inputs})`, String(value));
  }
  return list as number[];
}

/** The most rows (examples × samples) a GradientSHAP call may draw: its per-row draws are held in memory. */
export const MAX_SAMPLE_ROWS = 10_000_000;

/** The validated sampling plan of a GradientSHAP call. */
export interface ShapSampling<T> {
  readonly samples: number;
  readonly stdevs: number[];
  /** One seed for the call, or one per example. */
  readonly seed: number | ExampleSeeds;
  readonly maxRows?: number;
  readonly distribution: { readonly tensors: readonly T[]; readonly rows: number };
}

/** Validates the sampling options against the prepared inputs and resolves the reference distribution. */
export async function prepareShapSampling<T>(b: Backend<T>, options: ShapSamplingOptions<T>, x: PreparedInputs<T>): Promise<ShapSampling<T>> {
  const samples = checkInteger('nSamples', options.nSamples ?? 5, 1);
  if (samples * x.batchSize > MAX_SAMPLE_ROWS) {
    throw new ArgumentError(
      'nSamples',
      `at most ${Math.max(1, Math.floor(MAX_SAMPLE_ROWS / x.batchSize))} samples per example for a batch of ${x.batchSize} (at most ${MAX_SAMPLE_ROWS} sampled rows in all)`,
      String(samples),
    );
  }
  const maxRows = checkRowLimit('internalBatchSize', options.internalBatchSize);
  const seed = callSeeds(checkSeeds(options.seed, x.batchSize), samples);
  const stdevs = checkStdevs(options.stdevs, x.tensors.length, 0);
  const distribution = await prepareDistribution(b, options.baselines, x, 1);
  return { samples, stdevs, seed, maxRows, distribution };
}

/**
 * Walks GradientSHAP's samples in chunks of at most `maxRows` rows: for expanded row r (example ⌊r/S⌋),
 * a reference row drawn uniformly from the distribution, Gaussian noise on the input, and α ~ U(0, 1).
 * References and α are drawn up front, noise per row from the seed, so chunking never changes results.
 */
export async function forEachShapSample<T>(
  model: Model<T>,
  call: { readonly x: PreparedInputs<T>; readonly args: readonly unknown[]; readonly selection: TargetSelection },
  options: ShapSampling<T>,
  scope: Scope<T>,
  run: RunOptions,
  body: (chunk: ShapChunk<T>) => Promise<void>,
): Promise<void> {
  const b: Backend<T> = model.backend;
  const rowsTotal = call.x.batchSize * options.samples;
  const { refIndex, alphas } = drawReferences(options, rowsTotal);
  const ranges = exampleRanges(rowsTotal, 1, options.maxRows);
  let done = 0;
  for (const [start, end] of ranges) {
    throwIfAborted(run.signal);
    const rows = Array.from({ length: end - start }, (_, k) => start + k);
    const examples = rows.map((r) => Math.floor(r / options.samples));
    const noisy = call.x.tensors.map((x, i) => scope.track(addRowNoise(b, scope.track(b.gather(x, examples, 0)), rows, options.seed, options.stdevs[i] as number, i)));
    const references = options.distribution.tensors.map((d) => scope.track(b.gather(d, rows.map((r) => refIndex[r] as number), 0)));
    const alpha = Float32Array.from(rows, (r) => alphas[r] as number);
    const points = noisy.map((x, i) =>
      scope.track(b.tidy(() => b.add(references[i] as T, b.mul(b.tensor(alpha, [rows.length, ...b.shape(x).slice(1).map(() => 1)], b.dtype(x)), b.sub(x, references[i] as T))))),
    );
    const args = gatherArgs(b, call.args, examples, scope);
    await body({ rows, examples, noisy, references, points, args, selection: call.selection.pick(examples) });
    scope.free([...noisy, ...references, ...points]);
    scope.free(args.filter((a): a is T => b.isTensor(a) && !call.args.includes(a)));
    run.onProgress?.({ done: ++done, total: ranges.length });
  }
}

/**
 * The reference row and α of every expanded row: from one stream for the call (all references, then all α),
 * or per example from its own seed (its references, then its α).
 */
function drawReferences<T>(options: ShapSampling<T>, rowsTotal: number): { refIndex: number[]; alphas: number[] } {
  const { seed, distribution, samples } = options;
  if (typeof seed === 'number') {
    const rng = createRandom(seed);
    const refIndex = Array.from({ length: rowsTotal }, () => rng.int(distribution.rows));
    return { refIndex, alphas: Array.from({ length: rowsTotal }, () => rng.next()) };
  }
  const refIndex: number[] = [];
  const alphas: number[] = [];
  seed.perExample.forEach((s) => {
    const rng = createRandom(s);
    for (let j = 0; j < samples; j++) refIndex.push(rng.int(distribution.rows));
    for (let j = 0; j < samples; j++) alphas.push(rng.next());
  });
  return { refIndex, alphas };
}

/**
 * Per-example means of per-sample tensors (rows are samples, each belonging to an example), accumulated on
 * the host chunk by chunk so that memory stays bounded by the chunk.
 */
export class SampleMeans<T> {
  private sums: Float64Array[] = [];
  private shapes: number[][] = [];

  constructor(
    private readonly b: Backend<T>,
    /** Number of examples `N`. */
    private readonly examples: number,
    /** Samples per example (the divisor of the mean). */
    private readonly samples: number,
  ) {}

  /** Adds tensors shaped `[rows, …]`; row k belongs to example `examples[k]`. */
  async add(perSample: readonly T[], examples: readonly number[]): Promise<void> {
    for (let i = 0; i < perSample.length; i++) {
      const t = perSample[i] as T;
      const rest = this.b.shape(t).slice(1);
      const per = rest.reduce((a, d) => a * d, 1);
      this.shapes[i] ??= [this.examples, ...rest];
      const sum = (this.sums[i] ??= new Float64Array(this.examples * per));
      const data = await this.b.data(t);
      examples.forEach((e, k) => {
        for (let p = 0; p < per; p++) sum[e * per + p] = (sum[e * per + p] as number) + Number(data[k * per + p]);
      });
    }
  }

  /** The means, one float32 tensor `[N, …]` per added tensor (owned by the caller). */
  means(): T[] {
    return this.sums.map((s, i) => this.b.tensor(Float32Array.from(s, (v) => v / this.samples), this.shapes[i] as number[], 'float32'));
  }
}
