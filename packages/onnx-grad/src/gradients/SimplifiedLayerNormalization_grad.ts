import { normAxis } from '../shapes.js';
import { range } from './normalization.js';
import { rmsBackward, rmsStats } from './rms-normalization.js';
import type { GradientRule } from './types.js';

/**
 * SimplifiedLayerNormalization (RMSNorm; ONNX Runtime registers it in the default domain, version 1):
 * over the axes A = [axis, rank) (axis default −1), y = x·r·scale with r = 1/√(mean_A(x²) + ε) (ε default
 * 10⁻⁵), scale broadcast to x; the optional output inv_std_var = r. With u = x·r and g = dy·scale:
 *
 *   dx = r·(g − u·mean_A(g·u)) − dinv_std_var·r²·u/N,  dscale = sumTo(dy·u).
 */
export const simplifiedLayerNormalizationGrad: GradientRule = {
  inputs: [0, 1],
  backward: (c) => {
    const { e } = c;
    const [x, scale, y] = [c.input(0), c.input(1), c.output(0)];
    const rank = c.rank(x);
    const axes = range(normAxis(c.attrInt('axis', -1), rank), rank);
    const shape = c.shape(x);
    const dims = axes.map((a) => shape?.[a]);
    const count = dims.every((d): d is number => typeof d === 'number') ? dims.reduce((p, d) => p * d, 1) : undefined;
    const s = rmsStats(e, x, axes, c.attrFloat('epsilon', 1e-5), x, count);
    const dy = c.dy(0);
    const dInv = c.dy(1);
    const dx = c.needs(0) ? rmsBackward(e, s, dy && e.mul(dy, scale), dInv && e.castLike(dInv, c.output(1), x)) : undefined;
    const dScale = c.needs(1) && dy ? e.sumTo(e.mul(dy, s.u), y, scale) : undefined;
    return [dx, dScale];
  },
};
