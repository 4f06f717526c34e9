import type { GradientRule } from './types.js';

/** y = cosh(x): dx = dy·sinh(x). */
export const coshGrad: GradientRule = {
  inputs: [0],
  backward: (c) => [c.e.mul(c.dy() as string, c.e.op('Sinh', [c.input(0)]))],
};
