import type { GradientRule } from './types.js';

/** com.microsoft BiasAdd: y = X + bias + skip (bias over the last axis): dX = dy, dbias = sumTo(dy), dskip = sumTo(dy). */
export const biasAddGrad: GradientRule = {
  inputs: [0, 1, 2],
  backward: (c) => {
    const dy = c.dy() as string;
    const y = c.output(0);
    return [0, 1, 2].map((i) => (c.needs(i) ? c.e.sumTo(dy, y, c.input(i)) : undefined));
  },
};
