import type { GradientRule } from './types.js';

/** y = σ(x): dx = dy · y · (1 − y). */
export const sigmoidGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const { e } = c;
    const y = c.output(0);
    return [e.mul(c.dy() as string, e.mul(y, e.sub(e.scalar(1, y), y)))];
  },
};
