import {
  Attribution,
  RUN_OPTION_NAMES,
  attributionSums,
  checkBoolean,
  checkInteger,
  checkOptionNames,
  checkRowLimit,
  addRowsToExamples,
  callSeed,
  checkSeed,
  forEachShapSample,
  prepareDistribution,
  prepareTargetCall,
  restoreStructure,
  selectedOutputSums,
  targetGradients,
  withScope,
  type BaselineDistribution,
  type MultiplyByInputsOptions,
} from '@attribution/core';
import { ArgumentError, sizeOf, toNumbers, type Model } from '@attribution/tensor';
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
  constructor(model: Model<T>, options: MultiplyByInputsOptions = {}) {
    super(model);
    this.readMultiplyByInputs(options);
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
      const sizes = call.x.shapes.map((s) => sizeOf(s.slice(1)));
      const sums = sizes.map((per) => new Float64Array(n * per));
      const deltas = new Float64Array(n * samples);
      const seed = callSeed(seedOption);
      await forEachShapSample(model, call, dist, { samples, stdevs, seed, maxRows }, scope, options, async (chunk) => {
        const grads = scope.track([
          ...(await targetGradients(model, { inputs: chunk.points, args: chunk.args, outputWeights: chunk.selection.ones(b, 1, scope), wrt: chunk.points.map((_, i) => ({ input: i })) })),
        ]);
        const perSample = this.multipliesByInputs ? grads.map((g, i) => scope.track(b.tidy(() => b.mul(g, b.sub(chunk.noisy[i] as T, chunk.references[i] as T))))) : grads;
        const totals = await attributionSums(b, perSample);
        for (let i = 0; i < perSample.length; i++) addRowsToExamples(sums[i] as Float64Array, toNumbers(await b.data(perSample[i] as T)), chunk.examples, sizes[i] as number);
        if (returnDelta) {
          const fNoisy = await selectedOutputSums(model, chunk.noisy, chunk.args, chunk.selection, undefined, scope);
          const fRefs = await selectedOutputSums(model, chunk.references, chunk.args, chunk.selection, undefined, scope);
          chunk.rows.forEach((r, k) => (deltas[r] = (totals[k] as number) - ((fNoisy[k] as number) - (fRefs[k] as number))));
        }
        scope.free([...grads, ...perSample]);
      });
      const attributions = sums.map((s, i) => scope.track(b.tensor(s.map((v) => v / samples), call.x.shapes[i] as number[], 'float32')));
      const delta = returnDelta ? b.tensor(Float32Array.from(deltas), [deltas.length], 'float32') : undefined;
      return { attributions: restoreStructure(call.x, scope.release(attributions)), delta };
    });
  }
}
