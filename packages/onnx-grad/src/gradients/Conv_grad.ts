import { convGeometry, transposedConv } from './conv-geometry.js';
import type { GradientRule } from './types.js';

/**
 * y = conv(x, W) + B: dx = convTranspose(dy, W) with the same strides, pads, dilations and groups (grouped
 * and depthwise convolutions included). Only the input receives a gradient.
 */
export const convGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const [x, w, y] = [c.input(0), c.input(1), c.output(0)];
    const ws = c.shape(w);
    const kernel = c.attrInts('kernel_shape') ?? ws?.slice(2).map((d) => (typeof d === 'number' ? d : NaN));
    if (!kernel || kernel.some(Number.isNaN)) return c.unsupported('the kernel size is unknown before run time');
    const g = convGeometry(c, kernel);
    return [transposedConv(c, c.dy() as string, w, x, y, g, c.attrInt('group', 1))];
  },
};
