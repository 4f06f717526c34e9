import type { GradientRule } from './types.js';

/** Operators whose output is piecewise constant in their inputs: gradient zero almost everywhere. */
export const zeroGrad: GradientRule = { inputs: [], backward: () => [] };
