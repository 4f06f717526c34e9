import type { GradientRule } from './types.js';

/** y = ln(1 + eˣ): dx = dy · σ(x). */
export const softplusGrad: GradientRule = {
  inputs: [0],
  backward: (c) => [c.e.mul(c.dy() as string, c.e.op('Sigmoid', [c.input(0)]))],
};
