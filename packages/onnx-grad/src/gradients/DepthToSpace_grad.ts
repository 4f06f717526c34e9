import { InvalidModelError } from '../errors.js';
import { Graph } from '../graph.js';
import { blockSize } from './SpaceToDepth_grad.js';
import type { GradientRule } from './types.js';

/**
 * y = depthToSpace(x): a permutation of the elements, so dx is the inverse permutation of dy. DCR mode is
 * undone by SpaceToDepth; CRD mode (x viewed as [N, C', b, b, H, W], transposed to [N, C', H, b, W, b])
 * by viewing dy as [N, C', H, b, W, b] and transposing back (perm [0, 1, 3, 5, 2, 4]).
 */
export const depthToSpaceGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const { e } = c;
    const b = blockSize(c);
    const dy = c.dy() as string;
    const mode = c.attrString('mode', 'DCR');
    if (mode === 'DCR') return [e.op('SpaceToDepth', [dy], { blocksize: b })];
    if (mode !== 'CRD') throw new InvalidModelError(`Node '${Graph.label(c.node)}' (DepthToSpace) has an invalid mode '${mode}'.`);
    const x = c.input(0);
    const y = c.output(0);
    const [ys, xs] = [c.shape(y), c.shape(x)];
    const dim = (t: string, shape: typeof xs, i: number): number | string => (typeof shape?.[i] === 'number' ? (shape[i] as number) : e.dim(t, i));
    const parts = [dim(y, ys, 0), dim(y, ys, 1), dim(x, xs, 2), b, dim(x, xs, 3), b];
    const target = parts.every((p): p is number => typeof p === 'number')
      ? e.ints(parts)
      : e.op('Concat', parts.map((p) => (typeof p === 'number' ? e.ints([p]) : p)), { axis: 0 });
    const blocks = e.op('Transpose', [e.op('Reshape', [dy, target])], { perm: [0, 1, 3, 5, 2, 4] });
    return [e.reshapeLike(blocks, x)];
  },
};
