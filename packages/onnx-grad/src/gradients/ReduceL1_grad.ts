import { keepReduced, reducedAxes } from './ReduceSum_grad.js';
import type { GradientRule } from './types.js';

/** y = Σ_axes |x|: dx = sign(x) · dy (0 at x = 0, as PyTorch's subgradient). */
export const reduceL1Grad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const axes = reducedAxes(c, c.opset >= 18);
    return [c.e.mul(c.e.op('Sign', [c.input(0)]), keepReduced(c, c.dy() as string, axes))];
  },
};
