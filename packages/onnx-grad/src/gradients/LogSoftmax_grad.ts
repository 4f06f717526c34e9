import { softmaxAxes } from './softmax-axes.js';
import type { GradientRule } from './types.js';

/** y = log softmax(x): dx = dy − exp(y) ⊙ Σ_axis dy. */
export const logSoftmaxGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const { e } = c;
    const dy = c.dy() as string;
    const total = e.reduceSum(dy, softmaxAxes(c), true);
    return [e.sub(dy, e.mul(e.op('Exp', [c.output(0)]), total))];
  },
};
