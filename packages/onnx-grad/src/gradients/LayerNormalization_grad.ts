import { normAxis } from '../shapes.js';
import { range, standardize, standardizeBackward } from './normalization.js';
import type { GradientRule } from './types.js';

/**
 * LayerNormalization (opset 17): over the axes A = [axis, rank), x̂ = (x − μ)·r with r = 1/√(var + ε), and
 * y = x̂·Scale + B (Scale and B unidirectionally broadcast to x). The optional outputs Mean = μ and
 * InvStdDev = r (of type `stash_type`, float32 by default) may carry gradients too. With g = dy·Scale and N
 * the number of elements over A:
 *
 *   dx = r·(g − mean_A(g) − x̂·mean_A(g·x̂)) + (dMean − dInvStdDev·r²·x̂)/N,
 *   dScale = sumTo(dy·x̂),  dB = sumTo(dy).
 *
 * The statistics are recomputed in the element type of x (stash_type only sets the forward precision).
 */
export const layerNormalizationGrad: GradientRule = {
  inputs: [0, 1, 2],
  backward: (c) => {
    const { e } = c;
    const [x, scale, bias, y] = [c.input(0), c.input(1), c.input(2), c.output(0)];
    const rank = c.rank(x);
    const s = standardize(e, x, range(normAxis(c.attrInt('axis', -1), rank), rank), c.attrFloat('epsilon', 1e-5));
    const dy = c.dy(0);
    const stat = (k: number): string | undefined => {
      const d = c.dy(k);
      return d ? e.castLike(d, c.output(k), x) : undefined;
    };
    const dx = c.needs(0) ? standardizeBackward(e, s, dy && (scale ? e.mul(dy, scale) : dy), stat(1), stat(2)) : undefined;
    const dScale = c.needs(1) && dy ? e.sumTo(e.mul(dy, s.xhat), y, scale) : undefined;
    const dBias = c.needs(2) && dy ? e.sumTo(dy, y, bias) : undefined;
    return [dx, dScale, dBias];
  },
};
