import type { GradientRule } from './types.js';

/** y = a − b: da = sumTo(dy), db = −sumTo(dy). */
export const subGrad: GradientRule = {
  inputs: [0, 1],
  backward: (c) => {
    const dy = c.dy() as string;
    return [
      c.needs(0) ? c.e.sumTo(dy, c.output(0), c.input(0)) : undefined,
      c.needs(1) ? c.e.neg(c.e.sumTo(dy, c.output(0), c.input(1))) : undefined,
    ];
  },
};
