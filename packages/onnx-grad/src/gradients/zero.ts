import type { GradientRule } from './types.js';

/** Operators whose output is piecewise constant in their inputs: gradient zero almost everywhere. */
export const zeroGrad: GradientRule = { inputs: [], backward: () => [] };

/**
 * Operators whose output does not depend on the values of their floating-point input, only on its shape and
 * type (EyeLike) or on random draws (RandomNormalLike, RandomUniformLike): gradient zero.
 */
export const independentGrad: GradientRule = { inputs: [], backward: () => [] };
