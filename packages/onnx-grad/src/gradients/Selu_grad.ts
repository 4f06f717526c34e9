import type { GradientRule } from './types.js';

/** y = γx where x > 0, else γα(eˣ − 1): dx = dy·γ where x > 0, else dy·(y + γα). */
export const seluGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const { e } = c;
    const [x, y] = [c.input(0), c.output(0)];
    const alpha = c.attrFloat('alpha', 1.67326319217681884765625);
    const gamma = c.attrFloat('gamma', 1.05070102214813232421875);
    const positive = e.op('Greater', [x, e.scalar(0, x)]);
    return [e.mul(c.dy() as string, e.op('Where', [positive, e.scalar(gamma, x), e.add(y, e.scalar(gamma * alpha, x))]))];
  },
};
