import type { GradientRule } from './types.js';

/** y = 1/x: dx = −dy·y². */
export const reciprocalGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const y = c.output(0);
    return [c.e.neg(c.e.mul(c.dy() as string, c.e.mul(y, y)))];
  },
};
