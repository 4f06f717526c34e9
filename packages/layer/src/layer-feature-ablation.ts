import type { Model } from '@attribution/tensor';
import {
  RUN_OPTION_NAMES,
  ablateFeatures,
  attributionTensors,
  checkBoolean,
  checkOptionNames,
  checkPerturbationsPerEval,
  evaluate,
  hostBaselines,
  hostNumbers,
  layerActivations,
  maskFeatures,
  preparePerturbationCall,
  withScope,
  type LayerName,
  type PerturbationCall,
} from '@attribution/core';
import { LayerAttribution } from './layer-attribution.js';
import type { LayerAttributionResult, LayerTargetOptions } from './types.js';

/** Options of {@link LayerFeatureAblation.attribute}. */
export interface LayerFeatureAblationOptions<T> extends LayerTargetOptions<T> {
  /** What ablated layer positions take: a number or a tensor broadcastable to the layer (default 0). */
  readonly layerBaselines?: number | T;
  /** Groups of layer positions ablated together: an integer mask broadcastable to the layer. */
  readonly layerMask?: T;
  /** Ablated copies of the batch per model call (default 1). */
  readonly perturbationsPerEval?: number;
}

const OPTION_NAMES = ['target', 'additionalForwardArgs', 'attributeToLayerInput', 'layerBaselines', 'layerMask', 'perturbationsPerEval', ...RUN_OPTION_NAMES];

/**
 * Layer feature ablation: each feature of the layer's activation in turn is replaced by its baseline (the
 * model runs on the real inputs with the layer substituted) and the output change is its attribution.
 * `2 + ⌈features / perturbationsPerEval⌉` model calls.
 */
export class LayerFeatureAblation<T> extends LayerAttribution<T> {
  constructor(model: Model<T>, layer: LayerName) {
    super(model, layer);
  }

  override get multipliesByInputs(): boolean {
    return true;
  }

  async attribute(inputs: T | readonly T[], options: LayerFeatureAblationOptions<T> = {}): Promise<LayerAttributionResult<T, T>> {
    checkOptionNames(options, OPTION_NAMES, 'LayerFeatureAblation.attribute');
    const toInput = checkBoolean('attributeToLayerInput', options.attributeToLayerInput ?? false);
    const perEval = checkPerturbationsPerEval(options.perturbationsPerEval);
    const { model, backend: b } = this;
    return withScope(b, async (scope) => {
      const call = await preparePerturbationCall(model, inputs, options, scope);
      const ref = this.ref(toInput);
      const [acts] = await layerActivations(model, call.x.tensors, call.args, [ref], scope);
      const layerX = { tensors: [acts as T], single: true, batchSize: call.x.batchSize, shapes: [b.shape(acts as T)] };
      const layerCall: PerturbationCall<T> = {
        ...call,
        x: layerX,
        inputData: [hostNumbers(await b.data(acts as T))],
        baselineData: await hostBaselines(b, options.layerBaselines, layerX, 'layerBaselines'),
        dtypes: ['float32'],
        evaluate: async (batch, copies) => (await evaluate(model, call.x.tensors, call.args, call.selection, copies, scope, { ref, value: batch[0] as T })).values,
      };
      const features = await maskFeatures(b, options.layerMask, layerX, 'layerMask');
      const [attr] = await ablateFeatures(model, layerCall, features, perEval, scope, options);
      const shape = [call.x.batchSize * call.k, ...(layerX.shapes[0] as number[]).slice(1)];
      const [t] = attributionTensors(b, [attr as Float64Array], [shape], scope);
      return { attributions: scope.release(t as T) };
    });
  }
}
