import {
  RUN_OPTION_NAMES,
  checkBoolean,
  checkOptionNames,
  checkRowLimit,
  layerActivations,
  normalizeArgs,
  prepareInputs,
  withScope,
} from '@attribution/core';
import type { LayerName } from '@attribution/core';
import type { Model } from '@attribution/tensor';
import { LayerAttribution } from './layer-attribution.js';
import type { LayerAttributionResult, LayerOptions } from './types.js';

/** Options of {@link LayerActivation.attribute}. */
export interface LayerActivationOptions extends LayerOptions {
  /** The most examples per model call. */
  readonly internalBatchSize?: number;
}

const OPTION_NAMES = ['additionalForwardArgs', 'attributeToLayerInput', 'internalBatchSize', ...RUN_OPTION_NAMES];

/** The activations of a layer (or of several layers) at the inputs: one forward pass, no target. */
export class LayerActivation<T> extends LayerAttribution<T> {
  constructor(model: Model<T>, layer: LayerName | readonly LayerName[]) {
    super(model, layer, true);
  }

  override get multipliesByInputs(): boolean {
    return true;
  }

  /** One tensor for one layer, an array for an array of layers. */
  async attribute(inputs: T | readonly T[], options: LayerActivationOptions = {}): Promise<LayerAttributionResult<T | T[], T>> {
    checkOptionNames(options, OPTION_NAMES, 'LayerActivation.attribute');
    const toInput = checkBoolean('attributeToLayerInput', options.attributeToLayerInput ?? false);
    const maxRows = checkRowLimit('internalBatchSize', options.internalBatchSize);
    const b = this.backend;
    return withScope(b, async (scope) => {
      const x = await prepareInputs(b, inputs, { needsGradient: false });
      const acts = await layerActivations(this.model, x.tensors, normalizeArgs(options.additionalForwardArgs), this.refs(toInput), scope, { ...options, maxRows });
      return { attributions: Array.isArray(this.layer) ? scope.release(acts) : scope.release(acts[0] as T) };
    });
  }
}
