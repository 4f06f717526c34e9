import { InvalidModelError } from '../errors.js';
import { Graph } from '../graph.js';
import { convTransposeAxis } from './conv-geometry.js';
import type { GradientRule } from './types.js';

const MAX_WINDOW = 1 << 20;

/**
 * y = convTranspose(x, W) + B, with y[i·s + k·d − p] += x[i] · W[k] (per group, W shaped [C, M/group, k…]):
 * its adjoint is the convolution dx = conv(dy, W) with the same strides, dilations and groups and the same
 * leading pads p (the weights need no flip or transpose: Conv reads W as [C outputs, M/group inputs]).
 * The pads are those ONNX Runtime uses: the attribute, or from `auto_pad` SAME_* (total
 * max(0, adj + (k−1)·d + 1 − s), the odd one at the start for SAME_UPPER) or from `output_shape` (total
 * (in−1)·s + adj + (k−1)·d + 1 − out). The end pad of the convolution is chosen so that it yields exactly
 * the input's length (sliced when output_padding leaves more). 1-D, 2-D and 3-D; weights may be run-time
 * tensors, spatial sizes symbolic unless `output_shape` is given. Only the input receives a gradient.
 */
export const convTransposeGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const { e } = c;
    const [x, w] = [c.input(0), c.input(1)];
    const label = `Node '${Graph.label(c.node)}' (ConvTranspose)`;
    const ws = c.shape(w);
    const kernel = c.attrInts('kernel_shape') ?? ws?.slice(2).map((d) => (typeof d === 'number' ? d : NaN));
    if (!kernel || kernel.some(Number.isNaN)) return c.unsupported('the kernel size is unknown before run time');
    const n = kernel.length;
    const ones = new Array<number>(n).fill(1);
    const strides = c.attrInts('strides') ?? ones;
    const dilations = c.attrInts('dilations') ?? ones;
    const adj = c.attrInts('output_padding') ?? new Array<number>(n).fill(0);
    const group = c.attrInt('group', 1);
    const pads = c.attrInts('pads') ?? new Array<number>(2 * n).fill(0);
    const autoPad = c.attrString('auto_pad', 'NOTSET');
    const within = (v: number, lo: number): boolean => Number.isSafeInteger(v) && v >= lo && v <= MAX_WINDOW;
    const check = (what: string, v: readonly number[], len: number, lo: number): void => {
      if (v.length !== len || !v.every((k) => within(k, lo))) throw new InvalidModelError(`${label} has an invalid ${what}: [${v.join(', ')}].`);
    };
    check('kernel_shape', kernel, n, 1);
    check('strides', strides, n, 1);
    check('dilations', dilations, n, 1);
    check('output_padding', adj, n, 0);
    check('pads', pads, 2 * n, 0);
    if (!within(group, 1)) throw new InvalidModelError(`${label} has an invalid group ${group}.`);
    const xs = c.shape(x);
    if (autoPad !== 'NOTSET' && autoPad !== 'VALID' && autoPad !== 'SAME_UPPER' && autoPad !== 'SAME_LOWER') {
      throw new InvalidModelError(`${label} has an invalid auto_pad '${autoPad}'.`);
    }
    const outputShape = c.attrInts('output_shape');
    const given = outputShape && outputShape.length > 0 ? (outputShape.length === n + 2 ? outputShape.slice(2) : outputShape) : undefined;
    if (given) check('output_shape', given, n, 0);
    const extent = (i: number): number => (dilations[i] as number) * ((kernel[i] as number) - 1) + 1;
    // Conv end pads: with tail t' the convolution yields ⌊(out + head + t' − extent) / s⌋ + 1 positions, which
    // is the input length for t' = tail − adj; a larger output_padding is cut off by a slice.
    const convPads = new Array<number>(2 * n).fill(0);
    let slice = false;
    for (let i = 0; i < n; i++) {
      const d = xs?.[i + 2];
      const s = strides[i] as number;
      const axis = convTransposeAxis(typeof d === 'number' ? d : undefined, kernel[i] as number, s, dilations[i] as number, adj[i] as number, autoPad, [pads[i] as number, pads[i + n] as number], given?.[i]);
      if (axis.head === undefined || axis.tail === undefined) return c.unsupported('output_shape with a spatial input size unknown before run time');
      convPads[i] = axis.head;
      if (typeof d === 'number' && axis.out !== undefined) {
        const tail = Math.max(0, (d - 1) * s + extent(i) - axis.head - axis.out);
        convPads[i + n] = tail;
        if (Math.floor((axis.out + axis.head + tail - extent(i)) / s) + 1 !== d) slice = true;
      } else {
        const tail = axis.tail - (adj[i] as number);
        convPads[i + n] = Math.max(0, tail);
        if (tail < 0) slice = true;
      }
    }
    let dx = e.op('Conv', [c.dy() as string, w], { kernel_shape: kernel, strides, dilations, group, pads: convPads });
    if (slice) {
      const rank = n + 2;
      const spatial = Array.from({ length: n }, (_, i) => i + 2);
      const sizes = xs?.slice(2);
      const ends = sizes && sizes.every((d): d is number => typeof d === 'number') ? e.ints(sizes) : e.slice(e.shape(x), e.ints([2]), e.ints([rank]), [0]);
      dx = e.slice(dx, e.ints(new Array<number>(n).fill(0)), ends, spatial);
    }
    return [dx];
  },
};
