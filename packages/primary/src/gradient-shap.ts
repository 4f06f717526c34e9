import {
  Attribution,
  RUN_OPTION_NAMES,
  attributionSums,
  checkBoolean,
  checkInteger,
  checkOptionNames,
  checkRowLimit,
  addRowNoise,
  callSeed,
  checkSeed,
  exampleRanges,
  gatherArgs,
  prepareDistribution,
  prepareTargetCall,
  restoreStructure,
  selectedOutputSums,
  targetGradients,
  throwIfAborted,
  withScope,
  type BaselineDistribution,
} from '@attribution/core';
import { ArgumentError, createRandom, toNumbers, type Model } from '@attribution/tensor';
import type { AttributionResult, GradientOptions, SamplingOptions } from './types.js';

/** Options of {@link GradientShap.attribute}. */
export interface GradientShapOptions<T> extends GradientOptions<T>, SamplingOptions {
  /** The reference distribution: per input a tensor of B ≥ 1 rows, or a function of the inputs returning them. */
  readonly baselines: BaselineDistribution<T>;
  /** Random samples per example (default 5). */
  readonly nSamples?: number;
  /** Standard deviation of the Gaussian noise added to the inputs: one for all inputs, or one per input (default 0). */
  readonly stdevs?: number | readonly number[];
  /** The most rows one model call may see (the N·nSamples samples are split across calls). */
  readonly internalBatchSize?: number;
  /** Also return the delta of every sample (example-major, N·nSamples values). */
  readonly returnConvergenceDelta?: boolean;
}

const OPTION_NAMES = ['baselines', 'target', 'additionalForwardArgs', 'nSamples', 'stdevs', 'internalBatchSize', 'returnConvergenceDelta', 'seed', ...RUN_OPTION_NAMES];

/** Per input, the standard deviations of {@link GradientShapOptions.stdevs}. */
export function checkStdevs(value: unknown, inputs: number, fallback: number): number[] {
  const list = value === undefined ? new Array<number>(inputs).fill(fallback) : typeof value === 'number' ? new Array<number>(inputs).fill(value) : value;
  if (!Array.isArray(list) || list.length !== inputs || !list.every((v) => typeof v === 'number' && v >= 0 && Number.isFinite(v))) {
    throw new ArgumentError('stdevs', `a number ≥ 0 or one per input (${inputs})`, String(value));
  }
  return list as number[];
}

/**
 * GradientSHAP (Lundberg and Lee, 2017), as Captum computes it: for each example, `nSamples` times, draw a
 * reference b from the distribution, add Gaussian noise to the input (x̃) and a point α ~ U(0, 1) on the
 * line between them; the attribution is the mean of `(x̃ − b) ⊙ ∂F/∂x(b + α(x̃ − b))`. Samples are
 * example-major; ⌈N·nSamples / internalBatchSize⌉ gradient calls.
 */
export class GradientShap<T> extends Attribution<T> {
  private readonly multiplyByInputs: boolean;

  constructor(model: Model<T>, options: { readonly multiplyByInputs?: boolean } = {}) {
    super(model);
    checkOptionNames(options, ['multiplyByInputs'], 'GradientShap');
    this.multiplyByInputs = checkBoolean('multiplyByInputs', options.multiplyByInputs ?? true);
  }

  get multipliesByInputs(): boolean {
    return this.multiplyByInputs;
  }

  override get stochastic(): boolean {
    return true;
  }

  attribute(inputs: T, options: GradientShapOptions<T>): Promise<AttributionResult<T, T>>;
  attribute(inputs: readonly T[], options: GradientShapOptions<T>): Promise<AttributionResult<T[], T>>;
  async attribute(inputs: T | readonly T[], options: GradientShapOptions<T>): Promise<AttributionResult<T | T[], T>> {
    checkOptionNames(options, OPTION_NAMES, 'GradientShap.attribute');
    const samples = checkInteger('nSamples', options.nSamples ?? 5, 1);
    const returnDelta = checkBoolean('returnConvergenceDelta', options.returnConvergenceDelta ?? false);
    const maxRows = checkRowLimit('internalBatchSize', options.internalBatchSize);
    const seedOption = checkSeed(options.seed);
    const { model, backend: b } = this;
    return withScope(b, async (scope) => {
      const call = await prepareTargetCall(model, inputs, options, scope);
      const dist = await prepareDistribution(b, options.baselines, call.x, 1);
      const stdevs = checkStdevs(options.stdevs, call.x.tensors.length, 0);
      const n = call.x.batchSize;
      const rows = n * samples;
      const seed = callSeed(seedOption);
      // Per expanded row (example-major): a reference row and α, drawn up front; noise derived per row.
      const rng = createRandom(seed);
      const refIndex = Array.from({ length: rows }, () => rng.int(dist.rows));
      const alphas = Array.from({ length: rows }, () => rng.next());
      const sizes = call.x.shapes.map((s) => s.slice(1).reduce((a, d) => a * d, 1));
      const sums = sizes.map((per) => new Float64Array(n * per));
      const deltas = new Float64Array(rows);
      const ranges = exampleRanges(rows, 1, maxRows);
      let done = 0;
      for (const [start, end] of ranges) {
        throwIfAborted(options.signal);
        const rowIds = Array.from({ length: end - start }, (_, k) => start + k);
        const examples = rowIds.map((r) => Math.floor(r / samples));
        const noisy = call.x.tensors.map((x, i) => scope.track(addRowNoise(b, scope.track(b.gather(x, examples, 0)), rowIds, seed, stdevs[i] as number, i)));
        const refs = dist.tensors.map((d) => scope.track(b.gather(d, rowIds.map((r) => refIndex[r] as number), 0)));
        const diffs = noisy.map((x, i) => scope.track(b.sub(x, refs[i] as T)));
        const alpha = Float32Array.from(rowIds, (r) => alphas[r] as number);
        const points = diffs.map((d, i) =>
          scope.track(b.tidy(() => b.add(refs[i] as T, b.mul(b.tensor(alpha, [rowIds.length, ...b.shape(d).slice(1).map(() => 1)], b.dtype(d)), d)))),
        );
        const args = gatherArgs(b, call.args, examples, scope);
        const selection = call.selection.pick(examples);
        const grads = scope.track([
          ...(await targetGradients(model, { inputs: points, args, outputWeights: selection.ones(b, 1, scope), wrt: points.map((_, i) => ({ input: i })) })),
        ]);
        const perSample = this.multiplyByInputs ? grads.map((g, i) => scope.track(b.mul(g, diffs[i] as T))) : grads;
        const totals = await attributionSums(b, perSample);
        for (let i = 0; i < perSample.length; i++) {
          const data = toNumbers(await b.data(perSample[i] as T));
          const per = sizes[i] as number;
          const sum = sums[i] as Float64Array;
          examples.forEach((e, k) => {
            for (let p = 0; p < per; p++) sum[e * per + p] = (sum[e * per + p] as number) + (data[k * per + p] as number);
          });
        }
        if (returnDelta) {
          const fNoisy = await selectedOutputSums(model, noisy, args, selection, undefined, scope);
          const fRefs = await selectedOutputSums(model, refs, args, selection, undefined, scope);
          rowIds.forEach((r, k) => (deltas[r] = (totals[k] as number) - ((fNoisy[k] as number) - (fRefs[k] as number))));
        }
        scope.free([...noisy, ...refs, ...diffs, ...points, ...grads, ...perSample]);
        scope.free(args.filter((a): a is T => b.isTensor(a) && !call.args.includes(a)));
        options.onProgress?.({ done: ++done, total: ranges.length });
      }
      const attributions = sums.map((s, i) => scope.track(b.tensor(s.map((v) => v / samples), call.x.shapes[i] as number[], 'float32')));
      const delta = returnDelta ? b.tensor(Float32Array.from(deltas), [rows], 'float32') : undefined;
      return { attributions: restoreStructure(call.x, scope.release(attributions)), delta };
    });
  }
}
