import type { GradientRule } from './types.js';

/** y = sin(x): dx = dy·cos(x). */
export const sinGrad: GradientRule = {
  inputs: [0],
  backward: (c) => [c.e.mul(c.dy() as string, c.e.op('Cos', [c.input(0)]))],
};
