import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { createRandom } from '@attribution/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { fromTfjs } from '../src/index.js';
import { registerMissingKernels } from '../src/kernels.js';

// tfjs-wasm has no DepthwiseConv2dNativeBackpropInput kernel; @attribution/tfjs supplies one. Its input
// gradients must equal tfjs-cpu's (own kernel) on random geometries: strides, padding modes,
// channel multipliers, batch sizes.

type Pad = 'same' | 'valid';
interface Geometry {
  batch: number;
  size: [number, number];
  channels: number;
  multiplier: number;
  filter: [number, number];
  strides: [number, number];
  dilations: [number, number];
  pad: Pad;
}

const rng = createRandom(20261129);
const pick = <T>(list: readonly T[]): T => list[rng.int(list.length)] as T;

// tfjs differentiates depthwise convolutions without dilation only (its gradient asserts dilations of 1);
// explicit numeric padding is left out because tfjs-wasm's own forward kernel writes out of bounds with it
// (e.g. a 3×2 filter with pad 1 on a [2, 4, 4, 3] input corrupts its heap, gradient or not).
function geometry(): Geometry {
  return {
    batch: 1 + rng.int(2),
    size: [4 + rng.int(6), 4 + rng.int(6)],
    channels: 1 + rng.int(4),
    multiplier: pick([1, 1, 2, 3]),
    filter: [1 + rng.int(3), 1 + rng.int(3)],
    strides: [pick([1, 2]), pick([1, 2, 3])],
    dilations: [1, 1],
    pad: pick<Pad>(['same', 'valid']),
  };
}

/** ∂/∂x of Σ depthwiseConv2d(x, f) ⊙ w on the current backend. */
async function inputGradient(g: Geometry, x: Float32Array, f: Float32Array, seed: number): Promise<Float32Array> {
  const grad = tf.tidy(() => {
    const xs = tf.tensor4d(x, [g.batch, ...g.size, g.channels]);
    const fs = tf.tensor4d(f, [...g.filter, g.channels, g.multiplier]);
    const y = tf.depthwiseConv2d(xs, fs, g.strides, g.pad, 'NHWC', g.dilations);
    const w = tf.randomUniform(y.shape, -1, 1, 'float32', seed);
    return tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.depthwiseConv2d(t as tf.Tensor4D, fs, g.strides, g.pad, 'NHWC', g.dilations), w)))(xs);
  });
  const data = (await grad.data()) as Float32Array;
  grad.dispose();
  return data;
}

describe('DepthwiseConv2dNativeBackpropInput on tfjs-wasm', () => {
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it('are registered on tfjs-wasm by fromTfjs, once', () => {
    registerMissingKernels();
    expect(tf.getKernel('DepthwiseConv2dNativeBackpropInput', 'wasm')).toBeDefined();
    // tfjs-wasm's own Conv2DBackpropInput is wrapped (and kept for strided convolutions).
    expect(tf.getKernel('Conv2DBackpropInput', 'wasm')?.kernelFunc.name).toBe('conv2DBackpropInputKernel');
    registerMissingKernels();
    expect(tf.getKernel('Conv2DBackpropInput', 'wasm')?.kernelFunc.name).toBe('conv2DBackpropInputKernel');
    // tfjs-cpu keeps its own kernel.
    expect(tf.getKernel('DepthwiseConv2dNativeBackpropInput', 'cpu')?.kernelFunc.name).not.toBe('depthwiseBackpropInputKernel');
  });

  it('matches tfjs-cpu on 40 random geometries', async () => {
    registerMissingKernels();
    for (let k = 0; k < 40; k++) {
      const g = geometry();
      const x = Float32Array.from({ length: g.batch * g.size[0] * g.size[1] * g.channels }, () => rng.normal());
      const f = Float32Array.from({ length: g.filter[0] * g.filter[1] * g.channels * g.multiplier }, () => rng.normal());
      await tf.setBackend('cpu');
      const want = await inputGradient(g, x, f, k);
      await tf.setBackend('wasm');
      const before = tf.memory().numTensors;
      const got = await inputGradient(g, x, f, k);
      expect(tf.memory().numTensors).toBe(before);
      expect(got.length).toBe(want.length);
      const scale = Math.max(1, ...Array.from(want, Math.abs));
      const worst = Math.max(...Array.from(got, (v, i) => Math.abs(v - (want[i] as number))));
      expect(worst, JSON.stringify(g)).toBeLessThan(1e-5 * scale);
    }
  });

  it('gradients of a MobileNet-style block (1×1 conv, depthwise 3×3 stride 1 and 2, ReLU6) on tfjs-wasm equal tfjs-cpu', async () => {
    const expand = tf.tensor4d(Float32Array.from({ length: 2 * 8 }, () => rng.normal()), [1, 1, 2, 8]);
    const dw1 = tf.tensor4d(Float32Array.from({ length: 9 * 8 }, () => rng.normal()), [3, 3, 8, 1]);
    const dw2 = tf.tensor4d(Float32Array.from({ length: 9 * 8 }, () => rng.normal()), [3, 3, 8, 1]);
    const project = tf.tensor4d(Float32Array.from({ length: 8 * 3 }, () => rng.normal()), [1, 1, 8, 3]);
    const net = (x: tf.Tensor): tf.Tensor => {
      const h = tf.relu6(tf.conv2d(x as tf.Tensor4D, expand, 1, 'same'));
      const d = tf.relu6(tf.depthwiseConv2d(tf.relu6(tf.depthwiseConv2d(h, dw1, 1, 'same')), dw2, 2, 'same'));
      return tf.mean(tf.conv2d(d, project, 1, 'valid'), [1, 2]);
    };
    const pixels = Float32Array.from({ length: 2 * 7 * 7 * 2 }, () => rng.normal());
    const weights = Float32Array.from({ length: 2 * 3 }, () => rng.normal());
    const results: Float32Array[] = [];
    for (const backend of ['cpu', 'wasm']) {
      await tf.setBackend(backend);
      const x = tf.tensor4d(pixels, [2, 7, 7, 2]);
      const w = tf.tensor2d(weights, [2, 3]);
      const before = tf.memory().numTensors;
      const { gradients, output } = await fromTfjs(net).gradient({ inputs: [x], outputWeights: w, wrt: [{ input: 0 }] });
      results.push((await (gradients[0] as tf.Tensor).data()) as Float32Array);
      tf.dispose([...gradients, output]);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, w]);
    }
    const [cpu, wasm] = results as [Float32Array, Float32Array];
    const scale = Math.max(...Array.from(cpu, Math.abs));
    cpu.forEach((v, i) => expect(Math.abs(v - (wasm[i] as number))).toBeLessThan(1e-5 * scale));
    tf.dispose([expand, dw1, dw2, project]);
  });

  it('conv2d input gradients on tfjs-wasm (forward-convolution form for unit strides, its own kernel otherwise) equal tfjs-cpu', async () => {
    for (let k = 0; k < 30; k++) {
      const fh = 1 + rng.int(3);
      const fw = 1 + rng.int(3);
      const [cin, cout] = [1 + rng.int(5), 1 + rng.int(5)];
      const shape: [number, number, number, number] = [1 + rng.int(2), 3 + rng.int(6), 3 + rng.int(6), cin];
      const strides = pick<[number, number]>([[1, 1], [1, 1], [2, 2], [1, 2]]);
      const pad = pick<'same' | 'valid'>(['same', 'valid']);
      const x = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal());
      const f = Float32Array.from({ length: fh * fw * cin * cout }, () => rng.normal());
      const grads: Float32Array[] = [];
      for (const backend of ['cpu', 'wasm']) {
        await tf.setBackend(backend);
        const g = tf.tidy(() => {
          const filter = tf.tensor4d(f, [fh, fw, cin, cout]);
          const w = tf.randomUniform(tf.conv2d(tf.zeros(shape) as tf.Tensor4D, filter, strides, pad).shape, -1, 1, 'float32', k);
          return tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(t as tf.Tensor4D, filter, strides, pad), w)))(tf.tensor4d(x, shape));
        });
        grads.push((await g.data()) as Float32Array);
        g.dispose();
      }
      const [cpu, wasm] = grads as [Float32Array, Float32Array];
      const scale = Math.max(1, ...Array.from(cpu, Math.abs));
      const worst = Math.max(...Array.from(wasm, (v, i) => Math.abs(v - (cpu[i] as number))));
      expect(worst, JSON.stringify({ fh, fw, cin, cout, shape, strides, pad })).toBeLessThan(1e-5 * scale);
    }
  });

  it('max-pool gradients on tfjs-wasm equal tfjs-cpu, windows of negative values included (tfjs-wasm drops them)', async () => {
    registerMissingKernels();
    for (let k = 0; k < 20; k++) {
      const size = pick<[number, number]>([[2, 2], [3, 3], [2, 3], [1, 2]]);
      const strides = pick<[number, number]>([[1, 1], [2, 2], [1, 2]]);
      const pad = pick<'same' | 'valid'>(['same', 'valid']);
      const shape: [number, number, number, number] = [1 + rng.int(2), size[0] + rng.int(6), size[1] + rng.int(6), 1 + rng.int(3)];
      // Mostly negative values, rounded so that ties occur.
      const x = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => Math.round((rng.normal() - 1) * 4) / 4);
      const grads: Float32Array[] = [];
      for (const backend of ['cpu', 'wasm']) {
        await tf.setBackend(backend);
        const g = tf.tidy(() => {
          const w = tf.randomUniform(tf.maxPool(tf.zeros(shape) as tf.Tensor4D, size, strides, pad).shape, 0.5, 1.5, 'float32', k);
          return tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(t as tf.Tensor4D, size, strides, pad), w)))(tf.tensor4d(x, shape));
        });
        grads.push((await g.data()) as Float32Array);
        g.dispose();
      }
      const [cpu, wasm] = grads as [Float32Array, Float32Array];
      // The same positions receive the same sums (up to the order of float additions).
      const worst = Math.max(...Array.from(wasm, (v, i) => Math.abs(v - (cpu[i] as number))));
      expect(worst, JSON.stringify({ size, strides, pad, shape })).toBeLessThan(1e-5 * Math.max(...Array.from(cpu, Math.abs)));
    }
  });
});
