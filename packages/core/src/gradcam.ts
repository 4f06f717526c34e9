import { ArgumentError, describeValue, type Backend, type LayerRef, type Model } from '@attribution/tensor';

/**
 * The channel axis of a layer tensor of rank `rank`, non-negative: `given` (the caller's `channelAxis` option,
 * negative counting from the end), else what the model says about the layer ({@link Model.channelAxis}: 1 on
 * ONNX, the last axis on TensorFlow.js layers unless they are channels-first), else 1.
 */
export function layerChannelAxis<T>(model: Model<T>, ref: LayerRef, rank: number, given?: number): number {
  if (rank < 2) return Math.max(0, rank - 1);
  if (given !== undefined) return checkChannelAxis(given, rank);
  const said = model.channelAxis?.(ref, rank);
  return said === undefined ? 1 : checkChannelAxis(said, rank);
}

/** A channel axis of a rank-`rank` tensor: an integer in [−(rank − 1), rank) other than 0 (the batch), made non-negative. */
export function checkChannelAxis(axis: unknown, rank: number, argument = 'channelAxis'): number {
  const ok = typeof axis === 'number' && Number.isInteger(axis) && axis < rank && axis > -rank && axis !== 0;
  if (!ok) {
    throw new ArgumentError(argument, `an axis of a rank-${rank} tensor other than the batch axis 0: 1 … ${rank - 1} or −1 … −${rank - 1} (−1 for channels-last)`, describeValue(axis));
  }
  return (axis as number) < 0 ? (axis as number) + rank : (axis as number);
}

/** The axes of a rank-`rank` tensor other than the batch (0) and the channel axis. */
function spatialAxes(rank: number, channelAxis: number): number[] {
  return Array.from({ length: rank }, (_, i) => i).filter((i) => i !== 0 && i !== channelAxis);
}

/**
 * Grad-CAM from a layer's activations `A` and the gradient `G` of the target with respect to them: channel
 * weights are `G` averaged over the spatial dimensions (every axis but the batch and `channelAxis`; `G` itself
 * for 2-D layers); the map is `Σ_c weight_c · A_c` keeping a channel dimension of 1 where the channels were
 * (`[N, 1, H, W]` channels-first, `[N, H, W, 1]` channels-last), or `weight ⊙ A` per channel, optionally passed
 * through ReLU.
 */
export function gradCamMap<T>(
  b: Backend<T>,
  grads: T,
  acts: T,
  options: { readonly reluAttributions: boolean; readonly attrDimSummation: boolean; readonly channelAxis?: number },
): T {
  return b.tidy(() => {
    const rank = b.shape(acts).length;
    const channel = rank > 1 ? checkChannelAxis(options.channelAxis ?? 1, rank) : 0;
    const spatial = rank > 2 ? spatialAxes(rank, channel) : [];
    const weights = rank > 2 ? b.mean(grads, spatial, true) : grads;
    const weighted = b.mul(weights, acts);
    const map = options.attrDimSummation && rank > 1 ? b.sum(weighted, channel, true) : weighted;
    return options.reluAttributions ? b.maximum(map, 0) : map;
  });
}

/** Resampling modes of {@link interpolate}. */
export type InterpolateMode = 'nearest' | 'bilinear' | 'linear' | 'area';

/** Every {@link InterpolateMode}. */
export const INTERPOLATE_MODES: readonly InterpolateMode[] = ['nearest', 'linear', 'bilinear', 'area'];

/** `data` of shape `shape` with axis `from` moved to position `to` (row-major copies). */
function moveAxis(data: Float64Array, shape: readonly number[], from: number, to: number): { data: Float64Array; shape: number[] } {
  if (from === to) return { data, shape: [...shape] };
  const order = Array.from({ length: shape.length }, (_, i) => i).filter((i) => i !== from);
  order.splice(to, 0, from);
  const outShape = order.map((i) => shape[i] as number);
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, v) => a * v, 1));
  const out = new Float64Array(data.length);
  const index = new Array<number>(shape.length).fill(0);
  for (let k = 0; k < data.length; k++) {
    let src = 0;
    for (let d = 0; d < order.length; d++) src += (index[d] as number) * (strides[order[d] as number] as number);
    out[k] = data[src] as number;
    for (let d = order.length - 1; d >= 0; d--) {
      index[d] = (index[d] as number) + 1;
      if ((index[d] as number) < (outShape[d] as number)) break;
      index[d] = 0;
    }
  }
  return { data: out, shape: outShape };
}

/**
 * Resizes the spatial dimensions of a 3- or 4-D tensor (every axis but the batch, 0, and `channelAxis`: those
 * after `[N, C]` by default, those between `N` and `C` for channels-last maps with `channelAxis` −1), as
 * PyTorch's `interpolate` with `align_corners=False`: `nearest` takes source index ⌊dst·in/out⌋,
 * `linear`/`bilinear` interpolate between half-pixel centres, `area` averages the covered source cells
 * (adaptive average pooling). The layout is kept.
 */
export async function interpolate<T>(b: Backend<T>, t: T, size: readonly number[], mode: InterpolateMode = 'nearest', channelAxis = 1): Promise<T> {
  const given = b.shape(t);
  const channel = given.length >= 3 && given.length <= 4 ? checkChannelAxis(channelAxis, given.length) : 1;
  const spatial = spatialAxes(given.length, channel).map((i) => given[i] as number);
  if (given.length < 3 || given.length > 4 || size.length !== spatial.length || !size.every((s) => Number.isInteger(s) && s > 0)) {
    throw new ArgumentError('interpolateDims', `${spatial.length} positive sizes for a tensor of shape [${given.join(', ')}] (3-D or 4-D)`, describeValue(size));
  }
  if (!INTERPOLATE_MODES.includes(mode)) throw new ArgumentError('interpolateMode', `one of ${INTERPOLATE_MODES.map((m) => `'${m}'`).join(', ')}`, describeValue(mode));
  if (mode === 'bilinear' && spatial.length !== 2) throw new ArgumentError('interpolateMode', "'bilinear' for 4-D tensors ('linear' for 3-D)", mode);
  if (mode === 'linear' && spatial.length !== 1) throw new ArgumentError('interpolateMode', "'linear' for 3-D tensors ('bilinear' for 4-D)", mode);
  const moved = moveAxis(Float64Array.from(await b.data(t), Number), given, channel, 1);
  const shape = moved.shape;
  const data = moved.data;
  const planes = (shape[0] as number) * (shape[1] as number);
  const [inH, inW] = spatial.length === 2 ? (spatial as [number, number]) : [1, spatial[0] as number];
  const [outH, outW] = size.length === 2 ? (size as [number, number]) : [1, size[0] as number];
  const out = new Float32Array(planes * outH * outW);
  const axis = (dst: number, inSize: number, outSize: number): { lo: number; hi: number; w: number } => {
    const src = Math.max(0, ((dst + 0.5) * inSize) / outSize - 0.5);
    const lo = Math.min(Math.floor(src), inSize - 1);
    const hi = Math.min(lo + 1, inSize - 1);
    return { lo, hi, w: src - lo };
  };
  for (let p = 0; p < planes; p++) {
    const base = p * inH * inW;
    for (let y = 0; y < outH; y++) {
      for (let x = 0; x < outW; x++) {
        let v: number;
        if (mode === 'nearest') {
          v = data[base + Math.min(Math.floor((y * inH) / outH), inH - 1) * inW + Math.min(Math.floor((x * inW) / outW), inW - 1)] as number;
        } else if (mode === 'area') {
          const y0 = Math.floor((y * inH) / outH);
          const y1 = Math.ceil(((y + 1) * inH) / outH);
          const x0 = Math.floor((x * inW) / outW);
          const x1 = Math.ceil(((x + 1) * inW) / outW);
          let s = 0;
          for (let yy = y0; yy < y1; yy++) for (let xx = x0; xx < x1; xx++) s += data[base + yy * inW + xx] as number;
          v = s / ((y1 - y0) * (x1 - x0));
        } else {
          const ay = outH === 1 && inH === 1 ? { lo: 0, hi: 0, w: 0 } : axis(y, inH, outH);
          const ax = axis(x, inW, outW);
          const at = (yy: number, xx: number): number => data[base + yy * inW + xx] as number;
          const top = at(ay.lo, ax.lo) * (1 - ax.w) + at(ay.lo, ax.hi) * ax.w;
          const bottom = at(ay.hi, ax.lo) * (1 - ax.w) + at(ay.hi, ax.hi) * ax.w;
          v = top * (1 - ay.w) + bottom * ay.w;
        }
        out[p * outH * outW + y * outW + x] = v;
      }
    }
  }
  const back = moveAxis(Float64Array.from(out), [shape[0] as number, shape[1] as number, ...size], 1, channel);
  return b.tensor(Float32Array.from(back.data), back.shape, 'float32');
}
