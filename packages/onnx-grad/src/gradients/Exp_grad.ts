import type { GradientRule } from './types.js';

/** y = eˣ: dx = dy · y. */
export const expGrad: GradientRule = { inputs: [0], backward: (c) => [c.e.mul(c.dy() as string, c.output(0))] };
