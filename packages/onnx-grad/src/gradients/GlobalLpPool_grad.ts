import { lpExponent, lpOuter, lpSlope } from './lp-pool.js';
import type { GradientRule } from './types.js';

/**
 * GlobalLpPool (opset 2): y[n, c] = (Σ_spatial |x|ᵖ)^(1/p) (p default 2): dx = sign(x)·|x|^(p−1)·dy·y^(1−p),
 * broadcast over the spatial positions.
 */
export const globalLpPoolGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const { e } = c;
    const [x, y] = [c.input(0), c.output(0)];
    const p = lpExponent(c);
    return [e.mul(lpSlope(e, x, p), lpOuter(e, c.dy() as string, y, p))];
  },
};
