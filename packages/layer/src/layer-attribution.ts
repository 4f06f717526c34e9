import { Attribution, interpolate, layerChannelAxis, resolveLayer, type InterpolateMode, type LayerName } from '@attribution/core';
import { ArgumentError, type Backend, type LayerRef, type Model } from '@attribution/tensor';

/**
 * The root of the layer methods: a model and the layer whose activations are explained — an ONNX tensor or
 * node name, a tfjs LayersModel layer name or a function model's tap name, or a {@link LayerRef}.
 */
export abstract class LayerAttribution<T> extends Attribution<T> {
  constructor(
    model: Model<T>,
    /** The layer (or layers, for the methods that accept several). */
    readonly layer: LayerName | readonly LayerName[],
    /** Whether the method accepts several layers. */
    several = false,
  ) {
    super(model);
    if (Array.isArray(layer)) {
      if (!several) {
        throw new ArgumentError('layer', `one layer: ${new.target.name} explains one layer tensor (LayerActivation and LayerGradientXActivation take several)`, `an array of ${layer.length}`);
      }
      if (layer.length === 0) throw new ArgumentError('layer', 'at least one layer', 'an empty array');
    }
    for (const l of Array.isArray(layer) ? layer : [layer]) resolveLayer(l);
  }

  /** The layer references, at the layer's input when `toInput`. */
  protected refs(toInput = false): LayerRef[] {
    return (Array.isArray(this.layer) ? (this.layer as readonly LayerName[]) : [this.layer as LayerName]).map((l) => resolveLayer(l, toInput));
  }

  /** The single layer reference of the methods that take one layer. */
  protected ref(toInput = false): LayerRef {
    const refs = this.refs(toInput);
    return refs[0] as LayerRef;
  }

  /**
   * Resizes a layer attribution's spatial dimensions to `size`, as Captum's `LayerAttribution.interpolate`
   * (PyTorch semantics, `align_corners=False`; default `nearest`), keeping its layout: the channel axis is the
   * layer's (1 on ONNX, the last on TensorFlow.js layers) unless `channelAxis` says otherwise.
   */
  interpolate(attribution: T, size: readonly number[], mode: InterpolateMode = 'nearest', channelAxis?: number): Promise<T> {
    const rank = this.backend.shape(attribution).length;
    return interpolate(this.backend, attribution, size, mode, layerChannelAxis(this.model, this.refs()[0] as LayerRef, rank, channelAxis));
  }

  /**
   * {@link LayerAttribution.interpolate} without an instance: `LayerAttribution.interpolate(backend, map, [h, w])`
   * for `[N, C, H, W]` maps, `…, mode, -1)` for `[N, H, W, C]` ones.
   */
  static interpolate<T>(backend: Backend<T>, attribution: T, size: readonly number[], mode: InterpolateMode = 'nearest', channelAxis = 1): Promise<T> {
    return interpolate(backend, attribution, size, mode, channelAxis);
  }
}
