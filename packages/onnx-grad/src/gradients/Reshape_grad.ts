import type { GradientRule } from './types.js';

/** Reshape, Flatten, Squeeze, Unsqueeze: dx = reshape(dy, shape(x)). */
export const reshapeGrad: GradientRule = {
  inputs: [0],
  backward: (c) => [c.e.reshapeLike(c.dy() as string, c.input(0))],
};
