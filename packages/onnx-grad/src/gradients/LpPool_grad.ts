import type { Dim } from '../graph.js';
import { convGeometry, transposedConv } from './conv-geometry.js';
import { lpExponent, lpOuter, lpSlope } from './lp-pool.js';
import type { GradientRule } from './types.js';

/**
 * LpPool (opsets 11, 18; 1-D, 2-D, 3-D; pads, auto_pad, strides, and from opset 18 dilations and ceil_mode):
 * each window gives y = (Σ_window |x|ᵖ)^(1/p), padding contributing nothing. A position takes from every
 * window covering it:
 *
 *   dx = sign(x)·|x|^(p−1) · Σ_{windows ∋ x} dy·y^(1−p),
 *
 * the sum over windows being a transposed convolution with a kernel of ones applied to each channel
 * separately (channels folded into the batch), undoing strides, dilations and pads.
 */
export const lpPoolGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const { e } = c;
    const [x, y] = [c.input(0), c.output(0)];
    const p = lpExponent(c);
    const rank = c.rank(x);
    const kernel = c.attrInts('kernel_shape') ?? [];
    const g = convGeometry(c, kernel, true);
    const n = kernel.length;
    const size = kernel.reduce((a, k) => a * k, 1);
    const dy = c.dy() as string;
    // ONNX's static shape of a ceil_mode LpPool can exceed the kernel's output (which the shapes inferred here
    // follow): y is read with dy's run-time shape, so that ONNX Runtime's static inference sees no conflict.
    const yRun = c.attrInt('ceil_mode', 0) === 1 && p !== 1 ? e.op('Reshape', [y, e.shape(dy)]) : y;
    const outer = lpOuter(e, dy, yRun, p);
    const numeric = (dims: Dim[] | undefined): dims is number[] => dims !== undefined && dims.length === n && dims.every((d): d is number => typeof d === 'number');
    const xSpatial = c.shape(x)?.slice(2);
    const ySpatial = c.shape(y)?.slice(2);
    // [N, C, ...] -> [N·C, 1, ...]: one single-channel transposed convolution for every channel.
    const foldedShape = (t: string, dims: Dim[] | undefined): string =>
      numeric(dims) ? e.ints([-1, 1, ...dims]) : e.op('Concat', [e.ints([-1, 1]), e.slice(e.shape(t), e.ints([2]), e.ints([rank]), [0])], { axis: 0 });
    const folded = e.op('Reshape', [outer, foldedShape(y, ySpatial)]);
    const foldedX = e.op('Reshape', [x, foldedShape(x, xSpatial)]);
    const type = c.graph.info(x).elemType;
    c.graph.meta.set(foldedX, { elemType: type, shape: [c.graph.fresh(), 1, ...(xSpatial ?? [])] });
    c.graph.meta.set(folded, { elemType: type, shape: [c.graph.fresh(), 1, ...(ySpatial ?? [])] });
    const ones = e.constant(new Array<number>(size).fill(1), e.floatType(x), [1, 1, ...kernel]);
    const spread = e.reshapeLike(transposedConv(c, folded, ones, foldedX, folded, g, 1), x);
    return [e.mul(lpSlope(e, x, p), spread)];
  },
};
