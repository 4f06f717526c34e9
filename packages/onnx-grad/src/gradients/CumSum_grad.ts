import type { GradientRule } from './types.js';

/**
 * y = cumsum(x, axis, exclusive, reverse): the transpose of a cumulative sum is the cumulative sum in the
 * other direction, dx = cumsum(dy, axis, exclusive, !reverse).
 */
export const cumSumGrad: GradientRule = {
  inputs: [0],
  backward: (c) => [
    c.e.op('CumSum', [c.dy() as string, c.input(1)], { exclusive: c.attrInt('exclusive', 0) ? 1 : 0, reverse: c.attrInt('reverse', 0) ? 0 : 1 }),
  ],
};
