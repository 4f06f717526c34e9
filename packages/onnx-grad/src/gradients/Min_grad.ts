import { extremumGrad } from './Max_grad.js';
import type { GradientRule } from './types.js';

/** y = min(x₀, x₁, …) elementwise (broadcasting): dy goes to the inputs equal to y, split evenly where they tie. */
export const minGrad: GradientRule = {
  inputs: (node) => node.input.map((_, i) => i),
  backward: extremumGrad,
};
