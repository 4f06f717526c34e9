import type { GradientRule } from './types.js';

/** y = erf(x): dx = dy · 2/√π · exp(−x²). */
export const erfGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const { e } = c;
    const x = c.input(0);
    const gauss = e.op('Exp', [e.neg(e.mul(x, x))]);
    return [e.mul(c.dy() as string, e.mul(gauss, e.scalar(2 / Math.sqrt(Math.PI), x)))];
  },
};
