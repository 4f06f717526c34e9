import type { GradientRule } from './types.js';

/** y = x where x > α, else 0: dx = dy where x > α, else 0. */
export const thresholdedReluGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const { e } = c;
    const x = c.input(0);
    return [e.mask(c.dy() as string, e.op('Greater', [x, e.scalar(c.attrFloat('alpha', 1), x)]), x)];
  },
};
