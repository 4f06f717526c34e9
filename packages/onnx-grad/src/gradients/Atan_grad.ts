import type { GradientRule } from './types.js';

/** y = arctan(x): dx = dy/(1 + x²). */
export const atanGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const { e } = c;
    const x = c.input(0);
    return [e.div(c.dy() as string, e.add(e.scalar(1, x), e.mul(x, x)))];
  },
};
