import { broadcastScale } from './quantize.js';
import type { GradientRule } from './types.js';

/**
 * q = saturate(round(x / s) + z): a straight-through estimate, dx = dq / s, treating rounding (and
 * saturation) as the identity. Paired with DequantizeLinear's dq = dy · s, a QuantizeLinear →
 * DequantizeLinear pair passes the gradient through unchanged — an approximation: the true derivative of
 * rounding is zero almost everywhere.
 */
export const quantizeLinearGrad: GradientRule = {
  inputs: [0],
  straightThrough: true,
  backward: (c) => {
    const { e } = c;
    const dq = c.dy() as string;
    return [e.castLike(e.div(dq, e.castLike(broadcastScale(c), c.input(1), c.input(0))), c.input(1), c.input(0))];
  },
};
