import type { GradientRule } from './types.js';

/** y = x (also Dropout in inference): dx = dy. */
export const identityGrad: GradientRule = { inputs: [0], backward: (c) => [c.dy()] };
