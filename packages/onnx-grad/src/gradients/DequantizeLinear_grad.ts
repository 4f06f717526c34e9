import { broadcastScale } from './quantize.js';
import type { GradientRule } from './types.js';

/** y = (q − z) · s: dq = dy · s (the gradient reaching an integer tensor, for a straight-through QuantizeLinear). */
export const dequantizeLinearGrad: GradientRule = {
  inputs: [0],
  backward: (c) => [c.e.mul(c.dy() as string, broadcastScale(c))],
};
