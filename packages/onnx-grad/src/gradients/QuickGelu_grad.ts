import type { GradientRule } from './types.js';

/** com.microsoft QuickGelu: y = x·σ(αx) (α default 1.702): dx = dy·s·(1 + αx·(1 − s)), s = σ(αx). */
export const quickGeluGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const { e } = c;
    const x = c.input(0);
    const ax = e.mul(x, e.scalar(c.attrFloat('alpha', 1.702), x));
    const s = e.op('Sigmoid', [ax]);
    const slope = e.mul(s, e.add(e.scalar(1, x), e.mul(ax, e.sub(e.scalar(1, x), s))));
    return [e.mul(c.dy() as string, slope)];
  },
};
