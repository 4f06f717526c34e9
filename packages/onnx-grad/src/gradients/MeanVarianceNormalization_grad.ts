import { standardize, standardizeBackward } from './normalization.js';
import type { GradientRule } from './types.js';

/**
 * MeanVarianceNormalization (opsets 9, 13): y = (x − μ)/σ over `axes` (default [0, 2, 3]), μ and σ² the mean
 * and (biased) variance over those axes. As ONNX Runtime's kernel does, axes outside [−rank, rank) are
 * dropped and repeats ignored, and no ε is added (the ONNX function adds 10⁻⁹ to σ, below float precision).
 * With x̂ = y:  dx = (dy − mean(dy) − x̂·mean(dy·x̂))/σ.
 */
export const meanVarianceNormalizationGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const x = c.input(0);
    const rank = c.rank(x);
    const given = c.attrInts('axes') ?? [0, 2, 3];
    const axes = [...new Set(given.filter((a) => Number.isInteger(a) && a >= -rank && a < rank).map((a) => (a < 0 ? a + rank : a)))].sort((a, b) => a - b);
    if (axes.length === 0) c.unsupported(`axes [${given.join(', ')}], none of which is an axis of this rank-${rank} input`);
    const s = standardize(c.e, x, axes, 0);
    return [standardizeBackward(c.e, s, c.dy())];
  },
};
