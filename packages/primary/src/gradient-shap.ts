import {
  Attribution,
  RUN_OPTION_NAMES,
  SampleMeans,
  attributionSums,
  checkBoolean,
  checkOptionNames,
  forEachShapSample,
  prepareShapSampling,
  prepareTargetCall,
  restoreStructure,
  selectedOutputSums,
  targetGradients,
  withScope,
  type MultiplyByInputsOptions,
  type ShapSamplingOptions,
} from '@attribution/core';
import {
  type Model,
} from '@attribution/tensor';
import type { AttributionResult, GradientOptions } from './types.js';

/** Options of {@link GradientShap.attribute}. */
export interface GradientShapOptions<T> extends GradientOptions<T>, ShapSamplingOptions<T> {
  /** Also return the delta of every sample (example-major, N·nSamples values). */
  readonly returnConvergenceDelta?: boolean;
}

const OPTION_NAMES = ['baselines', 'target', 'additionalForwardArgs', 'nSamples', 'stdevs', 'internalBatchSize', 'returnConvergenceDelta', 'seed', ...RUN_OPTION_NAMES];

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
    const returnDelta = checkBoolean('returnConvergenceDelta', options.returnConvergenceDelta ?? false);
    const { model, backend: b } = this;
    return withScope(b, async (scope) => {
      const call = await prepareTargetCall(model, inputs, options, scope);
      const plan = await prepareShapSampling(b, options, call.x);
      const { samples } = plan;
      const n = call.x.batchSize;
      const means = new SampleMeans(b, n, samples);
      const deltas = new Float64Array(n * samples);
      await forEachShapSample(model, call, plan, scope, options, async (chunk) => {
        const grads = scope.track([
          ...(await targetGradients(model, { inputs: chunk.points, args: chunk.args, outputWeights: chunk.selection.ones(b, 1, scope), wrt: chunk.points.map((_, i) => ({ input: i })) })),
        ]);
        const perSample = this.multipliesByInputs ? grads.map((g, i) => scope.track(b.tidy(() => b.mul(g, b.sub(chunk.noisy[i] as T, chunk.references[i] as T))))) : grads;
        const totals = await attributionSums(b, perSample);
        await means.add(perSample, chunk.examples);
        if (returnDelta) {
          const fNoisy = await selectedOutputSums(model, chunk.noisy, chunk.args, chunk.selection, undefined, scope);
          const fRefs = await selectedOutputSums(model, chunk.references, chunk.args, chunk.selection, undefined, scope);
          chunk.rows.forEach((r, k) => (deltas[r] = (totals[k] as number) - ((fNoisy[k] as number) - (fRefs[k] as number))));
        }
        scope.free([...grads, ...perSample]);
      });
      const attributions = scope.track(means.means());
      const delta = returnDelta ? b.tensor(Float32Array.from(deltas), [deltas.length], 'float32') : undefined;
      return { attributions: restoreStructure(call.x, scope.release(attributions)), delta };
    });
  }
}
