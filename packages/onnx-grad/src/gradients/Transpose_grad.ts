import { checkPermutation } from '../shapes.js';
import type { GradientRule } from './types.js';

/** y = transpose(x, perm): dx = transpose(dy, perm⁻¹). */
export const transposeGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const rank = c.rank(c.input(0));
    const perm = checkPermutation(c.attrInts('perm') ?? Array.from({ length: rank }, (_, i) => rank - 1 - i), rank);
    const inverse = new Array<number>(rank);
    perm.forEach((p, i) => (inverse[p] = i));
    return [c.e.transpose(c.dy() as string, inverse)];
  },
};
