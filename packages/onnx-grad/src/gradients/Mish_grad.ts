import type { GradientRule } from './types.js';

/** y = x·tanh(softplus(x)): with t = tanh(softplus(x)), dx = dy·(t + x·(1 − t²)·σ(x)). */
export const mishGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const { e } = c;
    const x = c.input(0);
    const t = e.op('Tanh', [e.op('Softplus', [x])]);
    const slope = e.add(t, e.mul(e.mul(x, e.sub(e.scalar(1, x), e.mul(t, t))), e.op('Sigmoid', [x])));
    return [e.mul(c.dy() as string, slope)];
  },
};
