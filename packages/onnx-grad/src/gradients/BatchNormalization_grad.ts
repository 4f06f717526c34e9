import type { GradientRule } from './types.js';

/**
 * Inference batch norm y = (x − mean)/√(var + ε)·scale + B: dx = dy · scale/√(var + ε) per channel. When the
 * parameters are differentiated too (made inputs): dscale = Σ dy · (x − mean)/√(var + ε) and dB = Σ dy, summed
 * over every axis but the channel axis (1). The running mean and variance are statistics, not trained: no gradient.
 */
export const batchNormalizationGrad: GradientRule = {
  inputs: [0, 1, 2],
  backward: (c) => {
    const { e } = c;
    if (c.attrInt('training_mode', 0) !== 0 || c.node.output.filter(Boolean).length > 1) c.unsupported('training mode');
    const [x, scale, mean, variance] = [c.input(0), c.input(1), c.input(3), c.input(4)];
    const dy = c.dy() as string;
    const eps = e.constant([c.attrFloat('epsilon', 1e-5)], e.graph.info(variance).elemType ?? e.floatType(x), []);
    const rank = c.rank(x);
    const spatial = Array.from({ length: rank - 2 }, (_, i) => i + 1);
    const inverse = e.op('Reciprocal', [e.op('Sqrt', [e.add(variance, eps)])]);
    const dx = c.needs(0) ? e.mul(dy, e.unsqueeze(e.castLike(e.mul(scale, inverse), scale, x), spatial)) : undefined;
    const others = [0, ...spatial.map((a) => a + 1)];
    let dscale: string | undefined;
    if (c.needs(1)) {
      const normed = e.mul(e.sub(x, e.unsqueeze(e.castLike(mean, mean, x), spatial)), e.unsqueeze(e.castLike(inverse, variance, x), spatial));
      dscale = e.castLike(e.reduceSum(e.mul(dy, normed), others, false), x, scale);
    }
    const dbias = c.needs(2) ? e.castLike(e.reduceSum(dy, others, false), x, c.input(2)) : undefined;
    return [dx, dscale, dbias];
  },
};
