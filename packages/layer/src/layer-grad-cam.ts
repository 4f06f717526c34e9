import type { Model } from '@attribution/tensor';
import {
  RUN_OPTION_NAMES,
  checkBoolean,
  checkOptionNames,
  checkRowLimit,
  gradCamMap,
  gradientPass,
  layerChannelAxis,
  prepareTargetCall,
  withScope,
  type LayerName,
} from '@attribution/core';
import { LayerAttribution } from './layer-attribution.js';
import type { LayerAttributionResult, LayerTargetOptions } from './types.js';

/** Options of {@link LayerGradCam.attribute}. */
export interface LayerGradCamOptions<T> extends LayerTargetOptions<T> {
  /** Pass the map through ReLU (default false, as Captum). */
  readonly reluAttributions?: boolean;
  /** Sum the weighted channels into one map (default true); false keeps one map per channel. */
  readonly attrDimSummation?: boolean;
  /** The most examples per model call. */
  readonly internalBatchSize?: number;
  /**
   * The layer tensor's channel axis (negative counts from the end). Default: the model's layout for the layer —
   * 1 on ONNX, the last axis on TensorFlow.js (its layers are channels-last unless they say `channelsFirst`).
   */
  readonly channelAxis?: number;
}

const OPTION_NAMES = ['target', 'additionalForwardArgs', 'attributeToLayerInput', 'reluAttributions', 'attrDimSummation', 'internalBatchSize', 'channelAxis', ...RUN_OPTION_NAMES];

/**
 * Grad-CAM (Selvaraju et al., 2017): channel weights are the gradients of the target averaged over the
 * layer's spatial dimensions; the map `Σ_c weight_c · A_c` stays at the layer's resolution and layout —
 * `[N, 1, H, W]` for a channels-first layer, `[N, H, W, 1]` for a channels-last one — (upsample it with
 * {@link LayerAttribution.interpolate}). One gradient call.
 */
export class LayerGradCam<T> extends LayerAttribution<T> {
  constructor(model: Model<T>, layer: LayerName) {
    super(model, layer);
  }

  override get multipliesByInputs(): boolean {
    return false;
  }

  async attribute(inputs: T | readonly T[], options: LayerGradCamOptions<T> = {}): Promise<LayerAttributionResult<T, T>> {
    checkOptionNames(options, OPTION_NAMES, 'LayerGradCam.attribute');
    const toInput = checkBoolean('attributeToLayerInput', options.attributeToLayerInput ?? false);
    const reluAttributions = checkBoolean('reluAttributions', options.reluAttributions ?? false);
    const attrDimSummation = checkBoolean('attrDimSummation', options.attrDimSummation ?? true);
    const maxRows = checkRowLimit('internalBatchSize', options.internalBatchSize);
    const { model, backend: b } = this;
    return withScope(b, async (scope) => {
      const call = await prepareTargetCall(model, inputs, options, scope, false, false);
      const ref = this.ref(toInput);
      const { gradients, captured } = await gradientPass(model, call, { wrt: [ref], capture: [ref] }, scope, { ...options, maxRows });
      const acts = captured[0] as T;
      const channelAxis = layerChannelAxis(model, ref, b.shape(acts).length, options.channelAxis);
      const map = scope.track(gradCamMap(b, gradients[0] as T, acts, { reluAttributions, attrDimSummation, channelAxis }));
      return { attributions: scope.release(map) };
    });
  }
}
