import type { GradientRule } from './types.js';

/** Inference batch norm y = (x − mean)/√(var + ε)·scale + B: dx = dy · scale/√(var + ε) per channel. */
export const batchNormalizationGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const { e } = c;
    if (c.attrInt('training_mode', 0) !== 0 || c.node.output.filter(Boolean).length > 1) c.unsupported('training mode');
    const [x, scale, variance] = [c.input(0), c.input(1), c.input(4)];
    const eps = e.constant([c.attrFloat('epsilon', 1e-5)], e.graph.info(variance).elemType ?? e.floatType(x), []);
    const factor = e.castLike(e.div(scale, e.op('Sqrt', [e.add(variance, eps)])), scale, x);
    const rank = c.rank(x);
    const perChannel = e.unsqueeze(factor, Array.from({ length: rank - 2 }, (_, i) => i + 1));
    return [e.mul(c.dy() as string, perChannel)];
  },
};
