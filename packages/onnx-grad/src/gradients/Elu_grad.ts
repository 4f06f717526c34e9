import type { GradientRule } from './types.js';

/** y = x if x > 0 else α(eˣ − 1): dx = dy where x > 0, else dy · (y + α). */
export const eluGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const { e } = c;
    const [x, y] = [c.input(0), c.output(0)];
    const alpha = c.attrFloat('alpha', 1);
    const positive = e.op('Greater', [x, e.scalar(0, x)]);
    return [e.mul(c.dy() as string, e.op('Where', [positive, e.scalar(1, x), e.add(y, e.scalar(alpha, x))]))];
  },
};
