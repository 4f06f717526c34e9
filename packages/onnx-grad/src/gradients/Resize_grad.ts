import { InvalidModelError } from '../errors.js';
import { Graph, type Dim } from '../graph.js';
import { applyTransposedMaps, MAX_AXIS_MAP, type AxisMap } from './axis-maps.js';
import { COORDINATE_MODES, NEAREST_MODES, interpolationMatrix, resizeAxes, resizeScales, type Interpolation } from './resize-geometry.js';
import type { GradContext, GradientRule } from './types.js';

/** Where a Resize/Upsample node takes its output geometry from. */
export interface ResizeRequest {
  readonly scales?: readonly number[];
  readonly sizes?: readonly number[];
  /** Normalised axes the scales, sizes and roi refer to. */
  readonly axes: readonly number[];
  readonly policy: string;
  /** `[starts…, ends…]` over `axes` (tf_crop_and_resize). */
  readonly roi?: readonly number[];
}

/**
 * The input gradient of a separable resampling y = x ×₁ A₁ ×₂ A₂ … (one interpolation matrix per resized
 * axis): dx = dy ×₁ A₁ᵀ ×₂ A₂ᵀ …, with the matrices computed from the static sizes of the resized axes.
 */
export function resizeBackward(c: GradContext, p: Interpolation, r: ResizeRequest): string {
  const x = c.input(0);
  const xs = c.shape(x);
  if (!xs) return c.unsupported('the rank of the input is unknown');
  const rank = xs.length;
  const invalid = (what: string): never => {
    throw new InvalidModelError(`Node '${Graph.label(c.node)}' (${c.node.opType}) has ${what}.`);
  };
  let geometry: ReturnType<typeof resizeScales>;
  try {
    geometry = resizeScales(xs, r.scales, r.sizes, r.axes, r.policy);
  } catch (e) {
    if (typeof e === 'string') return invalid(`an invalid output geometry: ${e}`);
    throw e;
  }
  if (p.antialias && p.coordinate === 'tf_crop_and_resize') {
    // ONNX Runtime's antialiased kernels test the extrapolation range inconsistently between passes.
    return c.unsupported('antialias with coordinate_transformation_mode tf_crop_and_resize');
  }
  if (p.coordinate === 'tf_crop_and_resize' && (!r.roi || r.roi.length !== 2 * r.axes.length)) {
    if (!r.roi) return c.unsupported('tf_crop_and_resize with an roi computed at run time');
    return invalid(`an roi of ${r.roi.length} values for ${r.axes.length} axes`);
  }
  // ONNX Runtime copies the input when no dimension changes (even when an roi is given).
  if (geometry.out.every((d, i) => d !== undefined && d === xs[i])) return c.dy() as string;
  const maps: AxisMap[] = [];
  const outShape: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const d = xs[i] as Dim;
    const o = geometry.out[i];
    const s = geometry.scales[i];
    const k = r.axes.indexOf(i);
    const roi: [number, number] = r.roi && k >= 0 ? [r.roi[k] as number, r.roi[k + r.axes.length] as number] : [0, 1];
    const copied = s === 1 && (p.mode !== 'nearest' || rank > 1) && o === d;
    if (copied) {
      outShape.push(d);
      continue;
    }
    if (typeof d !== 'number' || typeof o !== 'number' || s === undefined) {
      return c.unsupported(`resizing axis ${i} needs its input and output sizes before run time (got ${d} → ${o ?? '?'})`);
    }
    if (d * o > MAX_AXIS_MAP) return c.unsupported(`an interpolation matrix of ${o}×${d} along axis ${i} is too large`);
    outShape.push(o);
    const m = d === 0 || o === 0 ? undefined : interpolationMatrix(p, i, d, o, s, roi, rank);
    if (m) maps.push(m);
  }
  return applyTransposedMaps(c, c.dy() as string, outShape, maps, x);
}

/** Reads and checks the interpolation attributes of a Resize (or, with `legacy`, Upsample / Resize-10) node. */
export function interpolationOf(c: GradContext, legacy: boolean): Interpolation {
  const invalid = (what: string, value: string): never => {
    throw new InvalidModelError(`Node '${Graph.label(c.node)}' (${c.node.opType}) has an invalid ${what}: '${value}'.`);
  };
  const mode = c.attrString('mode', 'nearest');
  if (mode !== 'nearest' && mode !== 'linear' && mode !== 'cubic') return invalid('mode', mode);
  const coordinate = legacy ? 'asymmetric' : c.attrString('coordinate_transformation_mode', 'half_pixel');
  if (!COORDINATE_MODES.includes(coordinate)) return invalid('coordinate_transformation_mode', coordinate);
  const nearest = legacy ? '' : c.attrString('nearest_mode', 'round_prefer_floor');
  if (!legacy && !NEAREST_MODES.includes(nearest)) return invalid('nearest_mode', nearest);
  const antialias = !legacy && c.opset >= 18 && c.attrInt('antialias', 0) !== 0 && mode !== 'nearest';
  return {
    mode,
    coordinate,
    nearest,
    cubicA: c.attrFloat('cubic_coeff_a', -0.75),
    excludeOutside: c.attrInt('exclude_outside', 0) !== 0,
    antialias,
  };
}

/**
 * y = resize(x) (Resize-10 to 19): nearest (every nearest_mode), linear (bi-/trilinear) and cubic
 * interpolation, with or without antialiasing, under every coordinate_transformation_mode
 * (tf_crop_and_resize included, where outputs outside the roi take the constant extrapolation value and
 * pass no gradient), from `scales` or `sizes` with `axes` and `keep_aspect_ratio_policy`. Each is a
 * separable linear map y = x ×₁ A₁ ×₂ A₂ …, so dx = dy ×₁ A₁ᵀ ×₂ A₂ᵀ …: one MatMul per resized axis with a
 * constant matrix computed as ONNX Runtime computes the forward interpolation (integer nearest upsampling
 * becomes a Reshape and ReduceSum). The resized axes need static sizes and constant scales/sizes/roi.
 */
export const resizeGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const x = c.input(0);
    const rank = c.rank(x);
    const legacy = c.opset < 11;
    const p = interpolationOf(c, legacy);
    const read = (i: number, what: string): number[] | undefined => {
      if (!c.input(i)) return undefined;
      const v = c.constant(i);
      if (!v) return c.unsupported(`${what} computed at run time`);
      return v;
    };
    const scales = read(legacy ? 1 : 2, 'scales');
    const sizes = legacy ? undefined : read(3, 'sizes');
    const axes = resizeAxes(c.opset >= 18 ? c.attrInts('axes') : undefined, rank);
    if (!axes) throw new InvalidModelError(`Node '${Graph.label(c.node)}' (Resize) has invalid axes [${c.attrInts('axes')?.join(', ')}].`);
    const policy = c.opset >= 18 ? c.attrString('keep_aspect_ratio_policy', 'stretch') : 'stretch';
    if (policy !== 'stretch' && c.attrInts('axes')?.some((a) => a < 0)) {
      // ONNX Runtime leaves negative axes out of the aspect-ratio policy (they keep their size).
      return c.unsupported(`keep_aspect_ratio_policy ${policy} with negative axes`);
    }
    // Without an roi, tf_crop_and_resize takes the whole input ([0, 1] along every axis).
    const roi = !legacy && p.coordinate === 'tf_crop_and_resize'
      ? (read(1, 'roi') ?? [...axes.map(() => 0), ...axes.map(() => 1)])
      : undefined;
    return [resizeBackward(c, p, { scales: scales && scales.length > 0 ? scales : undefined, sizes, axes, policy, roi })];
  },
};
