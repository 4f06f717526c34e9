import { ArgumentError, describeValue, type Backend } from '@attribution/tensor';

/**
 * Grad-CAM from a layer's activations `A` (`[N, C, …]`) and the gradient `G` of the target with respect to
 * them: channel weights are `G` averaged over the dimensions after the channel (`G` itself for 2-D layers);
 * the map is `Σ_c weight_c · A_c` keeping a channel dimension of 1 (or `weight ⊙ A` per channel), optionally
 * passed through ReLU.
 */
export function gradCamMap<T>(b: Backend<T>, grads: T, acts: T, options: { readonly reluAttributions: boolean; readonly attrDimSummation: boolean }): T {
  return b.tidy(() => {
    const rank = b.shape(acts).length;
    const spatial = Array.from({ length: Math.max(0, rank - 2) }, (_, i) => i + 2);
    const weights = rank > 2 ? b.mean(grads, spatial, true) : grads;
    const weighted = b.mul(weights, acts);
    const map = options.attrDimSummation && rank > 1 ? b.sum(weighted, 1, true) : weighted;
    return options.reluAttributions ? b.maximum(map, 0) : map;
  });
}

/** Resampling modes of {@link interpolate}. */
export type InterpolateMode = 'nearest' | 'bilinear' | 'linear' | 'area';

/** Every {@link InterpolateMode}. */
export const INTERPOLATE_MODES: readonly InterpolateMode[] = ['nearest', 'linear', 'bilinear', 'area'];

/**
 * Resizes the dimensions after `[N, C]` of a 3- or 4-D tensor, as PyTorch's `interpolate` with
 * `align_corners=False`: `nearest` takes source index ⌊dst·in/out⌋, `linear`/`bilinear` interpolate between
 * half-pixel centres, `area` averages the covered source cells (adaptive average pooling).
 */
export async function interpolate<T>(b: Backend<T>, t: T, size: readonly number[], mode: InterpolateMode = 'nearest'): Promise<T> {
  const shape = b.shape(t);
  const spatial = shape.slice(2);
  if (shape.length < 3 || shape.length > 4 || size.length !== spatial.length || !size.every((s) => Number.isInteger(s) && s > 0)) {
    throw new ArgumentError('interpolateDims', `${spatial.length} positive sizes for a tensor of shape [${shape.join(', ')}] (3-D or 4-D)`, describeValue(size));
  }
  if (!INTERPOLATE_MODES.includes(mode)) throw new ArgumentError('interpolateMode', `one of ${INTERPOLATE_MODES.map((m) => `'${m}'`).join(', ')}`, describeValue(mode));
  if (mode === 'bilinear' && spatial.length !== 2) throw new ArgumentError('interpolateMode', "'bilinear' for 4-D tensors ('linear' for 3-D)", mode);
  if (mode === 'linear' && spatial.length !== 1) throw new ArgumentError('interpolateMode', "'linear' for 3-D tensors ('bilinear' for 4-D)", mode);
  const data = Float64Array.from(await b.data(t), Number);
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
  return b.tensor(out, [shape[0] as number, shape[1] as number, ...size], 'float32');
}
