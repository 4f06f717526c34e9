import type { GradientRule } from './types.js';

/** y = a · b: da = sumTo(dy · b), db = sumTo(dy · a). */
export const mulGrad: GradientRule = {
  inputs: [0, 1],
  backward: (c) => {
    const dy = c.dy() as string;
    const [a, b] = [c.input(0), c.input(1)];
    return [
      c.needs(0) ? c.e.sumTo(c.e.mul(dy, b), c.output(0), a) : undefined,
      c.needs(1) ? c.e.sumTo(c.e.mul(dy, a), c.output(0), b) : undefined,
    ];
  },
};
