import { normAxis } from '../shapes.js';
import type { GradientRule } from './types.js';

/**
 * y = gather(x, indices, axis): dx accumulates dy at the gathered positions, duplicates summed. Emitted as
 * a matrix product with the one-hot matrix of the indices: dx = onehot(indices)ᵀ @ dy, with x's other
 * dimensions folded before and after the axis.
 */
export const gatherGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const { e } = c;
    const [x, indices] = [c.input(0), c.input(1)];
    const rank = c.rank(x);
    const axis = normAxis(c.attrInt('axis', 0), rank);
    const flatIdx = e.op('Reshape', [indices, e.ints([-1])]);
    const values = e.constant([0, 1], e.floatType(x), [2]);
    const oneHot = e.op('OneHot', [flatIdx, e.dim(x, axis), values], { axis: -1 });
    const xShape = e.shape(x);
    const prod = (from: number, to: number): string =>
      from >= to ? e.ints([1]) : e.op('ReduceProd', [e.slice(xShape, e.ints([from]), e.ints([to]), [0])], { keepdims: 1 });
    const folded = e.op('Reshape', [c.dy() as string, e.op('Concat', [prod(0, axis), e.ints([-1]), prod(axis + 1, rank)], { axis: 0 })]);
    const summed = e.op('MatMul', [e.transpose(oneHot, [1, 0]), folded]);
    return [e.reshapeLike(summed, x)];
  },
};
