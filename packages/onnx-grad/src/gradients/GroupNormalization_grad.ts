import { InvalidModelError } from '../errors.js';
import { Graph } from '../graph.js';
import { standardize, standardizeBackward } from './normalization.js';
import type { GradientRule } from './types.js';

/**
 * GroupNormalization: x (N × C × D…) is viewed as N × G × (C/G·D…) and normalised over its last axis,
 * x̂ = (x − μ)·r with r = 1/√(var + ε); then y = scale·x̂ + bias, where scale and bias hold one value per
 * GROUP in opset 18–20 (shape G) and one per CHANNEL from opset 21 (shape C). With g = dy·scale (each
 * value spread over its group or channel):
 *
 *   dx = r·(g − mean(g) − x̂·mean(g·x̂))  (means over each instance's group),
 *   dscale = Σ_{n, rest} dy·x̂,  dbias = Σ_{n, rest} dy  (per group or per channel).
 */
export const groupNormalizationGrad: GradientRule = {
  inputs: [0, 1, 2],
  backward: (c) => {
    const { e } = c;
    const [x, scale] = [c.input(0), c.input(1)];
    const label = Graph.label(c.node);
    if (c.rank(x) < 2) throw new InvalidModelError(`GroupNormalization node '${label}' needs an input of rank 2 or more.`);
    const groups = c.attrInt('num_groups', 0);
    const channels = c.shape(x)?.[1];
    if (!Number.isInteger(groups) || groups < 1 || (typeof channels === 'number' && channels % groups !== 0)) {
      throw new InvalidModelError(`GroupNormalization node '${label}' has num_groups ${groups}, which does not divide its ${channels ?? 'unknown number of'} channels.`);
    }
    const dy = c.dy() as string;
    // N × G × rest: statistics per instance and group.
    const grouped = (t: string): string => e.op('Reshape', [t, e.ints([0, groups, -1])]);
    const xg = grouped(x);
    const rest = c.shape(x)?.slice(2) ?? [];
    const count = typeof channels === 'number' && rest.every((d): d is number => typeof d === 'number') ? (channels / groups) * rest.reduce((p, d) => p * d, 1) : undefined;
    const s = standardize(e, xg, [2], c.attrFloat('epsilon', 1e-5), x, count);
    const perChannel = c.opset >= 21;
    // The space scale and bias act in: N × G × rest (per group) or N × C × rest (per channel).
    const view = (t: string): string => (perChannel ? e.op('Reshape', [t, e.ints([0, 0, -1])]) : grouped(t));
    const dyv = view(dy);
    const column = e.op('Reshape', [scale, e.ints([-1, 1])]);
    const xhatv = perChannel ? e.op('Reshape', [s.xhat, e.shape(dyv)]) : s.xhat;
    const g = perChannel ? grouped(e.mul(dyv, column)) : e.mul(dyv, column);
    const dxg = c.needs(0) ? standardizeBackward(e, s, g) : undefined;
    return [
      dxg && e.op('Reshape', [dxg, e.shape(x)]),
      c.needs(1) ? e.reduceSum(e.mul(dyv, xhatv), [0, 2], false) : undefined,
      c.needs(2) ? e.reduceSum(dyv, [0, 2], false) : undefined,
    ];
  },
};
