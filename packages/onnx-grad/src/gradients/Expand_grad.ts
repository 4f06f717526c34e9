import type { GradientRule } from './types.js';

/** y = expand(x, shape): dx = sumTo(dy, shape(x)). */
export const expandGrad: GradientRule = {
  inputs: [0],
  backward: (c) => [c.e.sumTo(c.dy() as string, c.output(0), c.input(0))],
};
