import { base, epsilonOf, ruleOf, stabilised } from './common.js';
import type { LrpRule } from './types.js';

/**
 * Add. With one varying operand (a bias, a constant offset) relevance passes to it unchanged, as it does
 * through a functional `+` in PyTorch (and the bias of a MatMul is folded into the MatMul's rule). With
 * two varying operands (a residual connection) it is Captum's `Addition_Module` under the epsilon rule:
 * `R_a = a ⊙ R / (a + b + ε·sign)`, likewise for `b`.
 */
export const addLrp: LrpRule = {
  inputs: [0, 1],
  backward: (c, options) => {
    const { e } = c;
    const r = c.dy() as string;
    if (!(c.needs(0) && c.needs(1))) return base('Add').backward(c);
    const rule = ruleOf(c.node, options);
    if (rule.rule === 'identity') return c.unsupported('the identity rule needs a layer with one input');
    const s = stabilised(c, r, c.output(0), epsilonOf(rule));
    const g = base('Add').backward({ ...c, dy: (i = 0) => (i === 0 ? s : undefined) });
    return [0, 1].map((i) => (g[i] ? e.mul(c.input(i), g[i] as string) : undefined));
  },
};
