import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { createRandom } from '@attribution/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { fromTfjs } from '../src/index.js';

// Converted models run fused convolutions and matrix products with a linear activation (batch norm folded into
// the bias). tfjs's gradient of those computes filter and bias gradients too — which tfjs-wasm cannot
// (no Conv2DBackpropFilter) and which attribution never needs. The adapter gives them input-only gradients:
// equal to the unfused model's, on every backend, with no filter-gradient kernel run.

const rng = createRandom(20261206);
const values = (n: number, scale = 1): Float32Array => Float32Array.from({ length: n }, () => (rng.next() * 2 - 1) * scale);

// A small converted-style network: fused conv (bias, linear) → relu6 → fused depthwise (bias, linear) → fused conv
// stride 2 without bias → flatten → fused matMul (bias) → fused matMul (transposeB).
const w = {
  c1: values(3 * 3 * 3 * 4, 0.5),
  b1: values(4, 0.1),
  d1: values(3 * 3 * 4 * 2, 0.5),
  bd: values(8, 0.1),
  c2: values(2 * 2 * 8 * 6, 0.5),
  m1: values(3 * 3 * 6 * 5, 0.3),
  bm: values(5, 0.1),
  m2: values(4 * 5, 0.5),
  bnMean: values(8, 0.3),
  bnVar: Float32Array.from(values(8, 0.5), (v) => 0.6 + v),
  bnOffset: values(8, 0.2),
  bnScale: values(8, 1),
};

function network(fused: boolean): { net: (x: tf.Tensor) => tf.Tensor; weights: tf.Tensor[] } {
  const c1 = tf.tensor4d(w.c1, [3, 3, 3, 4]);
  const b1 = tf.tensor1d(w.b1);
  const d1 = tf.tensor4d(w.d1, [3, 3, 4, 2]);
  const bd = tf.tensor1d(w.bd);
  const c2 = tf.tensor4d(w.c2, [2, 2, 8, 6]);
  const m1 = tf.tensor2d(w.m1, [54, 5]);
  const bm = tf.tensor1d(w.bm);
  const m2 = tf.tensor2d(w.m2, [4, 5]);
  const [mean, variance, offset, scale] = [w.bnMean, w.bnVar, w.bnOffset, w.bnScale].map((v) => tf.tensor1d(v)) as [tf.Tensor1D, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
  const net = (x: tf.Tensor): tf.Tensor => {
    if (fused) {
      let h = tf.fused.conv2d({ x: x as tf.Tensor4D, filter: c1, strides: 1, pad: 'same', bias: b1 });
      h = tf.clipByValue(h, 0, 6);
      h = tf.fused.depthwiseConv2d({ x: h as tf.Tensor4D, filter: d1, strides: 1, pad: 'same', bias: bd });
      // Inference batch norm (tfjs's FusedBatchNorm kernel), with a scale and without one.
      h = tf.batchNorm(tf.batchNorm(h, mean, variance, offset, scale, 1e-3), mean, variance, undefined, undefined, 1e-3);
      h = tf.fused.conv2d({ x: h as tf.Tensor4D, filter: c2, strides: 2, pad: 'valid' });
      const flat = tf.reshape(h, [x.shape[0] as number, -1]) as tf.Tensor2D;
      const z = tf.fused.matMul({ a: flat, b: m1, bias: bm });
      return tf.fused.matMul({ a: tf.tanh(z) as tf.Tensor2D, b: m2, transposeB: true });
    }
    let h = tf.add(tf.conv2d(x as tf.Tensor4D, c1, 1, 'same'), b1);
    h = tf.clipByValue(h, 0, 6);
    h = tf.add(tf.depthwiseConv2d(h as tf.Tensor4D, d1, 1, 'same'), bd);
    const norm = (t: tf.Tensor): tf.Tensor => tf.div(tf.sub(t, mean), tf.sqrt(tf.add(variance, 1e-3)));
    h = norm(tf.add(tf.mul(norm(h), scale), offset));
    h = tf.conv2d(h as tf.Tensor4D, c2, 2, 'valid');
    const flat = tf.reshape(h, [x.shape[0] as number, -1]) as tf.Tensor2D;
    const z = tf.add(tf.matMul(flat, m1), bm);
    return tf.matMul(tf.tanh(z), m2, false, true);
  };
  return { net, weights: [c1, b1, d1, bd, c2, m1, bm, m2, mean, variance, offset, scale] };
}

async function inputGradient(fused: boolean, x: tf.Tensor, weights: tf.Tensor): Promise<{ grad: Float32Array; kernels: string[] }> {
  const { net, weights: params } = network(fused);
  const model = fromTfjs(net);
  let result: Awaited<ReturnType<typeof model.gradient>> | undefined;
  const profile = await tf.profile(async () => {
    result = await model.gradient({ inputs: [x], outputWeights: weights, wrt: [{ input: 0 }] });
  });
  const r = result as NonNullable<typeof result>;
  const grad = (await (r.gradients[0] as tf.Tensor).data()) as Float32Array;
  tf.dispose([r.output, ...r.gradients, ...params]);
  return { grad, kernels: profile.kernels.map((k) => k.name) };
}

describe('input-only gradients of fused operations', () => {
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  for (const backend of ['cpu', 'wasm'] as const) {
    it(`equal the unfused model's and run no filter gradient on tfjs-${backend}`, async () => {
      await tf.setBackend(backend);
      await tf.ready();
      const x = tf.tensor4d(values(2 * 6 * 6 * 3), [2, 6, 6, 3]);
      const weights = tf.tensor2d(values(2 * 4), [2, 4]);
      const before = tf.memory().numTensors;
      const fused = await inputGradient(true, x, weights);
      const plain = await inputGradient(false, x, weights);
      const scale = Math.max(...plain.grad.map(Math.abs));
      expect(scale).toBeGreaterThan(1e-3);
      for (let i = 0; i < plain.grad.length; i++) expect(Math.abs((fused.grad[i] as number) - (plain.grad[i] as number))).toBeLessThan(1e-5 * scale + 1e-6);
      // The fused kernels ran, and no filter/weight gradient did.
      expect(fused.kernels).toEqual(expect.arrayContaining(['FusedConv2D', 'FusedDepthwiseConv2D', '_FusedMatMul', 'FusedBatchNorm']));
      expect(fused.kernels.filter((k) => /BackpropFilter|Tile/.test(k))).toEqual([]);
      expect(plain.kernels.filter((k) => /BackpropFilter/.test(k))).toEqual([]);
      expect(tf.memory().numTensors).toBeLessThanOrEqual(before);
      tf.dispose([x, weights]);
    });
  }

  it('leaves a fused gradient whose filter depends on the input to tfjs (both gradients flow)', async () => {
    await tf.setBackend('cpu');
    const x = tf.tensor4d(values(1 * 4 * 4 * 2), [1, 4, 4, 2]);
    const f = tf.tensor4d(values(2 * 2 * 2 * 3), [2, 2, 2, 3]);
    const dynamic = (t: tf.Tensor): tf.Tensor => tf.fused.conv2d({ x: t as tf.Tensor4D, filter: tf.mul(f, tf.mean(t)) as tf.Tensor4D, strides: 1, pad: 'valid' });
    const reference = (t: tf.Tensor): tf.Tensor => tf.conv2d(t as tf.Tensor4D, tf.mul(f, tf.mean(t)) as tf.Tensor4D, 1, 'valid');
    const weights = tf.onesLike(reference(x));
    const ours = await fromTfjs(dynamic).gradient({ inputs: [x], outputWeights: weights, wrt: [{ input: 0 }] });
    const expected = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(reference(t), weights)))(x);
    const a = await (ours.gradients[0] as tf.Tensor).data();
    const b = await expected.data();
    for (let i = 0; i < b.length; i++) expect(a[i]).toBeCloseTo(b[i] as number, 4);
    tf.dispose([x, f, weights, ours.output, ...ours.gradients, expected]);
  });
});
