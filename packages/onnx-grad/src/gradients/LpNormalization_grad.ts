import { InvalidModelError } from '../errors.js';
import { Graph } from '../graph.js';
import { normAxis } from '../shapes.js';
import type { GradientRule } from './types.js';

/**
 * LpNormalization: y = x/n along one axis, n = ‖x‖_p (p = 2: √Σx², p = 1: Σ|x|). With s = y (p = 2) or
 * sign(x) (p = 1):
 *
 *   dx = (dy − s·Σ_axis(dy·y))/n,
 *
 * and 0 where n = 0 (the output is defined as 0 there; its derivative is not).
 */
export const lpNormalizationGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const { e } = c;
    const [x, y] = [c.input(0), c.output(0)];
    const p = c.attrInt('p', 2);
    if (p !== 1 && p !== 2) throw new InvalidModelError(`LpNormalization node '${Graph.label(c.node)}' has p = ${p}; only 1 and 2 are defined.`);
    const axes = [normAxis(c.attrInt('axis', -1), c.rank(x))];
    const dy = c.dy() as string;
    const norm = p === 2 ? e.op('Sqrt', [e.reduceSum(e.mul(x, x), axes, true)]) : e.reduceSum(e.op('Abs', [x]), axes, true);
    const direction = p === 2 ? y : e.op('Sign', [x]);
    const dot = e.reduceSum(e.mul(dy, y), axes, true);
    const positive = e.op('Greater', [norm, e.scalar(0, x)]);
    const safe = e.op('Where', [positive, norm, e.scalar(1, x)]);
    return [e.mask(e.div(e.sub(dy, e.mul(direction, dot)), safe), positive, x)];
  },
};
