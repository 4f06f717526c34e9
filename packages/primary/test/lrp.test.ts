import * as tf from '@tensorflow/tfjs';
import { fromTfjs } from '@attribution/tfjs';
import { ArgumentError, type BackwardRule, type GradientRequest, type Model } from '@attribution/tensor';
import { describe, expect, it } from 'vitest';
import { LRP, primaryMethods } from '../src/index.js';

// The numbers against Captum run on ONNX models (the rule set lives in @attribution/onnx-grad; see its
// lrp.test.ts and the conformance cases in cases-lrp.json). Here: what the method adds on top of the backend's
// normalised relevances, with a backend stub computing the ε-rule of one linear layer by hand.

const W = [
  [1, -2, 0.5],
  [0.25, 1, -1],
];
const B = [0.5, -0.25];
const layer = (x: tf.Tensor): tf.Tensor => tf.add(tf.matMul(x, tf.tensor2d(W), false, true), tf.tensor1d(B));

/** A model whose gradient, under the LRP rule, is `x ⊙ Wᵀ(w / (z + ε·sign z))` (ε = 1e-9, or the rule's). */
function lrpStub(): { model: Model<tf.Tensor>; rules: BackwardRule[] } {
  const inner = fromTfjs(layer);
  const rules: BackwardRule[] = [];
  const model: Model<tf.Tensor> = {
    backend: inner.backend,
    forward: (r) => inner.forward(r),
    gradient: async (r: GradientRequest<tf.Tensor>) => {
      rules.push(r.rule ?? 'gradient');
      if (typeof r.rule !== 'object') return inner.gradient(r);
      const x = r.inputs[0] as tf.Tensor;
      const eps = (r.rule.lrp.rules?.fc as { epsilon?: number } | undefined)?.epsilon ?? 1e-9;
      const [output, relevance] = tf.tidy(() => {
        const z = layer(x);
        const sign = tf.where(tf.less(z, 0), tf.fill(z.shape, -1), tf.fill(z.shape, 1));
        const s = tf.div(r.outputWeights, tf.add(z, tf.mul(sign, eps)));
        return [z, tf.mul(x, tf.matMul(s, tf.tensor2d(W)))];
      });
      return { output, gradients: [relevance], captured: [] };
    },
  };
  return { model, rules };
}

describe('LRP', () => {
  const x = (): tf.Tensor => tf.tensor2d([
    [1, 2, 3],
    [-1, 0.5, 2],
  ]);

  it('scales the normalised relevance by the target output, and returns F(x) − Σ relevance as delta', async () => {
    const { model, rules } = lrpStub();
    const { attributions, delta } = await new LRP(model).attribute(x(), { target: [0, 1], returnConvergenceDelta: true });
    const got = Array.from(await attributions.data());
    // ε → 0: R_i = x_i · W[t][i] · z_t / (z_t + ε) ≈ x_i · W[t][i].
    const want = [1 * 1, 2 * -2, 3 * 0.5, -1 * 0.25, 0.5 * 1, 2 * -1];
    got.forEach((v, i) => expect(v).toBeCloseTo(want[i] as number, 5));
    // The bias absorbs relevance: δ = z_t − Σ_i x_i W[t][i] = b_t.
    const d = Array.from(await (delta as tf.Tensor).data());
    expect(d[0]).toBeCloseTo(0.5, 5);
    expect(d[1]).toBeCloseTo(-0.25, 5);
    expect(rules).toContainEqual({ lrp: {} });
    tf.dispose([attributions, delta as tf.Tensor]);
  });

  it('passes per-layer rules to the backend', async () => {
    const { model, rules } = lrpStub();
    const { attributions } = await new LRP(model).attribute(x(), { target: 0, rules: { fc: { rule: 'epsilon', epsilon: 0.25 } } });
    expect(rules).toContainEqual({ lrp: { rules: { fc: { rule: 'epsilon', epsilon: 0.25 } } } });
    // z_0 = 1 - 4 + 1.5 + 0.5 = -1: R = x ⊙ W[0] · z / (z - 0.25).
    const got = Array.from(await attributions.data()).slice(0, 3);
    [1, -4, 1.5].forEach((v, i) => expect(got[i]).toBeCloseTo((v * -1) / -1.25, 5));
    tf.dispose(attributions);
  });

  it('refuses malformed rules and unknown options with typed errors', async () => {
    const { model } = lrpStub();
    await expect(new LRP(model).attribute(x(), { target: 0, rules: { fc: { rule: 'zeta' } } as never })).rejects.toThrow(ArgumentError);
    await expect(new LRP(model).attribute(x(), { target: 0, rules: { fc: { rule: 'gamma', gamma: -1 } } })).rejects.toThrow(/gamma: expected a finite number ≥ 0/);
    await expect(new LRP(model).attribute(x(), { target: 0, verbose: true } as never)).rejects.toThrow(ArgumentError);
  });

  it('runs on the TensorFlow.js backend, as the hand-computed ε-rule', async () => {
    const got = await new LRP(fromTfjs(layer)).attribute(x(), { target: 0 });
    const want = await new LRP(lrpStub().model).attribute(x(), { target: 0 });
    const [g, w] = [await (got.attributions as tf.Tensor).data(), await (want.attributions as tf.Tensor).data()];
    w.forEach((v, i) => expect(g[i]).toBeCloseTo(v, 5));
    tf.dispose([got.attributions as tf.Tensor, want.attributions as tf.Tensor]);
  });

  it('is registered as lrp', () => {
    expect(primaryMethods.lrp?.className).toBe('LRP');
  });
});
