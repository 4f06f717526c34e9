import type { GradientRule } from './types.js';

/**
 * y = a mod b = a − b·n with n = trunc(a / b) (fmod = 1, C's fmod: floating-point inputs) or
 * n = floor(a / b) (fmod = 0, Python's %): piecewise, da = dy and db = −dy · n (as PyTorch's fmod and
 * remainder), each summed back over broadcast dimensions.
 */
export const modGrad: GradientRule = {
  inputs: [0, 1],
  backward: (c) => {
    const { e } = c;
    const [a, b, y] = [c.input(0), c.input(1), c.output(0)];
    const dy = c.dy() as string;
    let db: string | undefined;
    if (c.needs(1)) {
      const q = e.div(a, b);
      const n = c.attrInt('fmod', 0) === 1 ? e.mul(e.op('Sign', [q]), e.op('Floor', [e.op('Abs', [q])])) : e.op('Floor', [q]);
      db = e.sumTo(e.neg(e.mul(dy, n)), y, b);
    }
    return [c.needs(0) ? e.sumTo(dy, y, a) : undefined, db];
  },
};
