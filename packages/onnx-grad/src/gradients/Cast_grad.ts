import type { GradientRule } from './types.js';

/** y = cast(x): dx = cast(dy) back to x's type (only between floating-point types). */
export const castGrad: GradientRule = {
  inputs: [0],
  backward: (c) => [c.e.castLike(c.dy() as string, c.output(0), c.input(0))],
};
