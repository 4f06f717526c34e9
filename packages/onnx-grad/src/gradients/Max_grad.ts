import type { GradContext, GradientRule } from './types.js';

/**
 * The backward pass of a variadic, broadcasting Max or Min: y is one of the inputs at each position, and dy
 * goes to the inputs equal to y, split evenly among them where several tie:
 *
 *   dxᵢ = sumTo(dy · 1{xᵢ = y} / #{j : xⱼ = y}).
 *
 * For two inputs this is PyTorch's rule for `torch.maximum`/`torch.minimum` (`max.other`): half the gradient
 * to each where they are equal; for more it is the even split of `torch.max()`/`amax` over tied elements.
 */
export function extremumGrad(c: GradContext): (string | undefined)[] {
  const { e } = c;
  const y = c.output(0);
  const dy = c.dy() as string;
  const inputs = c.node.input;
  if (inputs.length === 1) return [dy];
  const hits = inputs.map((x) => e.op('Cast', [e.op('Equal', [x, y])], { to: e.floatType(y) }));
  const share = e.div(dy, e.sum(hits));
  return inputs.map((x, i) => (c.needs(i) ? e.sumTo(e.mul(share, hits[i] as string), y, x) : undefined));
}

/** y = max(x₀, x₁, …) elementwise (broadcasting): see {@link extremumGrad}. */
export const maxGrad: GradientRule = {
  inputs: (node) => node.input.map((_, i) => i),
  backward: extremumGrad,
};
