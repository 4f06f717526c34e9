import type { GradientRule } from './types.js';

/** y = trilu(x, k, upper): the mask is linear, dx = trilu(dy, k, upper). */
export const triluGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const k = c.input(1);
    return [c.e.op('Trilu', k ? [c.dy() as string, k] : [c.dy() as string], { upper: c.attrInt('upper', 1) })];
  },
};
