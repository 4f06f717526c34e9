import { keepReduced, reducedAxes } from './ReduceSum_grad.js';
import type { GradientRule } from './types.js';

/** y = Σ_axes x²: dx = 2x · dy. */
export const reduceSumSquareGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const { e } = c;
    const x = c.input(0);
    const axes = reducedAxes(c, c.opset >= 18);
    return [e.mul(e.mul(x, e.scalar(2, x)), keepReduced(c, c.dy() as string, axes))];
  },
};
