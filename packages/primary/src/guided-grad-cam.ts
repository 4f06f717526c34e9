import {
  Attribution,
  RUN_OPTION_NAMES,
  attributionSums,
  checkBoolean,
  checkOptionNames,
  checkRowLimit,
  gradCamMap,
  gradientPass,
  INTERPOLATE_MODES,
  interpolate,
  layerChannelAxis,
  prepareTargetCall,
  resolveLayer,
  restoreStructure,
  withScope,
  type InterpolateMode,
  type LayerName,
} from '@attribution/core';
import { ArgumentError, formatShape, type Model } from '@attribution/tensor';
import type { AttributionResult, OnePassOptions } from './types.js';

/** Options of {@link GuidedGradCam.attribute}. */
export interface GuidedGradCamOptions<T> extends OnePassOptions<T> {
  /** How the layer's Grad-CAM map is resized to each input (default `nearest`, as Captum). */
  readonly interpolateMode?: InterpolateMode;
  /** Compute Grad-CAM at the layer's input instead of its output. */
  readonly attributeToLayerInput?: boolean;
  /**
   * The channel axis of the layer tensor and of the inputs (negative counts from the end). Default: the model's
   * layout for the layer — 1 on ONNX, the last axis on TensorFlow.js.
   */
  readonly channelAxis?: number;
}

const OPTION_NAMES = ['target', 'additionalForwardArgs', 'internalBatchSize', 'interpolateMode', 'attributeToLayerInput', 'channelAxis', ...RUN_OPTION_NAMES];

/**
 * Guided Grad-CAM (Selvaraju et al., 2017): guided backpropagation at the inputs times the layer's
 * non-negative Grad-CAM map resized to each input's spatial size, `GB(x) ⊙ up(relu(Σ_c ᾱ_c A_c))`.
 * Inputs have the layer's layout (`[N, C, …spatial]` channels-first, `[N, …spatial, C]` channels-last) and as
 * many spatial dimensions as the layer map. Two gradient calls.
 */
export class GuidedGradCam<T> extends Attribution<T> {
  constructor(
    model: Model<T>,
    /** The layer of the Grad-CAM map, usually the last convolution (its output must be `[N, C, …]`). */
    readonly layer: LayerName,
  ) {
    super(model);
    resolveLayer(layer);
  }

  override get multipliesByInputs(): boolean {
    return false;
  }

  attribute(inputs: T, options?: GuidedGradCamOptions<T>): Promise<AttributionResult<T, T>>;
  attribute(inputs: readonly T[], options?: GuidedGradCamOptions<T>): Promise<AttributionResult<T[], T>>;
  async attribute(inputs: T | readonly T[], options: GuidedGradCamOptions<T> = {}): Promise<AttributionResult<T | T[], T>> {
    checkOptionNames(options, OPTION_NAMES, 'GuidedGradCam.attribute');
    const mode = options.interpolateMode ?? 'nearest';
    if (!INTERPOLATE_MODES.includes(mode)) throw new ArgumentError('interpolateMode', `one of ${INTERPOLATE_MODES.map((m) => `'${m}'`).join(', ')}`, String(mode));
    const ref = resolveLayer(this.layer, checkBoolean('attributeToLayerInput', options.attributeToLayerInput ?? false));
    const maxRows = checkRowLimit('internalBatchSize', options.internalBatchSize);
    const { model, backend: b } = this;
    return withScope(b, async (scope) => {
      const call = await prepareTargetCall(model, inputs, options, scope);
      // Two passes of the same chunks: progress runs over both.
      const pass = (second: number) => ({
        ...options,
        maxRows,
        onProgress: options.onProgress && ((p: { done: number; total: number }) => options.onProgress?.({ done: p.done + second * p.total, total: 2 * p.total })),
      });
      const cam = await gradientPass(model, call, { wrt: [ref], capture: [ref] }, scope, pass(0));
      const acts = cam.captured[0] as T;
      const rank = b.shape(acts).length;
      const channelAxis = layerChannelAxis(model, ref, rank, options.channelAxis);
      const map = scope.track(gradCamMap(b, cam.gradients[0] as T, acts, { reluAttributions: true, attrDimSummation: true, channelAxis }));
      scope.free([...cam.gradients, ...cam.captured]);
      const guided = await gradientPass(model, call, {}, scope, { ...pass(1), rule: 'guided-backprop' });
      const mapShape = b.shape(map);
      if (mapShape.length < 3) {
        throw new ArgumentError('layer', 'a layer with spatial dimensions, [N, C, …] or [N, …, C] (Grad-CAM is resized to the inputs)', `'${ref.layer}', whose Grad-CAM map has shape ${formatShape(mapShape)}`);
      }
      const attributions = await Promise.all(
        call.x.tensors.map(async (x, i) => {
          const shape = b.shape(x);
          if (shape.length !== mapShape.length || shape.length < 3) {
            throw new ArgumentError(
              `inputs[${i}]`,
              `a tensor ${channelAxis === 1 ? '[N, C, …]' : '[N, …, C]'} with ${Math.max(1, mapShape.length - 2)} spatial dimension(s), like the Grad-CAM map of shape ${formatShape(mapShape)}`,
              `shape ${formatShape(shape)}`,
            );
          }
          const size = shape.filter((_, k) => k !== 0 && k !== channelAxis);
          const up = scope.track(await interpolate(b, map, size, mode, channelAxis));
          return scope.track(b.mul(guided.gradients[i] as T, up));
        }),
      );
      await attributionSums(b, attributions);
      return { attributions: restoreStructure(call.x, scope.release(attributions)) };
    });
  }
}
