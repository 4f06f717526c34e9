import type { GradientRule } from './types.js';

/** y = max(x, 0): dx = dy where y > 0, else 0 (PyTorch's convention at 0). */
export const reluGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const { e } = c;
    const y = c.output(0);
    return [e.mask(c.dy() as string, e.op('Greater', [y, e.scalar(0, y)]), y)];
  },
};
