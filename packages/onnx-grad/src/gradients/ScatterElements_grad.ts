import { normAxis } from '../shapes.js';
import { scatterReduction } from './ScatterND_grad.js';
import type { GradientRule } from './types.js';

/**
 * y = scatter_elements(data, indices, updates, axis, reduction):
 * 'none': ddata = dy with zeros at the written positions, dupdates = gather_elements(dy, indices, axis);
 * 'add': ddata = dy, dupdates = gather_elements(dy, indices, axis). 'mul', 'max' and 'min' are refused.
 */
export const scatterElementsGrad: GradientRule = {
  inputs: [0, 2],
  backward: (c) => {
    const { e } = c;
    const [indices, updates] = [c.input(1), c.input(2)];
    const dy = c.dy() as string;
    const reduction = scatterReduction(c);
    const axis = normAxis(c.attrInt('axis', 0), c.rank(c.input(0)));
    const ddata = !c.needs(0) ? undefined : reduction === 'add' ? dy : e.op('ScatterElements', [dy, indices, e.zerosLike(updates)], { axis });
    return [ddata, undefined, c.needs(2) ? e.op('GatherElements', [dy, indices], { axis }) : undefined];
  },
};
