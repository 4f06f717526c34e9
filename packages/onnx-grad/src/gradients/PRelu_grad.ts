import type { GradientRule } from './types.js';

/**
 * y = x where x > 0, else slope·x (slope unidirectionally broadcast to x): dx = dy where x > 0, else
 * dy·slope; dslope = sumTo(dy·x where x ≤ 0, else 0). At x = 0 the slope side is taken, as PyTorch does.
 */
export const preluGrad: GradientRule = {
  inputs: [0, 1],
  backward: (c) => {
    const { e } = c;
    const [x, slope, y] = [c.input(0), c.input(1), c.output(0)];
    const dy = c.dy() as string;
    const positive = e.op('Greater', [x, e.scalar(0, x)]);
    return [
      c.needs(0) ? e.mul(dy, e.op('Where', [positive, e.scalar(1, x), slope])) : undefined,
      c.needs(1) ? e.sumTo(e.op('Where', [positive, e.scalar(0, x), e.mul(dy, x)]), y, slope) : undefined,
    ];
  },
};
