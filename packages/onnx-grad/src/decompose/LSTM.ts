import type { Decomposition } from './index.js';
import { Recurrent, type Activation } from './recurrent.js';

/**
 * LSTM unrolled over its time steps (opsets 7 and 14: directions, initial states, sequence_lens, layout,
 * clip, activations, input_forget, peepholes). Per direction, with gates in W, R, B ordered i, o, f, c and
 * peepholes P ordered i, o, f:
 *
 *   iₜ = f(Xₜ·Wᵢᵀ + Hₜ₋₁·Rᵢᵀ + Pᵢ ⊙ Cₜ₋₁ + Wbᵢ + Rbᵢ)
 *   fₜ = f(Xₜ·W_fᵀ + Hₜ₋₁·R_fᵀ + P_f ⊙ Cₜ₋₁ + Wb_f + Rb_f)      (1 − iₜ with input_forget)
 *   cₜ = g(Xₜ·W_cᵀ + Hₜ₋₁·R_cᵀ + Wb_c + Rb_c)
 *   Cₜ = fₜ ⊙ Cₜ₋₁ + iₜ ⊙ cₜ
 *   oₜ = f(Xₜ·W_oᵀ + Hₜ₋₁·R_oᵀ + P_o ⊙ Cₜ + Wb_o + Rb_o)
 *   Hₜ = oₜ ⊙ h(Cₜ)
 *
 * with every gate input clipped to [−clip, clip] when `clip` is set. Y stacks the Hₜ, Y_h and Y_c are the
 * last states (see `recurrent.ts` for sequence lengths and the reverse direction).
 */
export const lstmDecomposition: Decomposition = {
  expand(c) {
    const r = new Recurrent(c, 'LSTM');
    const { e, hidden: h } = r;
    const inputForget = c.attrInt('input_forget', 0) !== 0;
    const one = r.scalar(1);
    const results = r.directions.map((direction, d) => {
      const [f, g, act] = r.activations[d] as [Activation, Activation, Activation];
      let xw = r.linear(r.x, r.direction(1, d));
      if (c.input(3)) {
        const [wb, rb] = r.split(r.direction(3, d), 0, [4 * h, 4 * h]) as [string, string];
        xw = e.add(xw, e.add(wb, rb));
      }
      const recurrence = e.transpose(r.direction(2, d), [1, 0]);
      const peepholes = c.input(7) ? r.split(r.direction(7, d), 0, [h, h, h]) : undefined;
      const init = [r.initial(5, d), r.initial(6, d)];
      return r.unroll(direction === 'reverse', xw, 4 * h, init, (xt, [hPrev, cPrev]) => {
        const gates = e.add(xt, e.op('MatMul', [hPrev as string, recurrence]));
        const parts = r.split(gates, 2, [h, h, h, h]) as [string, string, string, string];
        let [gi, go, gf] = parts;
        const gc = parts[3];
        if (peepholes) {
          gi = e.add(gi, e.mul(cPrev as string, peepholes[0] as string));
          gf = e.add(gf, e.mul(cPrev as string, peepholes[2] as string));
        }
        const i = r.activate(r.clipped(gi), f);
        const forget = inputForget ? e.sub(one, i) : r.activate(r.clipped(gf), f);
        const candidate = r.activate(r.clipped(gc), g);
        const cell = e.add(e.mul(cPrev as string, forget), e.mul(i, candidate));
        if (peepholes) go = e.add(go, e.mul(cell, peepholes[1] as string));
        const o = r.activate(r.clipped(go), f);
        return [e.mul(r.activate(cell, act), o), cell];
      });
    });
    return r.outputs(results);
  },
};
