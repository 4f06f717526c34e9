import type { GradientRule } from './types.js';

/** y = x₀ + x₁ + … (variadic, broadcasting): dxᵢ = sumTo(dy). */
export const sumGrad: GradientRule = {
  inputs: (node) => node.input.map((_, i) => i),
  backward: (c) => {
    const dy = c.dy() as string;
    const y = c.output(0);
    return c.node.input.map((x, i) => (c.needs(i) ? c.e.sumTo(dy, y, x) : undefined));
  },
};
