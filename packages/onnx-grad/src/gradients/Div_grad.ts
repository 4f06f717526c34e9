import type { GradientRule } from './types.js';

/** y = a / b: da = sumTo(dy / b), db = −sumTo(dy · y / b). */
export const divGrad: GradientRule = {
  inputs: [0, 1],
  backward: (c) => {
    const dy = c.dy() as string;
    const [a, b, y] = [c.input(0), c.input(1), c.output(0)];
    const da = c.needs(0) ? c.e.sumTo(c.e.div(dy, b), y, a) : undefined;
    const db = c.needs(1) ? c.e.neg(c.e.sumTo(c.e.div(c.e.mul(dy, y), b), y, b)) : undefined;
    return [da, db];
  },
};
