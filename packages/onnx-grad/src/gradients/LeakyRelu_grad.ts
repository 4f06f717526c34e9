import type { GradientRule } from './types.js';

/** y = x if x > 0 else αx: dx = dy · (1 where x > 0, else α). */
export const leakyReluGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const { e } = c;
    const x = c.input(0);
    const alpha = c.attrFloat('alpha', 0.01);
    const positive = e.op('Cast', [e.op('Greater', [x, e.scalar(0, x)])], { to: e.floatType(x) });
    const slope = e.add(e.mul(positive, e.scalar(1 - alpha, x)), e.scalar(alpha, x));
    return [e.mul(c.dy() as string, slope)];
  },
};
