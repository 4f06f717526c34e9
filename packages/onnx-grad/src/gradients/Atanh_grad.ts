import type { GradientRule } from './types.js';

/** y = artanh(x) (|x| < 1): dx = dy/(1 − x²). */
export const atanhGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const { e } = c;
    const x = c.input(0);
    return [e.div(c.dy() as string, e.sub(e.scalar(1, x), e.mul(x, x)))];
  },
};
