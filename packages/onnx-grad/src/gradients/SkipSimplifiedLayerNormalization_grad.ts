import { rmsBackward, rmsStats } from './rms-normalization.js';
import type { GradientRule } from './types.js';

/**
 * com.microsoft SkipSimplifiedLayerNormalization (skip connection and RMSNorm), inputs (input, skip, gamma,
 * bias?), outputs (output, mean?, inv_std_var?, input_skip_bias_sum?): s = input + skip (+ bias), and over the
 * last axis output = s·r·gamma with r = 1/√(mean(s²) + ε) (ε default 10⁻¹²). With u = s·r and g = dy·gamma:
 *
 *   ds = r·(g − u·mean(g·u)) − dinv_std_var·r²·u/H + d(input_skip_bias_sum),
 *   dinput = sumTo(ds), dskip = sumTo(ds), dbias = sumTo(ds), dgamma = sumTo(dy·u).
 *
 * An RMS normalisation has no mean: ONNX Runtime fills the `mean` output with zeros, so a gradient flowing
 * into it reaches no input.
 */
export const skipSimplifiedLayerNormalizationGrad: GradientRule = {
  inputs: [0, 1, 2, 3],
  backward: (c) => {
    const { e } = c;
    const [input, skip, gamma, bias] = [0, 1, 2, 3].map((i) => c.input(i)) as [string, string, string, string];
    const y = c.output(0);
    const rank = c.rank(input);
    let sum = e.add(input, skip);
    if (bias) sum = e.add(sum, bias);
    const hidden = c.shape(input)?.[rank - 1];
    const s = rmsStats(e, sum, [rank - 1], c.attrFloat('epsilon', 1e-12), input, typeof hidden === 'number' ? hidden : undefined);
    const dy = c.dy(0);
    const dInv = c.dy(2);
    const normalized = rmsBackward(e, s, dy && e.mul(dy, gamma), dInv && e.castLike(dInv, c.output(2), input));
    const direct = c.dy(3);
    const ds = normalized && direct ? e.add(normalized, direct) : (normalized ?? direct);
    const to = (i: number, name: string): string | undefined => (ds && c.needs(i) && name ? e.sumTo(ds, y, name) : undefined);
    return [to(0, input), to(1, skip), c.needs(2) && dy ? e.sumTo(e.mul(dy, s.u), y, gamma) : undefined, to(3, bias)];
  },
};
