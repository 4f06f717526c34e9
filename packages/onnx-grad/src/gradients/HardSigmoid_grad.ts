import type { GradientRule } from './types.js';

/**
 * y = max(0, min(1, αx + β)): dx = α·dy where 0 < αx + β < 1 (read from 0 < y < 1), else 0, strict at the
 * corners as PyTorch's hardsigmoid is.
 */
export const hardSigmoidGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const { e } = c;
    const y = c.output(0);
    const alpha = c.attrFloat('alpha', 0.2);
    return [e.intervalMask(e.mul(c.dy() as string, e.scalar(alpha, y)), y, 0, 1)];
  },
};
