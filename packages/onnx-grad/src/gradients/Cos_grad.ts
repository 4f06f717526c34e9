import type { GradientRule } from './types.js';

/** y = cos(x): dx = −dy·sin(x). */
export const cosGrad: GradientRule = {
  inputs: [0],
  backward: (c) => [c.e.neg(c.e.mul(c.dy() as string, c.e.op('Sin', [c.input(0)])))],
};
