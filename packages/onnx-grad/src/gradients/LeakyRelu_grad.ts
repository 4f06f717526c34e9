import type { GradientRule } from './types.js';

/** y = x if x > 0 else αx: dx = dy where x > 0, else α·dy. */
export const leakyReluGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const { e } = c;
    const x = c.input(0);
    const dy = c.dy() as string;
    const alpha = c.attrFloat('alpha', 0.01);
    const positive = e.op('Greater', [x, e.scalar(0, x)]);
    return [e.op('Where', [positive, dy, e.mul(dy, e.scalar(alpha, x))])];
  },
};
