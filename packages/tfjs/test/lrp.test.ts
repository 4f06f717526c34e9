import * as tf from '@tensorflow/tfjs';
import { ArgumentError, type LrpLayerRule } from '@attribution/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { UnsupportedLrpLayerError, fromTfjs } from '../src/index.js';

/**
 * LRP on tf.LayersModels, checked against a layer-by-layer reference written here with Captum's rules:
 * `R_x = x ⊙ ∂/∂x Σ z'(x) ⊙ R_z / (z' + ε·sign z')` with `z'` the layer recomputed with the rule's weights.
 */

function sign0(t: tf.Tensor): tf.Tensor {
  return tf.where(tf.less(t, 0), tf.fill(t.shape, -1), tf.onesLike(t));
}

/** Captum's rule for a layer computing `f(x)` (with the rule's weights), given the relevance at its output. */
function linear(f: (x: tf.Tensor) => tf.Tensor, x: tf.Tensor, r: tf.Tensor, epsilon = 1e-9): tf.Tensor {
  const z = f(x);
  const s = tf.div(r, tf.add(z, tf.mul(sign0(z), epsilon)));
  return tf.mul(x, tf.grad((v: tf.Tensor) => tf.sum(tf.mul(f(v), s)))(x));
}

const gammaW = (w: tf.Tensor, gamma = 0.25): tf.Tensor => tf.add(w, tf.mul(tf.relu(w), gamma));
const weightsOf = (model: tf.LayersModel, name: string): tf.Tensor[] => model.getLayer(name).getWeights();

async function lrp(model: tf.LayersModel, x: tf.Tensor, w: tf.Tensor, rules?: Record<string, LrpLayerRule>): Promise<tf.Tensor> {
  const wrapped = fromTfjs(model);
  const result = await wrapped.gradient({ inputs: [x], outputWeights: w, wrt: [{ input: 0 }], rule: { lrp: rules ? { rules } : {} } });
  tf.dispose(result.output);
  return result.gradients[0] as tf.Tensor;
}

function expectClose(got: tf.Tensor, want: tf.Tensor, what = ''): void {
  expect(got.shape).toEqual(want.shape);
  const [g, e] = [got.dataSync(), want.dataSync()];
  const scale = Math.max(1e-6, ...Array.from(e, Math.abs));
  e.forEach((v, i) => expect(Math.abs((g[i] as number) - v), `${what} element ${i}`).toBeLessThan(1e-4 * scale + 1e-6));
}

describe('LRP on a tf.Sequential CNN (Conv2D, MaxPooling2D, Flatten, Dropout, Dense)', () => {
  tf.setBackend('cpu');
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [5, 5, 1], filters: 3, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv', biasInitializer: 'randomNormal' }),
      tf.layers.maxPooling2d({ poolSize: 2, name: 'pool' }),
      tf.layers.flatten({ name: 'flat' }),
      tf.layers.dropout({ rate: 0.5, name: 'drop' }),
      tf.layers.dense({ units: 6, activation: 'tanh', name: 'fc1', biasInitializer: 'randomNormal' }),
      tf.layers.dense({ units: 4, activation: 'relu', name: 'fc2', biasInitializer: 'randomNormal' }),
      tf.layers.dense({ units: 3, name: 'out', biasInitializer: 'randomNormal' }),
    ],
  });
  const x = tf.randomNormal([2, 5, 5, 1], 0, 1, 'float32', 7);
  const w = tf.oneHot(tf.tensor1d([0, 2], 'int32'), 3).toFloat();
  afterAll(() => {
    tf.dispose([x, w]);
    model.dispose();
  });

  /** The reference, with `conv` and `out` optionally taking the gamma rule and `fc1` an epsilon. */
  function reference(opts: { gammaConv?: boolean; gammaOut?: boolean; epsilonFc1?: number }): tf.Tensor {
    return tf.tidy(() => {
      const [k, kb] = weightsOf(model, 'conv') as [tf.Tensor4D, tf.Tensor];
      const [w1, b1] = weightsOf(model, 'fc1') as [tf.Tensor2D, tf.Tensor];
      const [w2, b2] = weightsOf(model, 'fc2') as [tf.Tensor2D, tf.Tensor];
      const [w3, b3] = weightsOf(model, 'out') as [tf.Tensor2D, tf.Tensor];
      const conv = (kernel: tf.Tensor4D) => (v: tf.Tensor) => tf.add(tf.conv2d(v as tf.Tensor4D, kernel, 1, 'same'), kb);
      const a1 = tf.relu(conv(k)(x));
      const p = tf.maxPool(a1 as tf.Tensor4D, 2, 2, 'valid');
      const flat = tf.reshape(p, [2, -1]);
      const a2 = tf.tanh(tf.add(tf.matMul(flat, w1), b1));
      const a3 = tf.relu(tf.add(tf.matMul(a2, w2), b2));
      const r3 = linear((v) => tf.add(tf.matMul(v, opts.gammaOut ? gammaW(w3) : w3), b3), a3, w);
      const r2 = linear((v) => tf.add(tf.matMul(v, w2), b2), a2, r3);
      const rFlat = linear((v) => tf.add(tf.matMul(v, w1), b1), flat, r2, opts.epsilonFc1);
      const rA1 = linear((v) => tf.maxPool(v as tf.Tensor4D, 2, 2, 'valid'), a1, tf.reshape(rFlat, p.shape));
      return linear(conv(opts.gammaConv ? (gammaW(k) as tf.Tensor4D) : k), x, rA1);
    });
  }

  it('matches the reference with the default rules', async () => {
    const got = await lrp(model, x, w);
    const want = reference({});
    expectClose(got, want);
    tf.dispose([got, want]);
  });

  it('applies rules by layer name (gamma on a convolution and a fused dense layer, epsilon 0.25)', async () => {
    const cases: [Record<string, LrpLayerRule>, Parameters<typeof reference>[0]][] = [
      [{ fc1: { rule: 'epsilon', epsilon: 0.25 } }, { epsilonFc1: 0.25 }],
      [{ out: { rule: 'gamma', gamma: 0.25 } }, { gammaOut: true }],
      [{ conv: { rule: 'gamma' } }, { gammaConv: true }],
      [{ conv: { rule: 'gamma' }, out: { rule: 'gamma', gamma: 0.25 }, fc1: { rule: 'epsilon', epsilon: 0.25 } }, { gammaConv: true, gammaOut: true, epsilonFc1: 0.25 }],
    ];
    for (const [rules, opts] of cases) {
      const got = await lrp(model, x, w, rules);
      const want = reference(opts);
      try {
        expectClose(got, want, JSON.stringify(rules));
      } finally {
        tf.dispose([got, want]);
      }
    }
  });

  it('frees what it allocates', async () => {
    const warm = await lrp(model, x, w, { conv: { rule: 'alpha1beta0' } });
    warm.dispose();
    const before = tf.memory().numTensors;
    const again = await lrp(model, x, w, { conv: { rule: 'alpha1beta0' } });
    again.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses a rule for a layer the model does not have', async () => {
    await expect(lrp(model, x, w, { conv9: { rule: 'epsilon' } })).rejects.toThrow(ArgumentError);
  });
});

describe('LRP through AveragePooling2D, BatchNormalization and GlobalAveragePooling2D', () => {
  const input = tf.input({ shape: [4, 4, 2] });
  const avg = tf.layers.averagePooling2d({ poolSize: 2, name: 'avg' }).apply(input) as tf.SymbolicTensor;
  const bnLayer = tf.layers.batchNormalization({ name: 'bn' });
  const bn = bnLayer.apply(avg) as tf.SymbolicTensor;
  const gap = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(bn) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 2, name: 'out', biasInitializer: 'randomNormal' }).apply(gap) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  bnLayer.setWeights([tf.tensor1d([0.5, -1.5]), tf.tensor1d([0.2, -0.1]), tf.tensor1d([0.3, -0.2]), tf.tensor1d([0.8, 1.7])]);
  const x = tf.randomNormal([3, 4, 4, 2], 0, 1, 'float32', 3);
  const w = tf.oneHot(tf.tensor1d([1, 0, 1], 'int32'), 2).toFloat();
  afterAll(() => {
    tf.dispose([x, w]);
    model.dispose();
  });

  function reference(gammaBn: boolean): tf.Tensor {
    return tf.tidy(() => {
      const [scale, offset, mean, variance] = weightsOf(model, 'bn') as tf.Tensor[];
      const [w3, b3] = weightsOf(model, 'out') as [tf.Tensor2D, tf.Tensor];
      const eps = (bnLayer.getConfig().epsilon as number) ?? 1e-3;
      const norm = (s: tf.Tensor) => (v: tf.Tensor) => tf.add(tf.mul(tf.div(tf.sub(v, mean!), tf.sqrt(tf.add(variance!, eps))), s), offset!);
      const a = tf.avgPool(x as tf.Tensor4D, 2, 2, 'valid');
      const b = norm(scale!)(a);
      const g = tf.mean(b, [1, 2]);
      const rG = linear((v) => tf.add(tf.matMul(v, w3), b3), g, w);
      const rB = linear((v) => tf.mean(v, [1, 2]), b, rG);
      const rA = linear(norm(gammaBn ? gammaW(scale!) : scale!), a, rB);
      return linear((v) => tf.avgPool(v as tf.Tensor4D, 2, 2, 'valid'), x, rA);
    });
  }

  it('matches the reference, with the gamma rule on the batch norm too', async () => {
    for (const gammaBn of [false, true]) {
      const got = await lrp(model, x, w, gammaBn ? { bn: { rule: 'gamma' } } : undefined);
      const want = reference(gammaBn);
      expectClose(got, want);
      tf.dispose([got, want]);
    }
  });
});

describe('layers without an LRP rule', () => {
  it('are refused with an UnsupportedLrpLayerError naming the layer', async () => {
    const model = tf.sequential({
      layers: [tf.layers.dense({ inputShape: [3], units: 4, activation: 'sigmoid', name: 'squash' }), tf.layers.dense({ units: 2, name: 'head' })],
    });
    const x = tf.ones([1, 3]);
    const w = tf.tensor2d([[1, 0]]);
    const before = tf.memory().numTensors;
    const failure = await lrp(model, x, w).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(UnsupportedLrpLayerError);
    expect((failure as Error).message).toContain("'squash'");
    expect((failure as Error).message).toContain('Sigmoid');
    expect(tf.memory().numTensors).toBe(before);
    // The identity rule passes relevance through the layer instead.
    const passed = await lrp(model, x, w, { squash: { rule: 'identity' } }).catch((e: unknown) => e);
    expect(passed).toBeInstanceOf(ArgumentError); // a Dense layer changes the size: identity cannot apply
    tf.dispose([x, w]);
    model.dispose();
  });
});
