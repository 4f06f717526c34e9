import { convGeometry, transposedConv } from './conv-geometry.js';
import type { GradientRule } from './types.js';

/**
 * y = averagepool(x): each window spreads dy / (its element count) back over its positions — a transposed
 * convolution with a kernel of ones applied to every channel separately (channels folded into the batch).
 */
export const averagePoolGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const { e } = c;
    const [x, y] = [c.input(0), c.output(0)];
    const rank = c.rank(x);
    const kernel = c.attrInts('kernel_shape') ?? [];
    const g = convGeometry(c, kernel);
    const size = kernel.reduce((p, k) => p * k, 1);
    const dy = c.dy() as string;
    let scaled: string;
    if (c.attrInt('count_include_pad', 0) === 1 || g.pads.every((p) => p === 0)) scaled = e.mul(dy, e.scalar(1 / size, x));
    else {
      // Windows at the border average fewer elements: count them with the same pooling over ones.
      const ones = e.op('Add', [e.zerosLike(x), e.scalar(1, x)]);
      const share = e.op('AveragePool', [ones], { kernel_shape: kernel, strides: g.strides, pads: g.pads, count_include_pad: 1, ceil_mode: c.attrInt('ceil_mode', 0) });
      scaled = e.div(dy, e.mul(share, e.scalar(size, x)));
    }
    // Fold channels into the batch: [N, C, ...] -> [N·C, 1, ...], run one single-channel transposed conv.
    const spatial = e.slice(e.shape(y), e.ints([2]), e.ints([rank]), [0]);
    const folded = e.op('Reshape', [scaled, e.op('Concat', [e.ints([-1, 1]), spatial], { axis: 0 })]);
    const ones = e.constant(new Array<number>(size).fill(1), e.floatType(x), [1, 1, ...kernel]);
    const xSpatial = e.slice(e.shape(x), e.ints([2]), e.ints([rank]), [0]);
    const foldedX = e.op('Reshape', [x, e.op('Concat', [e.ints([-1, 1]), xSpatial], { axis: 0 })]);
    c.graph.meta.set(foldedX, { elemType: c.graph.info(x).elemType, shape: [1, 1, ...(c.shape(x)?.slice(2) ?? [])] });
    c.graph.meta.set(folded, { elemType: c.graph.info(x).elemType, shape: [1, 1, ...(c.shape(y)?.slice(2) ?? [])] });
    const spread = transposedConv(c, folded, ones, foldedX, folded, { ...g, dilations: g.dilations }, 1);
    return [e.reshapeLike(spread, x)];
  },
};
