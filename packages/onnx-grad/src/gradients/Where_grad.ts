import type { GradientRule } from './types.js';

/** y = where(cond, a, b): da = sumTo(where(cond, dy, 0)), db = sumTo(where(cond, 0, dy)). */
export const whereGrad: GradientRule = {
  inputs: [1, 2],
  backward: (c) => {
    const { e } = c;
    const [cond, a, b, y] = [c.input(0), c.input(1), c.input(2), c.output(0)];
    const dy = c.dy() as string;
    const zero = e.scalar(0, y);
    return [
      undefined,
      c.needs(1) ? e.sumTo(e.op('Where', [cond, dy, zero]), y, a) : undefined,
      c.needs(2) ? e.sumTo(e.op('Where', [cond, zero, dy]), y, b) : undefined,
    ];
  },
};
