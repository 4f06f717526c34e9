import { normAxis } from '../shapes.js';
import { oneHot } from './one-hot.js';
import type { GradientRule } from './types.js';

/**
 * y = gather_elements(x, indices, axis), y[…, j, …] = x[…, indices[…, j, …], …]: dx accumulates dy at the
 * gathered positions, duplicates summed. From opset 16: ScatterElements with reduction 'add' into zeros.
 * Before (no scatter reduction): dx = Σ_j onehot(indices)[…, j, …, m] · dy[…, j, …], moved to the axis,
 * and padded with zeros where `indices` is smaller than x in the other dimensions.
 */
export const gatherElementsGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const { e } = c;
    const [x, indices] = [c.input(0), c.input(1)];
    const dy = c.dy() as string;
    const rank = c.rank(x);
    const axis = normAxis(c.attrInt('axis', 0), rank);
    if (c.opset >= 16) return [e.op('ScatterElements', [e.zerosLike(x), indices, dy], { axis, reduction: 'add' })];
    const hot = oneHot(e, indices, e.dim(x, axis), x);
    const summed = e.reduceSum(e.mul(hot, e.unsqueeze(dy, [rank])), [axis], false);
    const perm = [...Array.from({ length: axis }, (_, i) => i), rank - 1, ...Array.from({ length: rank - 1 - axis }, (_, i) => axis + i)];
    const moved = e.transpose(summed, perm);
    const xs = c.shape(x);
    const is = c.shape(indices);
    if (xs && is && xs.every((d, i) => i === axis || d === is[i])) return [moved];
    const pads = e.op('Concat', [e.ints(new Array<number>(rank).fill(0)), e.sub(e.shape(x), e.shape(moved))], { axis: 0 });
    return [e.op('Pad', [moved, pads])];
  },
};
