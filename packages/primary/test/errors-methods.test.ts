import * as tf from '@tensorflow/tfjs';
import { fromTfjs } from '@attribution/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ArgumentError,
  DeepLiftShap,
  FeatureAblation,
  FeaturePermutation,
  GradientShap,
  KernelShap,
  Lime,
  NoiseTunnel,
  Occlusion,
  Saliency,
  ShapeError,
  ShapleyValueSampling,
  ShapleyValues,
  TargetError,
} from '../src/index.js';
import { basicModelMultiLayer } from '@attribution/testing';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const ml = fromTfjs(basicModelMultiLayer());
const x = tf.keep(tf.tensor2d([[1, 2, 3], [4, 5, 6]]));

/** The error of a failing call, checking that nothing leaked. */
async function failure(call: () => Promise<unknown>): Promise<Error> {
  await new FeatureAblation(ml).attribute(x, { target: 0 }).then((r) => tf.dispose(r.attributions)); // warm-up
  const before = tf.memory().numTensors;
  const error = await call().then(() => undefined, (e: unknown) => e);
  expect(tf.memory().numTensors).toBe(before);
  expect(error).toBeInstanceOf(Error);
  return error as Error;
}

describe('the other primary methods reject bad input with typed errors', () => {
  it('feature masks that do not fit their input', async () => {
    const mask = tf.tensor2d([[0, 1]], undefined, 'int32');
    const e = await failure(() => new FeatureAblation(ml).attribute(x, { target: 0, featureMask: mask }));
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.message).toMatch(/featureMask: expected a shape that broadcasts to \[2, 3\]/);
    const fractional = tf.tensor2d([[0, 0.5, 1]]);
    expect((await failure(() => new FeatureAblation(ml).attribute(x, { target: 0, featureMask: fractional }))).message).toMatch(/integer feature ids/);
    const two = await failure(() => new FeatureAblation(ml).attribute(x, { target: 0, featureMask: [mask, mask] }));
    expect(two.message).toMatch(/featureMask: expected one mask per input \(1\), got 2/);
    tf.dispose([mask, fractional]);
  });

  it('perturbationsPerEval and nSamples out of range', async () => {
    expect((await failure(() => new FeatureAblation(ml).attribute(x, { target: 0, perturbationsPerEval: 0 }))).message).toMatch(/perturbationsPerEval: expected an integer ≥ 1, got 0/);
    expect((await failure(() => new ShapleyValueSampling(ml).attribute(x, { target: 0, nSamples: -1 }))).message).toMatch(/nSamples: expected an integer ≥ 1/);
    expect((await failure(() => new KernelShap(ml).attribute(x, { target: 0, seed: 1.5 }))).message).toMatch(/seed: expected a non-negative integer/);
  });

  it('occlusion windows of the wrong rank or size', async () => {
    expect((await failure(() => new Occlusion(ml).attribute(x, { target: 0, slidingWindowShapes: [1, 1] }))).message).toMatch(/slidingWindowShapes: expected 1 positive integers/);
    expect((await failure(() => new Occlusion(ml).attribute(x, { target: 0, slidingWindowShapes: [2], strides: 0 }))).message).toMatch(/strides: expected a positive integer/);
  });

  it('baselines that do not broadcast, for perturbation methods', async () => {
    const b = tf.zeros([4]);
    const e = await failure(() => new FeatureAblation(ml).attribute(x, { target: 0, baselines: b }));
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.message).toMatch(/baselines: expected a shape that broadcasts to \[2, 3\], got shape \[4\]/);
    b.dispose();
  });

  it('distributions: DeepLiftShap needs two or more references; shapes must match', async () => {
    const one = tf.zeros([1, 3]);
    expect((await failure(() => new DeepLiftShap(ml).attribute(x, { target: 0, baselines: one }))).message).toMatch(/at least 2 reference rows.*With one reference, use DeepLift/);
    const wrong = tf.zeros([3, 4]);
    expect((await failure(() => new GradientShap(ml).attribute(x, { target: 0, baselines: wrong }))).message).toMatch(/baselines: expected shape \[B, 3\]/);
    expect((await failure(() => new GradientShap(ml).attribute(x, { target: 0 } as never))).message).toMatch(/baselines: expected reference rows/);
    expect((await failure(() => new GradientShap(ml).attribute(x, { target: 0, baselines: x, stdevs: -1 }))).message).toMatch(/stdevs: expected a number ≥ 0/);
    tf.dispose([one, wrong]);
  });

  it('surrogates need one output per example; FeaturePermutation needs two examples', async () => {
    const e = await failure(() => new KernelShap(ml).attribute(x));
    expect(e).toBeInstanceOf(TargetError);
    const single = tf.tensor2d([[1, 2, 3]]);
    expect((await failure(() => new FeaturePermutation(ml).attribute(single, { target: 0 }))).message).toMatch(/inputs: expected at least two examples/);
    expect((await failure(() => new Lime(ml).attribute(x, { target: 0, kernelWidth: 0 }))).message).toMatch(/kernelWidth: expected a positive number/);
    single.dispose();
  });

  it('NoiseTunnel: its own options are checked, and unknown wrapped options reported by the wrapped method', async () => {
    const nt = new NoiseTunnel(new Saliency(ml));
    expect((await failure(() => nt.attribute(x, { target: 0, ntType: 'smooth' as never }))).message).toMatch(/ntType: expected one of smoothgrad, smoothgrad_sq, vargrad/);
    const e = await failure(() => nt.attribute(x, { target: 0, nStep: 3 }));
    expect(e).toBeInstanceOf(ArgumentError);
    expect(e.message).toMatch(/Saliency.attribute options.*unknown option 'nStep'/);
    expect(() => new NoiseTunnel({} as never)).toThrow(/model: expected a model from a backend adapter/);
  });

  it('exact Shapley values refuse more than 12 features; surrogate progress counts F(x) first', async () => {
    const wide = fromTfjs((t: tf.Tensor) => tf.sum(t, 1, true));
    const x13 = tf.ones([1, 13]);
    const e = await failure(() => new ShapleyValues(wide).attribute(x13));
    expect(e.message).toMatch(/featureMask: expected at most 12 features for exact Shapley values .*, got 13 features/);
    const seen: string[] = [];
    const r = await new KernelShap(ml).attribute(x, { target: 0, nSamples: 4, perturbationsPerEval: 2, seed: 1, onProgress: (p) => seen.push(`${p.done}/${p.total}`) });
    tf.dispose([x13, r.attributions]);
    expect(seen).toEqual(['1/3', '2/3', '3/3']);
  });
});
