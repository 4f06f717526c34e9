import { keepReduced, reducedAxes } from './ReduceSum_grad.js';
import type { GradientRule } from './types.js';

/** y = log Σ_axes exp(x): dx = exp(x − y) · dy (the softmax of x over the reduced axes, times dy). */
export const reduceLogSumExpGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const { e } = c;
    const x = c.input(0);
    const axes = reducedAxes(c, c.opset >= 18);
    const p = e.op('Exp', [e.sub(x, keepReduced(c, c.output(0), axes))]);
    return [e.mul(p, keepReduced(c, c.dy() as string, axes))];
  },
};
