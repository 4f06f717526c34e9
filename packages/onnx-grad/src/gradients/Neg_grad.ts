import type { GradientRule } from './types.js';

/** y = −x: dx = −dy. */
export const negGrad: GradientRule = { inputs: [0], backward: (c) => [c.e.neg(c.dy() as string)] };
