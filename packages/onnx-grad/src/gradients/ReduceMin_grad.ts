import { extremumBackward } from './ReduceMax_grad.js';
import type { GradientRule } from './types.js';

/**
 * y = min_axes x: dx = 1{x = y} · dy / (number of elements equal to y). With ties the gradient is
 * distributed evenly among the equal values (as PyTorch's `amin`).
 */
export const reduceMinGrad: GradientRule = {
  inputs: [0],
  backward: (c) => [extremumBackward(c)],
};
