import type { GradientRule } from './types.js';

/** y = sinh(x): dx = dy·cosh(x). */
export const sinhGrad: GradientRule = {
  inputs: [0],
  backward: (c) => [c.e.mul(c.dy() as string, c.e.op('Cosh', [c.input(0)]))],
};
