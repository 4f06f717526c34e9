import { standardize, standardizeBackward } from './normalization.js';
import type { GradientRule } from './types.js';

/**
 * com.microsoft SkipLayerNormalization, inputs (input, skip, gamma, beta?, bias?), outputs (output, mean?,
 * inv_std_var?, input_skip_bias_sum?): s = input + skip (+ bias), layer-normalised over the last axis,
 * x̂ = (s − μ)·r with r = 1/√(var + ε) (ε default 1e-12), output = x̂·gamma + beta. With g = dy·gamma:
 *
 *   ds = r·(g − mean(g) − x̂·mean(g·x̂)) + (dmean − dinv_std_var·r²·x̂)/H + d(input_skip_bias_sum),
 *   dinput = sumTo(ds), dskip = sumTo(ds) (skip may be broadcast), dbias = sumTo(ds),
 *   dgamma = sumTo(dy·x̂), dbeta = sumTo(dy).
 */
export const skipLayerNormalizationGrad: GradientRule = {
  inputs: [0, 1, 2, 3, 4],
  backward: (c) => {
    const { e } = c;
    const [input, skip, gamma, beta, bias] = [0, 1, 2, 3, 4].map((i) => c.input(i)) as [string, string, string, string, string];
    const y = c.output(0);
    const rank = c.rank(input);
    let sum = e.add(input, skip);
    if (bias) sum = e.add(sum, bias);
    const hidden = c.shape(input)?.[rank - 1];
    const s = standardize(e, sum, [rank - 1], c.attrFloat('epsilon', 1e-12), input, typeof hidden === 'number' ? hidden : undefined);
    const dy = c.dy(0);
    const stat = (k: number): string | undefined => {
      const d = c.dy(k);
      return d ? e.castLike(d, c.output(k), input) : undefined;
    };
    const normalized = standardizeBackward(e, s, dy && e.mul(dy, gamma), stat(1), stat(2));
    const direct = c.dy(3);
    const ds = normalized && direct ? e.add(normalized, direct) : (normalized ?? direct);
    const to = (i: number, name: string): string | undefined => (ds && c.needs(i) && name ? e.sumTo(ds, y, name) : undefined);
    return [
      to(0, input),
      to(1, skip),
      c.needs(2) && dy ? e.sumTo(e.mul(dy, s.xhat), y, gamma) : undefined,
      c.needs(3) && dy && beta ? e.sumTo(dy, y, beta) : undefined,
      to(4, bias),
    ];
  },
};
