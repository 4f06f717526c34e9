import type { Dim } from '../graph.js';
import type { AxisMap } from './axis-maps.js';

/**
 * Resize/Upsample geometry as ONNX Runtime computes it: output sizes from `scales` or `sizes` (with
 * `axes` and `keep_aspect_ratio_policy`), and the interpolation along each axis as a matrix. Resize's
 * nearest, linear, cubic and antialiased modes are separable: the output is the input multiplied by one
 * matrix per axis. Coordinates are computed in float32 arithmetic, as the runtime does, so that nearest
 * neighbours and interpolation weights come out the same.
 */

const f = Math.fround;

/** `std::round`: halfway cases away from zero. */
const roundHalfAway = (v: number): number => Math.sign(v) * Math.round(Math.abs(v));

/** How one Resize/Upsample node interpolates. */
export interface Interpolation {
  readonly mode: 'nearest' | 'linear' | 'cubic';
  readonly coordinate: string;
  /** `''`: the rounding of Upsample and Resize-10 (truncate, or ceil when downsampling). */
  readonly nearest: string;
  readonly cubicA: number;
  readonly excludeOutside: boolean;
  readonly antialias: boolean;
}

export const COORDINATE_MODES = ['half_pixel', 'half_pixel_symmetric', 'pytorch_half_pixel', 'align_corners', 'asymmetric', 'tf_half_pixel_for_nn', 'tf_crop_and_resize'];
export const NEAREST_MODES = ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'];

/** Normalised Resize axes (opset 18), or every axis. Returns undefined for an invalid list. */
export function resizeAxes(axes: readonly number[] | undefined, rank: number): number[] | undefined {
  if (!axes || axes.length === 0) return Array.from({ length: rank }, (_, i) => i);
  const out = axes.map((a) => (a < 0 ? a + rank : a));
  if (!out.every((a) => Number.isInteger(a) && a >= 0 && a < rank) || new Set(out).size !== out.length) return undefined;
  return out;
}

/**
 * Per-axis scales (float32) and output sizes, as ONNX Runtime derives them: from `scales`, `size =
 * trunc(scale · in)`; from `sizes`, `scale = size / in`, and with `keep_aspect_ratio_policy` not_larger
 * (not_smaller) one scale, the smallest (largest) ratio, for every listed axis and `size = round(scale · in)`.
 * Input dims may be symbols where the result does not depend on them (scale 1, or a `sizes` entry).
 * Throws (a string) when the inputs are inconsistent.
 */
export function resizeScales(
  inDims: readonly Dim[],
  scales: readonly number[] | undefined,
  sizes: readonly number[] | undefined,
  axes: readonly number[],
  policy: string,
): { scales: (number | undefined)[]; out: (Dim | undefined)[] } {
  const rank = inDims.length;
  const outScales: (number | undefined)[] = new Array<number | undefined>(rank).fill(1);
  const out: (Dim | undefined)[] = [...inDims];
  if (scales && scales.length > 0) {
    if (scales.length !== axes.length) throw `${scales.length} scales for ${axes.length} axes`;
    axes.forEach((a, k) => {
      const s = f(scales[k] as number);
      if (!(s > 0) || !Number.isFinite(s)) throw `scale ${scales[k]} (scales must be positive)`;
      outScales[a] = s;
      const d = inDims[a];
      out[a] = s === 1 ? d : typeof d === 'number' ? Math.trunc(f(s * d)) : undefined;
    });
    return { scales: outScales, out };
  }
  if (!sizes || sizes.length === 0) throw 'neither scales nor sizes';
  if (sizes.length !== axes.length) throw `${sizes.length} sizes for ${axes.length} axes`;
  axes.forEach((a, k) => {
    const size = sizes[k] as number;
    if (!Number.isSafeInteger(size) || size < 0) throw `size ${size}`;
    const d = inDims[a];
    out[a] = size;
    outScales[a] = typeof d === 'number' ? (d === 0 ? 1 : f(size / d)) : undefined;
  });
  if (policy === 'not_larger' || policy === 'not_smaller') {
    const listed = axes.map((a) => outScales[a]);
    if (listed.some((s) => s === undefined)) {
      for (const a of axes) {
        outScales[a] = undefined;
        out[a] = undefined;
      }
      return { scales: outScales, out };
    }
    const pick = policy === 'not_larger' ? Math.min : Math.max;
    const s = pick(...(listed as number[]));
    for (const a of axes) {
      outScales[a] = s;
      out[a] = roundHalfAway(f(s * (inDims[a] as number)));
    }
  } else if (policy !== 'stretch') {
    throw `keep_aspect_ratio_policy '${policy}'`;
  }
  return { scales: outScales, out };
}

/** The input coordinate of output position `x` along one axis (`x_original` of the ONNX spec). */
function originalCoordinate(mode: string, x: number, scale: number, lengthResized: number, lengthOriginal: number, roiStart: number, roiEnd: number): number {
  switch (mode) {
    case 'asymmetric':
      return f(x / scale);
    case 'pytorch_half_pixel':
      return lengthResized > 1 ? f(f(f(x + 0.5) / scale) - 0.5) : 0;
    case 'tf_half_pixel_for_nn':
      return f(f(x + 0.5) / scale);
    case 'align_corners':
      return lengthResized === 1 ? 0 : f(f(x * f(lengthOriginal - 1)) / f(lengthResized - 1));
    case 'tf_crop_and_resize':
      return lengthResized > 1
        ? f(f(roiStart * f(lengthOriginal - 1)) + f(f(f(x * f(roiEnd - roiStart)) * f(lengthOriginal - 1)) / f(lengthResized - 1)))
        : f(0.5 * f(roiStart + roiEnd) * (lengthOriginal - 1));
    case 'half_pixel_symmetric': {
      const adjustment = f(lengthResized / f(scale * lengthOriginal));
      const offset = f(f(lengthOriginal / 2) * f(1 - adjustment));
      return f(offset + (x + 0.5) / scale - 0.5);
    }
    default:
      return f(f(f(x + 0.5) / scale) - 0.5);
  }
}

function nearestPixel(mode: string, x: number, downsample: boolean): number {
  switch (mode) {
    case '':
      return downsample ? Math.ceil(x) : Math.trunc(x);
    case 'round_prefer_ceil':
      return roundHalfAway(x);
    case 'floor':
      return Math.floor(x);
    case 'ceil':
      return Math.ceil(x);
    default:
      return x === f(Math.trunc(x) + 0.5) ? Math.floor(x) : roundHalfAway(x);
  }
}

/** Keys' cubic convolution weights of the four taps around a point at fraction `s`. */
function cubicCoefficients(s: number, a: number): number[] {
  const t = Math.abs(s);
  return [
    f(((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a),
    f(((a + 2) * t - (a + 3)) * t * t + 1),
    f(((a + 2) * (1 - t) - (a + 3)) * (1 - t) * (1 - t) + 1),
    f(((a * (2 - t) - 5 * a) * (2 - t) + 8 * a) * (2 - t) - 4 * a),
  ];
}

/** The antialiasing filters (Pillow's, as ONNX Runtime uses them). */
function antialiasFilter(mode: 'linear' | 'cubic', a: number): (x: number) => number {
  if (mode === 'linear') return (x) => (Math.abs(x) < 1 ? f(1 - Math.abs(x)) : 0);
  return (x0) => {
    const x = Math.abs(x0);
    if (x < 1) return f(f(f(f(f(a + 2) * x) - f(a + 3)) * x * x) + 1);
    if (x < 2) return f(f(f(f(f(x - 5) * x) + 8) * x) - 4) * a;
    return 0;
  };
}

/**
 * The interpolation matrix of one axis (`outSize × inSize`), or undefined when the axis is copied as is.
 * `rank` is the rank of the resized tensor (ONNX Runtime maps nearest neighbours of rank-1 tensors
 * through the coordinate transform even at scale 1).
 */
export function interpolationMatrix(
  p: Interpolation,
  axis: number,
  inSize: number,
  outSize: number,
  scale: number,
  roi: readonly [number, number],
  rank: number,
): AxisMap | undefined {
  const identity = scale === 1 && (p.mode !== 'nearest' || rank > 1) && inSize === outSize;
  if (identity) return undefined;
  const w = new Float64Array(outSize * inSize);
  const extrapolate = p.coordinate === 'tf_crop_and_resize';
  const outside = (x: number): boolean => extrapolate && (x < 0 || x > inSize - 1);
  const coordinate = (j: number): number => originalCoordinate(p.coordinate, j, scale, outSize, inSize, f(roi[0]), f(roi[1]));
  const clampIndex = (i: number): number => Math.min(Math.max(i, 0), inSize - 1);
  for (let j = 0; j < outSize; j++) {
    const row = j * inSize;
    if (p.antialias && p.mode !== 'nearest') {
      antialiasRow(p, w, row, j, inSize, scale, coordinate);
      continue;
    }
    if (p.mode === 'nearest') {
      const x = scale === 1 && rank > 1 ? j : coordinate(j);
      if (outside(x)) continue;
      w[row + clampIndex(nearestPixel(p.nearest, x, scale < 1))] = 1;
    } else if (p.mode === 'linear') {
      const x0 = scale === 1 ? j : coordinate(j);
      if (outside(x0)) continue;
      const x = Math.max(0, Math.min(x0, inSize - 1));
      const x1 = Math.min(Math.trunc(x), inSize - 1);
      const x2 = Math.min(x1 + 1, inSize - 1);
      if (x1 === x2) w[row + x1] = (w[row + x1] as number) + 1;
      else {
        w[row + x1] = (w[row + x1] as number) + f(Math.abs(x - x2));
        w[row + x2] = (w[row + x2] as number) + f(Math.abs(x - x1));
      }
    } else {
      const x = scale === 1 ? j : coordinate(j);
      if (outside(x)) continue;
      const xi = Math.floor(x);
      const coeffs = cubicCoefficients(f(x - xi), p.cubicA);
      const taps = coeffs.map((cf, t) => ({ at: xi - 1 + t, cf }));
      if (p.excludeOutside) {
        const inside = taps.filter((t) => t.at >= 0 && t.at < inSize);
        const sum = inside.reduce((s, t) => f(s + t.cf), 0);
        for (const t of inside) w[row + t.at] = (w[row + t.at] as number) + t.cf / sum;
      } else {
        for (const t of taps) w[row + clampIndex(t.at)] = (w[row + clampIndex(t.at)] as number) + t.cf;
      }
    }
  }
  return { axis, inSize, outSize, weights: w };
}

/**
 * One row of an antialiased (Pillow-style) linear or cubic filter, as ONNX Runtime builds it: the filter
 * stretched by 1/scale when downsampling, taps beyond the input folded onto the first and last input
 * (or dropped with exclude_outside), normalised to sum 1.
 */
function antialiasRow(
  p: Interpolation,
  w: Float64Array,
  row: number,
  i: number,
  inSize: number,
  rscale: number,
  coordinate: (j: number) => number,
): void {
  const filter = antialiasFilter(p.mode as 'linear' | 'cubic', p.cubicA);
  const supportSize = p.mode === 'cubic' ? 4 : 2;
  const scale = f(1 / rscale);
  const support = scale >= 1 ? f(supportSize * 0.5 * scale) : supportSize * 0.5;
  const inv = scale >= 1 ? f(1 / scale) : 1;
  const center = f(0.5 + (scale === 1 ? i : coordinate(i)));
  const xminReal = Math.floor(f(center - support) + 0.5);
  const xmaxReal = Math.floor(f(center + support) + 0.5);
  const xminCut = Math.max(xminReal, 0);
  const xmaxCut = Math.min(xmaxReal, inSize);
  const xmin = p.excludeOutside ? xminCut : xminReal;
  const count = (p.excludeOutside ? xmaxCut : xmaxReal) - xmin;
  const ws: number[] = [];
  let total = 0;
  for (let x = 0; x < count; x++) {
    const v = filter(f(f(f(x + xmin) - center) + 0.5) * inv);
    ws.push(v);
    total = f(total + v);
  }
  if (!p.excludeOutside) {
    // Taps before the start and past the end are folded onto the first and last input.
    const before = xmin < 0 ? -xmin : 0;
    for (let x = 0; x < before; x++) ws[before] = f((ws[before] as number) + (ws[x] as number));
    const after = xmaxReal > inSize ? xmaxReal - inSize : 0;
    for (let x = count - after; x < count; x++) ws[count - after - 1] = f((ws[count - after - 1] as number) + (ws[x] as number));
    if (before > 0 || after > 0) for (let x = 0; x < xmaxCut - xminCut; x++) ws[x] = ws[x + before] as number;
  }
  for (let x = 0; x < xmaxCut - xminCut; x++) {
    const v = total !== 0 && total !== 1 ? (ws[x] as number) / total : (ws[x] as number);
    w[row + xminCut + x] = (w[row + xminCut + x] as number) + v;
  }
}
