import type { GradientRule } from './types.js';

/** y = ln x: dx = dy / x. */
export const logGrad: GradientRule = { inputs: [0], backward: (c) => [c.e.div(c.dy() as string, c.input(0))] };
