import { keepReduced, reducedAxes } from './ReduceSum_grad.js';
import type { GradientRule } from './types.js';

/**
 * y = √(Σ_axes x²): dx = x · dy / y, and 0 where y = 0 (where every reduced x is 0; PyTorch's norm
 * backward gives 0 there too).
 */
export const reduceL2Grad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const { e } = c;
    const x = c.input(0);
    const axes = reducedAxes(c, c.opset >= 18);
    const y = keepReduced(c, c.output(0), axes);
    // y = 0 only where all of its x are 0: dividing by 1 there gives x · dy / 1 = 0.
    const safe = e.op('Where', [e.op('Equal', [y, e.scalar(0, x)]), e.scalar(1, x), y]);
    return [e.mul(x, e.div(keepReduced(c, c.dy() as string, axes), safe))];
  },
};
