import type { GradientRule } from './types.js';

/** y = x/(1 + |x|): dx = dy/(1 + |x|)². */
export const softsignGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const { e } = c;
    const x = c.input(0);
    const d = e.add(e.op('Abs', [x]), e.scalar(1, x));
    return [e.div(c.dy() as string, e.mul(d, d))];
  },
};
