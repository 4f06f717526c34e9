import type { GradientRule } from './types.js';

/**
 * Shrink (opset 9): y = x − bias where x > lambd, x + bias where x < −lambd, else 0. dx = dy where
 * |x| > lambd, else 0 (whatever the sign of lambd, `x > λ or x < −λ` is `|x| > λ`); bias only shifts the
 * two outer pieces.
 */
export const shrinkGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const { e } = c;
    const x = c.input(0);
    const outside = e.op('Greater', [e.op('Abs', [x]), e.scalar(c.attrFloat('lambd', 0.5), x)]);
    return [e.mask(c.dy() as string, outside, x)];
  },
};
