import type { GradientRule } from './types.js';

/** y = |x|: dx = dy·sign(x) (0 at x = 0, as PyTorch). */
export const absGrad: GradientRule = {
  inputs: [0],
  backward: (c) => [c.e.mul(c.dy() as string, c.e.op('Sign', [c.input(0)]))],
};
