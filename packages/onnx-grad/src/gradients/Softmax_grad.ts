import { softmaxAxes } from './softmax-axes.js';
import type { GradientRule } from './types.js';

/** y = softmax(x): dx = y ⊙ (dy − Σ_axis(dy ⊙ y)). */
export const softmaxGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const { e } = c;
    const y = c.output(0);
    const dy = c.dy() as string;
    const dot = e.reduceSum(e.mul(dy, y), softmaxAxes(c), true);
    return [e.mul(y, e.sub(dy, dot))];
  },
};
