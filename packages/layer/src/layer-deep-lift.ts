import {
  RUN_OPTION_NAMES,
  attributionSums,
  checkBoolean,
  checkOptionNames,
  checkRowLimit,
  convergenceDelta,
  deepLiftPass,
  prepareBaselines,
  prepareTargetCall,
  withScope,
  type MultiplyByInputsOptions,
} from '@attribution/core';
import type { Baselines, LayerName } from '@attribution/core';
import type { Model } from '@attribution/tensor';
import { LayerAttribution } from './layer-attribution.js';
import type { LayerAttributionResult, LayerTargetOptions } from './types.js';

/** Options of {@link LayerDeepLift.attribute}. */
export interface LayerDeepLiftOptions<T> extends LayerTargetOptions<T> {
  /** References in input space (default zeros). */
  readonly baselines?: Baselines<T>;
  /** The most rows one model call may see (two per example). */
  readonly internalBatchSize?: number;
  /** Also return the convergence delta against the model outputs. */
  readonly returnConvergenceDelta?: boolean;
}

const OPTION_NAMES = ['baselines', 'target', 'additionalForwardArgs', 'attributeToLayerInput', 'internalBatchSize', 'returnConvergenceDelta', ...RUN_OPTION_NAMES];

/**
 * Layer DeepLift: inputs and references run as one batch with DeepLift's Rescale rule; the attribution is
 * `(A(x) − A(x′)) ⊙ m_A` with m_A the multipliers reaching the layer. Attributing to the layer's output, the
 * layer's own rule does not apply (it lies before the attribution point). One model call.
 */
export class LayerDeepLift<T> extends LayerAttribution<T> {
  constructor(model: Model<T>, layer: LayerName, options: MultiplyByInputsOptions = {}) {
    super(model, layer);
    this.readMultiplyByInputs(options);
  }

  async attribute(inputs: T | readonly T[], options: LayerDeepLiftOptions<T> = {}): Promise<LayerAttributionResult<T, T>> {
    checkOptionNames(options, OPTION_NAMES, 'LayerDeepLift.attribute');
    const toInput = checkBoolean('attributeToLayerInput', options.attributeToLayerInput ?? false);
    const returnDelta = checkBoolean('returnConvergenceDelta', options.returnConvergenceDelta ?? false);
    const maxRows = checkRowLimit('internalBatchSize', options.internalBatchSize, 2);
    const { model, backend: b } = this;
    return withScope(b, async (scope) => {
      const call = await prepareTargetCall(model, inputs, options, scope, false, false);
      const baselines = await prepareBaselines(b, options.baselines, call.x, scope);
      const ref = this.ref(toInput);
      const pass = await deepLiftPass(model, call, baselines, scope, { ...options, maxRows }, { wrt: [ref], capture: [ref] });
      const m = pass.multipliers[0] as T;
      const attributions = this.multipliesByInputs
        ? scope.track(b.tidy(() => b.mul(b.sub(pass.capturedInputs[0] as T, pass.capturedBaselines[0] as T), m)))
        : m;
      const totals = await attributionSums(b, [attributions]);
      const delta = returnDelta ? convergenceDelta(b, totals, pass.fBaselines, pass.fInputs) : undefined;
      return { attributions: scope.release(attributions), delta };
    });
  }
}
