import type { GradientRule } from './types.js';

/** y = (x₀ + … + x_{n−1})/n (variadic, broadcasting): dxᵢ = sumTo(dy/n). */
export const meanGrad: GradientRule = {
  inputs: (node) => node.input.map((_, i) => i),
  backward: (c) => {
    const { e } = c;
    const y = c.output(0);
    const n = c.node.input.length;
    const share = n === 1 ? (c.dy() as string) : e.div(c.dy() as string, e.scalar(n, y));
    return c.node.input.map((x, i) => (c.needs(i) ? e.sumTo(share, y, x) : undefined));
  },
};
