import {
  Attribution,
  RUN_OPTION_NAMES,
  attributionSums,
  checkBoolean,
  checkOptionNames,
  checkRowLimit,
  convergenceDelta,
  deepLiftPass,
  prepareBaselines,
  prepareTargetCall,
  restoreStructure,
  withScope,
  type Baselines,
  type MultiplyByInputsOptions,
} from '@attribution/core';
import type { Model } from '@attribution/tensor';
import type { AttributionResult, GradientOptions } from './types.js';

/** Options of {@link DeepLift.attribute}. */
export interface DeepLiftOptions<T> extends GradientOptions<T> {
  /** References: a number, a tensor per example or with batch size 1, or one per input (default zeros). */
  readonly baselines?: Baselines<T>;
  /** The most rows one model call may see: each example takes two (input and reference). */
  readonly internalBatchSize?: number;
  /** Also return the convergence delta `Σ attributions − (F(x) − F(x′))`, ~0 for DeepLift. */
  readonly returnConvergenceDelta?: boolean;
}

const OPTION_NAMES = ['baselines', 'target', 'additionalForwardArgs', 'internalBatchSize', 'returnConvergenceDelta', ...RUN_OPTION_NAMES];

/**
 * DeepLift with the Rescale rule (Shrikumar et al., 2017), as Captum computes it: inputs and references
 * run as one batch; at every supported nonlinearity (ReLU, LeakyReLU, Sigmoid, Tanh, ELU, Softplus,
 * Softmax, MaxPool) the local derivative becomes `Δout/Δin`, and
 * `DeepLift(x) = (x − x′) ⊙ m`, with `m` the multipliers so propagated. One model call.
 */
export class DeepLift<T> extends Attribution<T> {
  constructor(model: Model<T>, options: MultiplyByInputsOptions = {}) {
    super(model);
    this.readMultiplyByInputs(options);
  }

  attribute(inputs: T, options?: DeepLiftOptions<T>): Promise<AttributionResult<T, T>>;
  attribute(inputs: readonly T[], options?: DeepLiftOptions<T>): Promise<AttributionResult<T[], T>>;
  async attribute(inputs: T | readonly T[], options: DeepLiftOptions<T> = {}): Promise<AttributionResult<T | T[], T>> {
    checkOptionNames(options, OPTION_NAMES, 'DeepLift.attribute');
    const returnDelta = checkBoolean('returnConvergenceDelta', options.returnConvergenceDelta ?? false);
    const maxRows = checkRowLimit('internalBatchSize', options.internalBatchSize, 2);
    const { model, backend: b } = this;
    return withScope(b, async (scope) => {
      const call = await prepareTargetCall(model, inputs, options, scope);
      const baselines = await prepareBaselines(b, options.baselines, call.x, scope);
      const pass = await deepLiftPass(model, call, baselines, scope, { ...options, maxRows });
      const attributions = this.multipliesByInputs
        ? pass.multipliers.map((m, i) => scope.track(b.tidy(() => b.mul(b.sub(call.x.tensors[i] as T, baselines[i] as T), m))))
        : pass.multipliers;
      const totals = await attributionSums(b, attributions);
      const delta = returnDelta ? convergenceDelta(b, totals, pass.fBaselines, pass.fInputs) : undefined;
      return { attributions: restoreStructure(call.x, scope.release(attributions)), delta };
    });
  }
}
