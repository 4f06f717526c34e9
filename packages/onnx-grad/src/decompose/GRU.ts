import type { Decomposition } from './index.js';
import { Recurrent, type Activation } from './recurrent.js';

/**
 * GRU unrolled over its time steps (opsets 7 and 14: directions, initial state, sequence_lens, layout,
 * clip, activations, linear_before_reset). Per direction, with gates in W, R, B ordered z, r, h:
 *
 *   zₜ = f(Xₜ·W_zᵀ + Hₜ₋₁·R_zᵀ + Wb_z + Rb_z)
 *   rₜ = f(Xₜ·W_rᵀ + Hₜ₋₁·R_rᵀ + Wb_r + Rb_r)
 *   hₜ = g(Xₜ·W_hᵀ + (rₜ ⊙ Hₜ₋₁)·R_hᵀ + Rb_h + Wb_h)            (linear_before_reset = 0)
 *   hₜ = g(Xₜ·W_hᵀ + rₜ ⊙ (Hₜ₋₁·R_hᵀ + Rb_h) + Wb_h)            (linear_before_reset ≠ 0)
 *   Hₜ = (1 − zₜ) ⊙ hₜ + zₜ ⊙ Hₜ₋₁
 *
 * with every gate input clipped to [−clip, clip] when `clip` is set. Y stacks the Hₜ, Y_h is the last
 * state (see `recurrent.ts` for sequence lengths and the reverse direction).
 */
export const gruDecomposition: Decomposition = {
  expand(c) {
    const r = new Recurrent(c, 'GRU');
    const { e, hidden: h } = r;
    const linearBeforeReset = c.attrInt('linear_before_reset', 0) !== 0;
    const one = r.scalar(1);
    const results = r.directions.map((direction, d) => {
      const [f, g] = r.activations[d] as [Activation, Activation];
      let xw = r.linear(r.x, r.direction(1, d));
      let hiddenBias: string | undefined;
      if (c.input(3)) {
        const [wb, rb] = r.split(r.direction(3, d), 0, [3 * h, 3 * h]) as [string, string];
        if (linearBeforeReset) {
          // Rb_h is added to Hₜ₋₁·R_hᵀ, inside the reset gate's product.
          const [rbzr, rbh] = r.split(rb, 0, [2 * h, h]) as [string, string];
          const [wbzr, wbh] = r.split(wb, 0, [2 * h, h]) as [string, string];
          xw = e.add(xw, e.op('Concat', [e.add(wbzr, rbzr), wbh], { axis: 0 }));
          hiddenBias = rbh;
        } else {
          xw = e.add(xw, e.add(wb, rb));
        }
      }
      const [rzr, rh] = r.split(r.direction(2, d), 0, [2 * h, h]) as [string, string];
      const recurrenceZR = e.transpose(rzr, [1, 0]);
      const recurrenceH = e.transpose(rh, [1, 0]);
      return r.unroll(direction === 'reverse', xw, 3 * h, [r.initial(5, d)], (xt, [hPrev]) => {
        const prev = hPrev as string;
        const [xz, xr, xh] = r.split(xt, 2, [h, h, h]) as [string, string, string];
        const [hz, hr] = r.split(e.op('MatMul', [prev, recurrenceZR]), 2, [h, h]) as [string, string];
        const z = r.activate(r.clipped(e.add(xz, hz)), f);
        const reset = r.activate(r.clipped(e.add(xr, hr)), f);
        let candidate: string;
        if (linearBeforeReset) {
          let linear = e.op('MatMul', [prev, recurrenceH]);
          if (hiddenBias) linear = e.add(linear, hiddenBias);
          candidate = e.add(xh, e.mul(reset, linear));
        } else {
          candidate = e.add(xh, e.op('MatMul', [e.mul(reset, prev), recurrenceH]));
        }
        const hh = r.activate(r.clipped(candidate), g);
        return [e.add(e.mul(e.sub(one, z), hh), e.mul(z, prev))];
      });
    });
    return r.outputs(results);
  },
};
