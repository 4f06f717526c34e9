import {
  Attribution,
  RUN_OPTION_NAMES,
  attributionSums,
  checkBoolean,
  checkOptionNames,
  checkRowLimit,
  convergenceDelta,
  deepLiftPass,
  prepareDistribution,
  prepareTargetCall,
  meanOverReferences,
  pairWithReferences,
  restoreStructure,
  withScope,
  type BaselineDistribution,
  type MultiplyByInputsOptions,
} from '@attribution/core';
import type { Model } from '@attribution/tensor';
import type { AttributionResult, GradientOptions } from './types.js';

/** Options of {@link DeepLiftShap.attribute}. */
export interface DeepLiftShapOptions<T> extends GradientOptions<T> {
  /** The reference distribution: per input a tensor of B > 1 rows, or a function of the inputs returning them. */
  readonly baselines: BaselineDistribution<T>;
  /** The most rows one model call may see: each (example, reference) pair takes two. */
  readonly internalBatchSize?: number;
  /** Also return the delta of every (example, reference) pair (example-major, N·B values). */
  readonly returnConvergenceDelta?: boolean;
}

const OPTION_NAMES = ['baselines', 'target', 'additionalForwardArgs', 'internalBatchSize', 'returnConvergenceDelta', ...RUN_OPTION_NAMES];

/**
 * DeepLift SHAP: DeepLift of every example against every reference of a distribution, averaged over the
 * references: `(1/B) Σ_j DeepLift(x; x′_j)`. Pairs are example-major (row i·B + j = example i with reference j).
 */
export class DeepLiftShap<T> extends Attribution<T> {
  constructor(model: Model<T>, options: MultiplyByInputsOptions = {}) {
    super(model);
    this.readMultiplyByInputs(options);
  }

  attribute(inputs: T, options: DeepLiftShapOptions<T>): Promise<AttributionResult<T, T>>;
  attribute(inputs: readonly T[], options: DeepLiftShapOptions<T>): Promise<AttributionResult<T[], T>>;
  async attribute(inputs: T | readonly T[], options: DeepLiftShapOptions<T>): Promise<AttributionResult<T | T[], T>> {
    checkOptionNames(options, OPTION_NAMES, 'DeepLiftShap.attribute');
    const returnDelta = checkBoolean('returnConvergenceDelta', options.returnConvergenceDelta ?? false);
    const maxRows = checkRowLimit('internalBatchSize', options.internalBatchSize, 2);
    const { model, backend: b } = this;
    return withScope(b, async (scope) => {
      const call = await prepareTargetCall(model, inputs, options, scope);
      const dist = await prepareDistribution(b, options.baselines, call.x, 2);
      const { n, refs, pairs, references, call: expanded } = pairWithReferences(model, call, dist.tensors, dist.rows, scope);
      const pass = await deepLiftPass(model, expanded, references, scope, { ...options, maxRows });
      const perPair = this.multipliesByInputs
        ? pass.multipliers.map((m, i) => scope.track(b.tidy(() => b.mul(b.sub(pairs[i] as T, references[i] as T), m))))
        : pass.multipliers;
      const totals = await attributionSums(b, perPair);
      const attributions = perPair.map((a) => meanOverReferences(model, a, n, refs, scope));
      const delta = returnDelta ? convergenceDelta(b, totals, pass.fBaselines, pass.fInputs) : undefined;
      return { attributions: restoreStructure(call.x, scope.release(attributions)), delta };
    });
  }
}
