import {
  Attribution,
  RUN_OPTION_NAMES,
  attributionSums,
  checkBoolean,
  checkOptionNames,
  convergenceDelta,
  integrateInputPath,
  prepareTargetCall,
  restoreStructure,
  selectedOutputSums,
  targetGradients,
  withScope,
  type MultiplyByInputsOptions,
} from '@attribution/core';
import type { Model } from '@attribution/tensor';
import type { AttributionResult, PathOptions } from './types.js';

/** Options of {@link IntegratedGradients.attribute}. */
export type IntegratedGradientsOptions<T> = PathOptions<T>;

const OPTION_NAMES = [
  'baselines',
  'target',
  'additionalForwardArgs',
  'nSteps',
  'method',
  'internalBatchSize',
  'returnConvergenceDelta',
  ...RUN_OPTION_NAMES,
];

/**
 * Integrated Gradients (Sundararajan et al., 2017), as in Captum:
 *
 * `IG(x) = (x − x') ⊙ Σ_k w_k · ∂F/∂x (x' + α_k (x − x'))`
 *
 * with the step sizes `w_k` and points `α_k` of the approximation rule. One gradient call per chunk of steps.
 */
export class IntegratedGradients<T> extends Attribution<T> {
  /** `multiplyByInputs: false` returns the averaged gradients without the `(x − x')` factor. */
  constructor(model: Model<T>, options: MultiplyByInputsOptions = {}) {
    super(model);
    this.readMultiplyByInputs(options);
  }

  /** Attributes the target output to each input element. */
  attribute(inputs: T, options?: IntegratedGradientsOptions<T>): Promise<AttributionResult<T, T>>;
  attribute(inputs: readonly T[], options?: IntegratedGradientsOptions<T>): Promise<AttributionResult<T[], T>>;
  async attribute(inputs: T | readonly T[], options: IntegratedGradientsOptions<T> = {}): Promise<AttributionResult<T | T[], T>> {
    checkOptionNames(options, OPTION_NAMES, 'IntegratedGradients.attribute');
    const returnDelta = checkBoolean('returnConvergenceDelta', options.returnConvergenceDelta ?? false);
    const { model, backend: b } = this;
    return withScope(b, async (scope) => {
      const call = await prepareTargetCall(model, inputs, options, scope, returnDelta);
      const wrt = call.x.tensors.map((_, i) => ({ input: i }));
      const path = await integrateInputPath(b, call, options, scope, 'gausslegendre', (points, stepSizes, args) =>
        targetGradients(model, { inputs: points, args, outputWeights: call.selection.weights(b, stepSizes, scope), wrt }),
      );
      const attributions = this.multipliesByInputs ? path.integral.map((g, i) => scope.track(b.mul(g, path.diffs[i] as T))) : path.integral;
      const totals = await attributionSums(b, attributions);
      const delta = returnDelta
        ? convergenceDelta(b, totals, await selectedOutputSums(model, path.baselines, call.args, call.selection, path.maxRows, scope), call.fInputs!)
        : undefined;
      return { attributions: restoreStructure(call.x, scope.release(attributions)), delta };
    });
  }
}
