import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { fromOnnx, tensor } from '@attribution/onnx';
import {
  AbortError,
  DeepLift,
  FeatureAblation,
  FeaturePermutation,
  GradientShap,
  IntegratedGradients,
  KernelShap,
  Lime,
  NoiseTunnel,
  Occlusion,
  Saliency,
  ShapleyValueSampling,
  ShapleyValues,
} from '@attribution/primary';
import { toNumbers, type Backend, type Model } from '@attribution/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromTfjs } from '@attribution/tfjs';
import { buildTfjsModel, fixturePath, loadCases, loadGraph, onnxUnderTest, tfjsUnderTest, type BackendUnderTest, type FixtureTensor } from '../src/index.js';

// Properties of the primary methods, with fixed seeds, on TensorFlow.js (tfjs-cpu, models built from their
// JSON graphs) and ONNX Runtime (onnxruntime-node, the ONNX files).

const input = (model: string): FixtureTensor => loadCases().find((c) => c.model === model && c.method === 'integrated-gradients')!.inputs[0]!;
const flat = async <T>(b: Backend<T>, t: T | T[]): Promise<number[]> => Array.from(toNumbers(await b.data(Array.isArray(t) ? (t[0] as T) : t)));
const maxDiff = (a: number[], b: number[]): number => Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
const rowSums = (v: number[], rows: number): number[] => Array.from({ length: rows }, (_, r) => v.slice((r * v.length) / rows, ((r + 1) * v.length) / rows).reduce((a, c) => a + c, 0));

/** `F(x)[target]` per example. */
async function outputs<T>(model: Model<T>, x: T, target: number[]): Promise<number[]> {
  const { output } = await model.forward({ inputs: [x] });
  const data = toNumbers(await model.backend.data(output));
  const k = data.length / target.length;
  model.backend.dispose(output);
  return target.map((t, i) => data[i * k + t] as number);
}

const setups: [string, () => Promise<BackendUnderTest<unknown>>][] = [
  ['tfjs-cpu', async () => {
    await tf.setBackend('cpu');
    return tfjsUnderTest() as BackendUnderTest<unknown>;
  }],
  ['onnxruntime-node', async () => onnxUnderTest(ort, 'onnxruntime-node') as BackendUnderTest<unknown>],
];

describe.each(setups)('properties on %s', (_name, setup) => {
  let but: BackendUnderTest<unknown>;
  let mlp: Model<unknown>;
  let x: unknown;
  const target = [0, 2, 1, 2];
  beforeAll(async () => {
    but = await setup();
    mlp = await but.model('mlp');
    x = but.tensor(input('mlp'));
  });
  afterAll(() => but.dispose());

  it('ShapleyValueSampling and KernelShap converge to exact Shapley values (2000 samples, within 0.02)', async () => {
    const exact = await flat(but.backend, (await new ShapleyValues(mlp).attribute(x, { target, perturbationsPerEval: 120 })).attributions);
    const svs = await flat(but.backend, (await new ShapleyValueSampling(mlp).attribute(x, { target, nSamples: 2000, seed: 11, perturbationsPerEval: 60 })).attributions);
    const ks = await flat(but.backend, (await new KernelShap(mlp).attribute(x, { target, nSamples: 2000, seed: 12, perturbationsPerEval: 200 })).attributions);
    expect(maxDiff(svs, exact)).toBeLessThan(0.02);
    expect(maxDiff(ks, exact)).toBeLessThan(0.02);
  });

  it('Shapley efficiency: attributions sum to F(x) − F(baseline)', async () => {
    const fx = await outputs(mlp, x, target);
    const baseline = but.tensor({ shape: [4, 6], data: new Array(24).fill(0.25) });
    const f0 = await outputs(mlp, baseline, target);
    for (const run of [
      () => new ShapleyValues(mlp).attribute(x, { target, baselines: 0.25, perturbationsPerEval: 7 }),
      () => new ShapleyValueSampling(mlp).attribute(x, { target, baselines: 0.25, seed: 3, nSamples: 10 }),
    ]) {
      const a = await flat(but.backend, (await run()).attributions);
      rowSums(a, 4).forEach((s, i) => expect(Math.abs(s - (fx[i]! - f0[i]!))).toBeLessThan(1e-4));
    }
    const ks = await flat(but.backend, (await new KernelShap(mlp).attribute(x, { target, baselines: 0.25, nSamples: 60, seed: 4 })).attributions);
    rowSums(ks, 4).forEach((s, i) => expect(Math.abs(s - (fx[i]! - f0[i]!))).toBeLessThan(1e-3));
    but.release([baseline]);
  });

  it('NoiseTunnel with stdevs 0 equals its base method', async () => {
    for (const base of [new Saliency(mlp), new IntegratedGradients(mlp)]) {
      const plain = await flat(but.backend, (await (base as Saliency<unknown>).attribute(x, { target })).attributions);
      for (const ntType of ['smoothgrad', 'smoothgrad_sq'] as const) {
        const nt = await flat(but.backend, (await new NoiseTunnel(base as never).attribute(x, { target, stdevs: 0, nSamples: 3, ntType, nSamplesBatchSize: 2 })).attributions);
        expect(maxDiff(nt, ntType === 'smoothgrad' ? plain : plain.map((v) => v * v))).toBeLessThan(1e-5);
      }
    }
  });

  it('GradientShap with one baseline and no noise estimates IG with random α (4000 samples)', async () => {
    // E_α[(x − b) ⊙ ∇F(b + α(x − b))] = (x − b) ⊙ ∫₀¹ ∇F = IG(x; b): the average over uniform α is a
    // Monte Carlo estimate of IG's integral; its standard error at 4000 samples is well below 0.01 here.
    const baseline = but.tensor({ shape: [1, 6], data: new Array(6).fill(0) });
    const ig = await flat(but.backend, (await new IntegratedGradients(mlp).attribute(x, { target, nSteps: 200 })).attributions);
    const gs = await flat(but.backend, (await new GradientShap(mlp).attribute(x, { target, baselines: baseline, nSamples: 4000, seed: 21, internalBatchSize: 4000 })).attributions);
    expect(maxDiff(gs, ig)).toBeLessThan(0.02);
    but.release([baseline]);
  });

  it('DeepLift satisfies summation-to-delta on the conformance models', async () => {
    for (const name of ['mlp', 'cnn', 'two_input']) {
      const model = await but.model(name);
      const cases = loadCases().find((c) => c.model === name && c.method === 'integrated-gradients')!;
      const inputs = cases.inputs.map((f) => but.tensor(f));
      const { delta } = await new DeepLift(model).attribute(inputs, { target: cases.target as never, returnConvergenceDelta: true, baselines: 0.1 });
      for (const d of await flat(but.backend, delta!)) expect(Math.abs(d)).toBeLessThan(2e-5);
      but.release(inputs);
    }
  });

  it('the same seed gives the same result, another seed another one', async () => {
    const runs = [
      (seed: number) => new ShapleyValueSampling(mlp).attribute(x, { target, nSamples: 5, seed }),
      (seed: number) => new KernelShap(mlp).attribute(x, { target, nSamples: 20, seed }),
      (seed: number) => new Lime(mlp).attribute(x, { target, nSamples: 20, seed }),
      (seed: number) => new FeaturePermutation(mlp).attribute(x, { target, seed }),
      (seed: number) => new GradientShap(mlp).attribute(x, { target, baselines: x, nSamples: 3, stdevs: 0.1, seed }),
      (seed: number) => new NoiseTunnel(new Saliency(mlp) as never).attribute(x, { target, nSamples: 3, seed }),
    ];
    for (const run of runs) {
      const a = await flat(but.backend, (await run(1)).attributions as never);
      const b = await flat(but.backend, (await run(1)).attributions as never);
      const c = await flat(but.backend, (await run(2)).attributions as never);
      expect(b).toEqual(a);
      expect(c).not.toEqual(a);
    }
  });

  it('batch-size options never change results', async () => {
    const pairs: [(p: number) => Promise<{ attributions: unknown }>, number, number][] = [
      [(p) => new FeatureAblation(mlp).attribute(x, { target, perturbationsPerEval: p }), 1, 4],
      [(p) => new Occlusion(mlp).attribute(x, { target, slidingWindowShapes: [2], perturbationsPerEval: p }), 1, 3],
      [(p) => new ShapleyValueSampling(mlp).attribute(x, { target, nSamples: 4, seed: 5, perturbationsPerEval: p }), 1, 5],
      [(p) => new KernelShap(mlp).attribute(x, { target, nSamples: 30, seed: 6, perturbationsPerEval: p }), 1, 7],
      [(p) => new GradientShap(mlp).attribute(x, { target, baselines: x, nSamples: 5, stdevs: 0.2, seed: 7, internalBatchSize: p }), 3, 20],
      [(p) => new NoiseTunnel(new Saliency(mlp) as never).attribute(x, { target, nSamples: 4, seed: 8, nSamplesBatchSize: p }), 1, 4],
    ];
    for (const [run, p, q] of pairs) {
      const a = await flat(but.backend, (await run(p)).attributions as never);
      const b = await flat(but.backend, (await run(q)).attributions as never);
      expect(maxDiff(a, b)).toBeLessThan(1e-5);
    }
  });
});

describe('DeepLift summation-to-delta on the trained ONNX models', () => {
  it('digits_cnn (Conv, ReLU, MaxPool) and breast_cancer (Gemm, ReLU)', async () => {
    for (const [name, shape] of [['digits_cnn', [3, 1, 8, 8]], ['breast_cancer', [3, 30]]] as const) {
      const model = await fromOnnx(ort, fixturePath(`real/${name}.onnx`));
      const size = (shape as readonly number[]).reduce((a, b) => a * b, 1);
      const x = tensor(Float32Array.from({ length: size }, (_, i) => Math.abs(Math.sin(i))), shape as unknown as number[]);
      const { delta } = await new DeepLift(model).attribute(x, { target: 1, returnConvergenceDelta: true });
      for (const d of delta!.data as Float32Array) expect(Math.abs(d)).toBeLessThan(1e-4);
      model.dispose();
    }
  });
});

describe('tfjs gradient overrides', () => {
  it('never outlive the call: Saliency after a failed DeepLift gives plain gradients', async () => {
    await tf.setBackend('cpu');
    const but = tfjsUnderTest();
    const mlp = await but.model('mlp');
    const x = but.tensor(input('mlp'));
    const before = await flat(but.backend, (await new Saliency(mlp).attribute(x, { target: 1, abs: false })).attributions);
    // A model that fails once DeepLift doubles the batch, i.e. inside the gradient pass with overrides installed.
    const fn = buildTfjsModel(loadGraph('mlp'));
    const fragile = fromTfjs((t: tf.Tensor) => {
      if ((t.shape[0] as number) > 4) throw new Error('batch too large');
      return fn(t);
    });
    const registered = tf.getGradient('Tanh');
    await expect(new DeepLift(fragile).attribute(x as tf.Tensor, { target: 1 })).rejects.toThrow(/batch too large/);
    expect(tf.getGradient('Tanh')).toBe(registered);
    const after = await flat(but.backend, (await new Saliency(mlp).attribute(x, { target: 1, abs: false })).attributions);
    expect(after).toEqual(before);
    fn.dispose();
    const count = tf.memory().numTensors;
    const controller = new AbortController();
    const run = new FeatureAblation(mlp).attribute(x, { target: 1, signal: controller.signal, onProgress: (p) => p.done === 2 && controller.abort() });
    await expect(run).rejects.toThrow(AbortError);
    expect(tf.memory().numTensors).toBe(count);
    but.dispose();
  });
});
