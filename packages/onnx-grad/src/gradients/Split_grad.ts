import { normAxis } from '../shapes.js';
import type { GradientRule } from './types.js';

/** (y₀, y₁, …) = split(x): dx = concat(dy₀, dy₁, …), zeros for outputs that receive no gradient. */
export const splitGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const { e } = c;
    const axis = normAxis(c.attrInt('axis', 0), c.rank(c.input(0)));
    const parts = c.node.output.map((y, k) => c.dy(k) ?? e.zerosLike(y));
    return [e.op('Concat', parts, { axis })];
  },
};
