import type { GradientRule } from './types.js';

/** y = tan(x): dx = dy·(1 + y²). */
export const tanGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const { e } = c;
    const y = c.output(0);
    return [e.mul(c.dy() as string, e.add(e.scalar(1, y), e.mul(y, y)))];
  },
};
