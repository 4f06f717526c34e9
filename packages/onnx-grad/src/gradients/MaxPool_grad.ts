import { convGeometry } from './conv-geometry.js';
import type { GradientRule } from './types.js';

/**
 * y = maxpool(x): dy is routed to the arg-max position of each window. The indices come from a MaxPool
 * with the same attributes that also returns them; dy is scattered into zeros shaped like x
 * (ScatterElements, with reduction "add" — opset 16 — when windows overlap).
 */
export const maxPoolGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const { e } = c;
    const x = c.input(0);
    if (c.attrInt('storage_order', 0) !== 0) c.unsupported('storage_order 1');
    const kernel = c.attrInts('kernel_shape') ?? [];
    const g = convGeometry(c, kernel);
    const overlapping = kernel.some((k, i) => (g.strides[i] as number) < (g.dilations[i] as number) * (k - 1) + 1);
    if (overlapping && c.opset < 16) c.unsupported('overlapping windows need ScatterElements with reduction (opset ≥ 16)');
    const [, indices] = e.opN('MaxPool', [x], 2, {
      kernel_shape: kernel,
      strides: g.strides,
      pads: g.pads,
      dilations: c.attrInts('dilations'),
      ceil_mode: c.attrInt('ceil_mode', 0),
    });
    const flat = e.ints([-1]);
    const zeros = e.op('Reshape', [e.zerosLike(x), flat]);
    const scattered = e.op('ScatterElements', [zeros, e.op('Reshape', [indices as string, flat]), e.op('Reshape', [c.dy() as string, flat])], {
      axis: 0,
      reduction: overlapping ? 'add' : undefined,
    });
    return [e.reshapeLike(scattered, x)];
  },
};
