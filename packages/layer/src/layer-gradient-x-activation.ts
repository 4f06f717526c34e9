import {
  RUN_OPTION_NAMES,
  attributionSums,
  checkBoolean,
  checkOptionNames,
  checkRowLimit,
  gradientPass,
  prepareTargetCall,
  withScope,
  type MultiplyByInputsOptions,
} from '@attribution/core';
import type { LayerName } from '@attribution/core';
import type { Model } from '@attribution/tensor';
import { LayerAttribution } from './layer-attribution.js';
import type { LayerAttributionResult, LayerTargetOptions } from './types.js';

/** Options of {@link LayerGradientXActivation.attribute}. */
export interface LayerGradientXActivationOptions<T> extends LayerTargetOptions<T> {
  /** The most examples per model call. */
  readonly internalBatchSize?: number;
}

const OPTION_NAMES = ['target', 'additionalForwardArgs', 'attributeToLayerInput', 'internalBatchSize', ...RUN_OPTION_NAMES];

/** Layer Gradient × Activation: `∂F/∂A ⊙ A` for the layer activations A (or `∂F/∂A`). One gradient call. */
export class LayerGradientXActivation<T> extends LayerAttribution<T> {
  constructor(model: Model<T>, layer: LayerName | readonly LayerName[], options: MultiplyByInputsOptions = {}) {
    super(model, layer, true);
    this.readMultiplyByInputs(options);
  }

  async attribute(inputs: T | readonly T[], options: LayerGradientXActivationOptions<T> = {}): Promise<LayerAttributionResult<T | T[], T>> {
    checkOptionNames(options, OPTION_NAMES, 'LayerGradientXActivation.attribute');
    const toInput = checkBoolean('attributeToLayerInput', options.attributeToLayerInput ?? false);
    const maxRows = checkRowLimit('internalBatchSize', options.internalBatchSize);
    const { model, backend: b } = this;
    return withScope(b, async (scope) => {
      const call = await prepareTargetCall(model, inputs, options, scope, false, false);
      const refs = this.refs(toInput);
      const { gradients, captured } = await gradientPass(model, call, { wrt: refs, capture: refs }, scope, { ...options, maxRows });
      const attributions = this.multipliesByInputs ? gradients.map((g, i) => scope.track(b.mul(g, captured[i] as T))) : gradients;
      await attributionSums(b, attributions);
      return { attributions: Array.isArray(this.layer) ? scope.release(attributions) : scope.release(attributions[0] as T) };
    });
  }
}
