import { InvalidModelError } from '../errors.js';
import { Graph } from '../graph.js';
import type { GradContext, GradientRule } from './types.js';

/** The largest LRN window accepted from a model file. */
const MAX_SIZE = 1 << 16;

/**
 * Sums `t` (N × C × D₁ × …) over a window of channels, `before` channels before each channel and `after`
 * after it (zeros beyond the ends): a Conv over [N, 1, C, D₁·…] with a kernel of ones `before + after + 1`
 * tall.
 */
function channelWindowSum(c: GradContext, t: string, like: string, before: number, after: number): string {
  const { e } = c;
  const channels = c.shape(like)?.[1];
  const target = typeof channels === 'number' ? e.ints([0, 1, channels, -1]) : e.op('Concat', [e.ints([0, 1]), e.dim(like, 1), e.ints([-1])], { axis: 0 });
  const size = before + after + 1;
  const ones = e.constant(new Array<number>(size).fill(1), e.floatType(like), [1, 1, size, 1]);
  const summed = e.op('Conv', [e.op('Reshape', [t, target]), ones], { kernel_shape: [size, 1], pads: [before, 0, after, 0] });
  return e.reshapeLike(summed, like);
}

/**
 * LRN (opsets 1, 13): across channels, y = x·s^(−β) with s = bias + (α/n)·Σ_{j ∈ W(c)} x_j², the window W(c)
 * running from channel c − ⌊(n−1)/2⌋ to c + ⌈(n−1)/2⌉ (n = size; channels outside the tensor count as 0, as
 * ONNX and ONNX Runtime define it). Then
 *
 *   dx = dy·s^(−β) − (2αβ/n)·x·Wᵀ(dy·y/s),
 *
 * where Wᵀ sums over the transposed window (⌈(n−1)/2⌉ channels before, ⌊(n−1)/2⌋ after), since
 * ∂s_c/∂x_i = (2α/n)·x_i for i ∈ W(c) and dy·x·s^(−β−1) = dy·y/s. Any rank ≥ 2 (ONNX Runtime runs rank 4).
 */
export const lrnGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const { e } = c;
    const [x, y] = [c.input(0), c.output(0)];
    const size = c.attrInt('size', 0);
    if (!Number.isSafeInteger(size) || size < 1 || size > MAX_SIZE) {
      throw new InvalidModelError(`Node '${Graph.label(c.node)}' (LRN) has an invalid size ${size}.`);
    }
    const [alpha, beta, bias] = [c.attrFloat('alpha', 1e-4), c.attrFloat('beta', 0.75), c.attrFloat('bias', 1)];
    const [lo, hi] = [Math.floor((size - 1) / 2), Math.ceil((size - 1) / 2)];
    const dy = c.dy() as string;
    const windowed = channelWindowSum(c, e.mul(x, x), x, lo, hi);
    const s = e.add(e.mul(windowed, e.scalar(alpha / size, x)), e.scalar(bias, x));
    const direct = e.mul(dy, e.op('Pow', [s, e.scalar(-beta, x)]));
    const spread = channelWindowSum(c, e.div(e.mul(dy, y), s), x, hi, lo);
    return [e.sub(direct, e.mul(e.mul(x, spread), e.scalar((2 * alpha * beta) / size, x)))];
  },
};
