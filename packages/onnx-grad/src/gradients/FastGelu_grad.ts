import { geluDerivative } from './Gelu_grad.js';
import type { GradContext, GradientRule } from './types.js';

/**
 * com.microsoft FastGelu: y = GELU_tanh(z), z = X + bias (bias optional, broadcast over the last axis):
 * dX = sumTo(dy·GELU′(z)), dbias = sumTo(dy·GELU′(z)), with the tanh approximation's derivative.
 */
export const fastGeluGrad: GradientRule = {
  inputs: [0, 1],
  backward: (c) => biasedGelu(c, 'tanh'),
};

/** `dy·GELU′(X + bias)` sent to X and to the optional bias (both reduced to their shapes). */
export function biasedGelu(c: GradContext, approximate: 'none' | 'tanh'): (string | undefined)[] {
  const { e } = c;
  const [x, bias, y] = [c.input(0), c.input(1), c.output(0)];
  const z = bias ? e.add(x, bias) : x;
  const g = e.mul(c.dy() as string, geluDerivative(e, z, approximate));
  return [c.needs(0) ? e.sumTo(g, y, x) : undefined, c.needs(1) && bias ? e.sumTo(g, y, bias) : undefined];
}
