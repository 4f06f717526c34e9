import { range, standardize, standardizeBackward } from './normalization.js';
import type { GradientRule } from './types.js';

/**
 * InstanceNormalization: each instance and channel of x (N × C × D…) is normalised over its spatial axes
 * S, x̂ = (x − μ)·r with r = 1/√(var + ε), and y = scale·x̂ + B per channel. With g = dy·scale:
 *
 *   dx = r·(g − mean_S(g) − x̂·mean_S(g·x̂)),  dscale = Σ_{n, S} dy·x̂,  dB = Σ_{n, S} dy.
 */
export const instanceNormalizationGrad: GradientRule = {
  inputs: [0, 1, 2],
  backward: (c) => {
    const { e } = c;
    const [x, scale] = [c.input(0), c.input(1)];
    const rank = c.rank(x);
    if (rank < 3) c.unsupported(`an input of rank ${rank} (instance normalisation needs spatial axes)`);
    const spatial = range(2, rank);
    const dy = c.dy() as string;
    const s = standardize(e, x, spatial, c.attrFloat('epsilon', 1e-5));
    const perChannel = e.unsqueeze(scale, range(1, rank - 1));
    return [
      c.needs(0) ? standardizeBackward(e, s, e.mul(dy, perChannel)) : undefined,
      c.needs(1) ? e.reduceSum(e.mul(dy, s.xhat), [0, ...spatial], false) : undefined,
      c.needs(2) ? e.reduceSum(dy, [0, ...spatial], false) : undefined,
    ];
  },
};
