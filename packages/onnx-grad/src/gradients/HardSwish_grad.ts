import type { GradientRule } from './types.js';

/**
 * y = x·max(0, min(1, x/6 + ½)): dx = dy·(0 where x < −3, 1 where x > 3, x/3 + ½ between), PyTorch's
 * hardswish_backward (including its choice at the corners).
 */
export const hardSwishGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const { e } = c;
    const x = c.input(0);
    const k = (v: number): string => e.scalar(v, x);
    const inner = e.add(e.mul(x, k(1 / 3)), k(0.5));
    const slope = e.op('Where', [e.op('Greater', [x, k(3)]), k(1), e.op('Where', [e.op('Less', [x, k(-3)]), k(0), inner])]);
    return [e.mul(c.dy() as string, slope)];
  },
};
