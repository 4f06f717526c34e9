import {
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
  withScope,
  type BaselineDistribution,
  type MultiplyByInputsOptions,
} from '@attribution/core';
import type { LayerName } from '@attribution/core';
import type { Model } from '@attribution/tensor';
import { LayerAttribution } from './layer-attribution.js';
import type { LayerAttributionResult, LayerTargetOptions } from './types.js';

/** Options of {@link LayerDeepLiftShap.attribute}. */
export interface LayerDeepLiftShapOptions<T> extends LayerTargetOptions<T> {
  /** The reference distribution in input space: per input a tensor of B ≥ 2 rows, or a function of the inputs returning them. */
  readonly baselines: BaselineDistribution<T>;
  /** The most rows one model call may see: each (example, reference) pair takes two. */
  readonly internalBatchSize?: number;
  /** Also return the delta of every (example, reference) pair (example-major, N·B values). */
  readonly returnConvergenceDelta?: boolean;
}

const OPTION_NAMES = ['baselines', 'target', 'additionalForwardArgs', 'attributeToLayerInput', 'internalBatchSize', 'returnConvergenceDelta', ...RUN_OPTION_NAMES];

/**
 * Layer DeepLift SHAP: {@link LayerDeepLift} of every example against every reference row of a distribution,
 * averaged over the references: `(1/B) Σ_j (A(x) − A(x′_j)) ⊙ m_A(x, x′_j)`. Pairs are example-major (row
 * i·B + j = example i with reference j); the target and tensor arguments follow their example. A distribution
 * of one row is refused (use LayerDeepLift). One model call of 2·N·B rows (split by `internalBatchSize`).
 */
export class LayerDeepLiftShap<T> extends LayerAttribution<T> {
  constructor(model: Model<T>, layer: LayerName, options: MultiplyByInputsOptions = {}) {
    super(model, layer);
    this.readMultiplyByInputs(options);
  }

  async attribute(inputs: T | readonly T[], options: LayerDeepLiftShapOptions<T>): Promise<LayerAttributionResult<T, T>> {
    checkOptionNames(options, OPTION_NAMES, 'LayerDeepLiftShap.attribute');
    const toInput = checkBoolean('attributeToLayerInput', options.attributeToLayerInput ?? false);
    const returnDelta = checkBoolean('returnConvergenceDelta', options.returnConvergenceDelta ?? false);
    const maxRows = checkRowLimit('internalBatchSize', options.internalBatchSize, 2);
    const { model, backend: b } = this;
    return withScope(b, async (scope) => {
      const call = await prepareTargetCall(model, inputs, options, scope, false, false);
      const dist = await prepareDistribution(b, options.baselines, call.x, 2);
      const { n, refs, references, call: expanded } = pairWithReferences(model, call, dist.tensors, dist.rows, scope);
      const ref = this.ref(toInput);
      const pass = await deepLiftPass(model, expanded, references, scope, { ...options, maxRows }, { wrt: [ref], capture: [ref] });
      const m = pass.multipliers[0] as T;
      const perPair = this.multipliesByInputs
        ? scope.track(b.tidy(() => b.mul(b.sub(pass.capturedInputs[0] as T, pass.capturedBaselines[0] as T), m)))
        : m;
      const totals = await attributionSums(b, [perPair]);
      const attributions = meanOverReferences(model, perPair, n, refs, scope);
      const delta = returnDelta ? convergenceDelta(b, totals, pass.fBaselines, pass.fInputs) : undefined;
      return { attributions: scope.release(attributions), delta };
    });
  }
}
