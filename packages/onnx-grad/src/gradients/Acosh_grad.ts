import type { GradientRule } from './types.js';

/** y = arcosh(x) (x > 1): dx = dy/√(x² − 1). */
export const acoshGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const { e } = c;
    const x = c.input(0);
    return [e.div(c.dy() as string, e.op('Sqrt', [e.sub(e.mul(x, x), e.scalar(1, x))]))];
  },
};
