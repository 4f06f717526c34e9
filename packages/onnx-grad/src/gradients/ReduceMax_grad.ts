import { keepReduced, reducedAxes } from './ReduceSum_grad.js';
import type { GradContext, GradientRule } from './types.js';

/**
 * The gradient of a max or min reduction: dy goes to the elements equal to the result, shared evenly
 * among ties (PyTorch's `amax`/`amin` convention): dx = 1{x = y} · dy / Σ_axes 1{x = y}.
 */
export function extremumBackward(c: GradContext): string {
  const { e } = c;
  const x = c.input(0);
  // Axes: attribute before opset 18, optional input from 18 (noop_with_empty_axes from 18).
  const axes = reducedAxes(c, c.opset >= 18);
  const hit = e.op('Cast', [e.op('Equal', [x, keepReduced(c, c.output(0), axes)])], { to: e.floatType(x) });
  const count = e.reduceSum(hit, axes, true);
  return e.mul(hit, e.div(keepReduced(c, c.dy() as string, axes), count));
}

/**
 * y = max_axes x: dx = 1{x = y} · dy / (number of elements equal to y). With ties the gradient is
 * distributed evenly among the equal values (as PyTorch's `amax`; `max(dim)` would pick one).
 */
export const reduceMaxGrad: GradientRule = {
  inputs: [0],
  backward: (c) => [extremumBackward(c)],
};
