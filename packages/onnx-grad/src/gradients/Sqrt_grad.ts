import type { GradientRule } from './types.js';

/** y = √x: dx = dy / (2y). */
export const sqrtGrad: GradientRule = {
  inputs: [0],
  backward: (c) => [c.e.div(c.dy() as string, c.e.mul(c.output(0), c.e.scalar(2, c.output(0))))],
};
