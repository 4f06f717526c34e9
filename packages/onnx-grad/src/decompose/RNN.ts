import type { Decomposition } from './index.js';
import { Recurrent, type Activation } from './recurrent.js';

/**
 * The simple RNN unrolled over its time steps (opsets 7 and 14: directions, initial state, sequence_lens,
 * layout, clip, activations). Per direction:
 *
 *   Hₜ = f(Xₜ·Wᵀ + Hₜ₋₁·Rᵀ + Wb + Rb)
 *
 * with the activation's input clipped to [−clip, clip] when `clip` is set. Y stacks the Hₜ, Y_h is the last
 * state (see `recurrent.ts` for sequence lengths and the reverse direction).
 */
export const rnnDecomposition: Decomposition = {
  expand(c) {
    const r = new Recurrent(c, 'RNN');
    const { e, hidden: h } = r;
    const results = r.directions.map((direction, d) => {
      const f = r.activations[d]?.[0] as Activation;
      let xw = r.linear(r.x, r.direction(1, d));
      if (c.input(3)) {
        const [wb, rb] = r.split(r.direction(3, d), 0, [h, h]) as [string, string];
        xw = e.add(xw, e.add(wb, rb));
      }
      const recurrence = e.transpose(r.direction(2, d), [1, 0]);
      return r.unroll(direction === 'reverse', xw, h, [r.initial(5, d)], (xt, [hPrev]) => [
        r.activate(r.clipped(e.add(xt, e.op('MatMul', [hPrev as string, recurrence]))), f),
      ]);
    });
    return r.outputs(results);
  },
};
