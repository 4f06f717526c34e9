import type { GradientRule } from './types.js';

/** y = max(0, x) + min(0, α(e^{x/α} − 1)): dx = dy where x > 0, else dy·e^{x/α} = dy·(y/α + 1). */
export const celuGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const { e } = c;
    const [x, y] = [c.input(0), c.output(0)];
    const alpha = c.attrFloat('alpha', 1);
    const positive = e.op('Greater', [x, e.scalar(0, x)]);
    const negative = e.add(e.div(y, e.scalar(alpha, x)), e.scalar(1, x));
    return [e.mul(c.dy() as string, e.op('Where', [positive, e.scalar(1, x), negative]))];
  },
};
