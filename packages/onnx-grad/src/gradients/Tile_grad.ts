import { InvalidModelError } from '../errors.js';
import { Graph } from '../graph.js';
import type { GradientRule } from './types.js';

/**
 * y = tile(x, repeats): along axis i, y holds rᵢ copies of x one after another, so dy reshaped to
 * [r₀, d₀, r₁, d₁, …] (rᵢ = 1 axes left whole) and summed over the copy axes is dx. Input dims may be
 * symbolic (read at run time); repeats must be constant.
 */
export const tileGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const { e } = c;
    const x = c.input(0);
    const rank = c.rank(x);
    const repeats = c.constant(1);
    if (!repeats) return c.unsupported('repeats computed at run time');
    if (repeats.length !== rank || !repeats.every((r) => Number.isSafeInteger(r) && r >= 0)) {
      throw new InvalidModelError(`Node '${Graph.label(c.node)}' (Tile) has repeats [${repeats.join(', ')}] for a rank-${rank} input.`);
    }
    const dy = c.dy() as string;
    if (repeats.every((r) => r === 1)) return [dy];
    if (repeats.some((r) => r === 0)) return [e.zerosLike(x)];
    const xs = c.shape(x);
    const parts: (number | string)[] = [];
    const axes: number[] = [];
    repeats.forEach((r, i) => {
      if (r !== 1) {
        axes.push(parts.length);
        parts.push(r);
      }
      const d = xs?.[i];
      parts.push(typeof d === 'number' ? d : e.dim(x, i));
    });
    const target = parts.every((p): p is number => typeof p === 'number')
      ? e.ints(parts)
      : e.op('Concat', parts.map((p) => (typeof p === 'number' ? e.ints([p]) : p)), { axis: 0 });
    return [e.reduceSum(e.op('Reshape', [dy, target]), axes, false)];
  },
};
