import type { GradientRule } from './types.js';

/** y = arsinh(x): dx = dy/√(x² + 1). */
export const asinhGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const { e } = c;
    const x = c.input(0);
    return [e.div(c.dy() as string, e.op('Sqrt', [e.add(e.mul(x, x), e.scalar(1, x))]))];
  },
};
