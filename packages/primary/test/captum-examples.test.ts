import * as tf from '@tensorflow/tfjs';
import { ArgumentError } from '@attribution/tensor';
import { fromTfjs } from '@attribution/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  Deconvolution,
  DeepLift,
  DeepLiftShap,
  FeatureAblation,
  GuidedBackprop,
  GuidedGradCam,
  KernelShap,
  Lime,
  Occlusion,
  ShapleyValueSampling,
  ShapleyValues,
} from '../src/index.js';
import { basicModelMultiLayer, convNetOneConv, linearMaxPoolLinearModel, reluDeepLiftModel, tanhDeepLiftModel } from '@attribution/testing';

// Captum's own test values (CAPTUM-SEMANTICS §9.3), on Captum's toy models rebuilt in TensorFlow.js.

const values = async (t: tf.Tensor | undefined): Promise<number[]> => Array.from(await t!.data());
const close = async (t: tf.Tensor | undefined, want: number[], tol: number): Promise<void> => {
  const got = await values(t);
  expect(got).toHaveLength(want.length);
  got.forEach((g, i) => expect(Math.abs(g - want[i]!), `index ${i}: ${g} vs ${want[i]}`).toBeLessThanOrEqual(tol));
};

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const ml = fromTfjs(basicModelMultiLayer());
const X1 = (): tf.Tensor => tf.tensor2d([[20, 50, 30]]);
const X2 = (): tf.Tensor => tf.tensor2d([[2, 10, 3], [20, 50, 30]]);

describe('FeatureAblation (Cases 5, 6)', () => {
  for (const perturbationsPerEval of [1, 2, 3]) {
    it(`BasicModel_MultiLayer, perturbationsPerEval ${perturbationsPerEval}`, async () => {
      const fa = new FeatureAblation(ml);
      await close((await fa.attribute(X1(), { target: 0, perturbationsPerEval })).attributions, [80, 200, 120], 1e-4);
      await close((await fa.attribute(X1(), { target: 0, featureMask: tf.tensor2d([[0, 0, 1]], undefined, 'int32'), perturbationsPerEval })).attributions, [280, 280, 120], 1e-4);
      await close((await fa.attribute(X1(), { target: 0, featureMask: tf.tensor2d([[0, 0, 1]], undefined, 'int32'), baselines: 4, perturbationsPerEval })).attributions, [248, 248, 104], 1e-4);
      await close((await fa.attribute(X2(), { target: 0, perturbationsPerEval })).attributions, [8, 35, 12, 80, 200, 120], 1e-4);
      const perExample = tf.tensor2d([[0, 0, 1], [1, 1, 0]], undefined, 'int32');
      await close((await fa.attribute(X2(), { target: 0, featureMask: perExample, perturbationsPerEval })).attributions, [41, 41, 12, 280, 280, 120], 1e-4);
    });
  }
});

describe('Occlusion (Case 12 and the Σx example)', () => {
  const sum = fromTfjs((x: tf.Tensor) => tf.sum(x, 1));
  it('averages overlapping windows', async () => {
    const occ = new Occlusion(sum);
    const x = tf.tensor2d([[1, 2, 3, 4, 5]]);
    await close((await occ.attribute(x, { slidingWindowShapes: [2], strides: 2 })).attributions, [3, 3, 7, 7, 5], 1e-5);
    await close((await occ.attribute(x, { slidingWindowShapes: [3], strides: 1 })).attributions, [6, 7.5, 9, 10.5, 12], 1e-5);
  });
  it('BasicModel_MultiLayer windows, strides and broadcast baselines', async () => {
    const occ = new Occlusion(ml);
    await close((await occ.attribute(X1(), { slidingWindowShapes: [1], target: 0 })).attributions, [80, 200, 120], 1e-4);
    await close((await occ.attribute(X1(), { slidingWindowShapes: [2], target: 0, baselines: tf.tensor1d([10, 10, 10]) })).attributions, [200, 220, 240], 1e-4);
    await close((await occ.attribute(X1(), { slidingWindowShapes: [2], strides: 2, target: 0 })).attributions, [280, 280, 120], 1e-4);
    await close((await occ.attribute(X2(), { slidingWindowShapes: [1], target: 0, perturbationsPerEval: 2 })).attributions, [8, 35, 12, 80, 200, 120], 1e-4);
  });
  it('rejects windows larger than the input', async () => {
    await expect(new Occlusion(ml).attribute(X1(), { slidingWindowShapes: [4], target: 0 })).rejects.toThrow(/slidingWindowShapes: expected window sizes at most the input's \[3\]/);
  });
});

describe('Shapley methods (Case 14) and KernelShap (Case 15)', () => {
  it('ShapleyValues exact', async () => {
    const sv = new ShapleyValues(ml);
    await close((await sv.attribute(X1(), { target: 0 })).attributions, [76.66666, 196.66666, 116.66666], 1e-3);
    await close((await sv.attribute(X1(), { target: 0, featureMask: tf.tensor2d([[0, 0, 1]], undefined, 'int32') })).attributions, [275, 275, 115], 1e-3);
    await close((await sv.attribute(X1(), { target: 0, featureMask: tf.tensor2d([[0, 0, 1]], undefined, 'int32'), baselines: 4, perturbationsPerEval: 2 })).attributions, [248, 248, 104], 1e-3);
    await close((await sv.attribute(X2(), { target: 0, featureMask: tf.tensor2d([[0, 0, 1], [1, 1, 0]], undefined, 'int32') })).attributions, [39.5, 39.5, 10.5, 275, 275, 115], 1e-3);
  });
  it('ShapleyValueSampling within Captum’s tolerance', async () => {
    const svs = new ShapleyValueSampling(ml);
    await close((await svs.attribute(X1(), { target: 0, nSamples: 250, seed: 1, perturbationsPerEval: 3 })).attributions, [76.66666, 196.66666, 116.66666], 1.0);
  });
  it('KernelShap within Captum’s tolerance', async () => {
    const ks = new KernelShap(ml);
    await close((await ks.attribute(X1(), { target: 0, nSamples: 500, baselines: tf.tensor2d([[10, 20, 10]]), seed: 2 })).attributions, [40, 120, 80], 1.0);
    await close((await ks.attribute(X1(), { target: 0, nSamples: 500, seed: 3 })).attributions, [76.66666, 196.66666, 116.66666], 1.0);
    const mask = tf.tensor2d([[0, 0, 1]], undefined, 'int32');
    await close((await ks.attribute(X1(), { target: 0, nSamples: 500, featureMask: mask, seed: 4 })).attributions, [275, 275, 115], 1.0);
    await close((await ks.attribute(X1(), { target: 0, nSamples: 500, featureMask: mask, seed: 4, returnInputShape: false })).attributions, [275, 115], 1.0);
  });
});

describe('Lime (Case 16: Lasso α = 1, cosine kernel width 10)', () => {
  it('matches Captum within its tolerance', async () => {
    const lime = new Lime(ml);
    const options = { target: 0, nSamples: 500, alpha: 1.0, kernelWidth: 10, seed: 5 };
    await close((await lime.attribute(X1(), options)).attributions, [73.3716, 193.3349, 113.3349], 1.0);
    const mask = tf.tensor2d([[0, 0, 1]], undefined, 'int32');
    await close((await lime.attribute(X1(), { ...options, featureMask: mask })).attributions, [271, 271, 111], 1.0);
    await close((await lime.attribute(X1(), { ...options, featureMask: mask, baselines: 4 })).attributions, [244, 244, 100], 1.0);
  });
});

describe('DeepLift (Case 17)', () => {
  it('ReLUDeepLiftModel: exact attributions and zero delta', async () => {
    const dl = new DeepLift(fromTfjs(reluDeepLiftModel));
    const r = await dl.attribute([tf.tensor1d([1]), tf.tensor1d([2])], { baselines: [tf.tensor1d([0]), tf.tensor1d([0])], returnConvergenceDelta: true });
    await close(r.attributions[0], [2], 1e-6);
    await close(r.attributions[1], [1], 1e-6);
    await close(r.delta, [0], 1e-6);
    const local = await new DeepLift(fromTfjs(reluDeepLiftModel), { multiplyByInputs: false }).attribute([tf.tensor1d([1]), tf.tensor1d([2])]);
    await close(local.attributions[0], [2], 1e-6);
    await close(local.attributions[1], [0.5], 1e-6);
  });
  it('TanhDeepLiftModel', async () => {
    const r = await new DeepLift(fromTfjs(tanhDeepLiftModel)).attribute([tf.tensor1d([-1]), tf.tensor1d([-2])], { returnConvergenceDelta: true });
    await close(r.attributions[0], [-1.5231884], 1e-5);
    await close(r.attributions[1], [-0.1860592], 1e-5);
    await close(r.delta, [0], 1e-5);
  });
  it('LinearMaxPoolLinearModel: Captum’s MaxPool rule', async () => {
    const r = await new DeepLift(fromTfjs(linearMaxPoolLinearModel)).attribute(tf.ones([2, 4]), {
      baselines: tf.tensor2d([[1, 2, 3, 9], [4, 8, 6, 7]]),
      target: 0,
      returnConvergenceDelta: true,
    });
    await close(r.attributions, [0, 0, 0, -8, 0, -7, 0, 0], 1e-4);
    await close(r.delta, [0, 0], 1e-4);
  });
  it('DeepLiftShap on ReLUDeepLiftModel', async () => {
    const r = await new DeepLiftShap(fromTfjs(reluDeepLiftModel), { multiplyByInputs: false }).attribute([tf.ones([4, 1, 1, 1]), tf.fill([4, 1, 1, 1], 2)], {
      baselines: [tf.zeros([4, 1, 1, 1]), tf.zeros([4, 1, 1, 1])],
      returnConvergenceDelta: true,
    });
    await close(r.attributions[0], [2, 2, 2, 2], 1e-6);
    await close(r.attributions[1], [0.5, 0.5, 0.5, 0.5], 1e-6);
    expect(r.delta!.shape).toEqual([16]);
  });
});

describe('GuidedBackprop and Deconvolution (Case 18)', () => {
  const cn = fromTfjs(convNetOneConv(), { dataFormat: 'channelsFirst' });
  const C = (): tf.Tensor => tf.reshape(tf.range(0, 16), [1, 1, 4, 4]);
  it('on BasicModel_ConvNet_One_Conv', async () => {
    await close((await new GuidedBackprop(cn).attribute(C(), { target: 0 })).attributions, [0, 1, 1, 1, 1, 3, 3, 2, 1, 3, 3, 2, 1, 2, 2, 1], 0.01);
    await close((await new Deconvolution(cn).attribute(C(), { target: 0 })).attributions, [2, 3, 3, 1, 3, 5, 5, 2, 3, 5, 5, 2, 1, 2, 2, 1], 0.01);
    const two = await new GuidedBackprop(cn).attribute([C(), tf.ones([1, 1, 4, 4])], { target: 0 });
    await close(two.attributions[0], [1, 2, 2, 1, 2, 4, 4, 2, 2, 4, 4, 2, 1, 2, 2, 1], 0.01);
  });
});

describe('GuidedGradCam (Captum test_guided_grad_cam)', () => {
  const cn = fromTfjs(convNetOneConv(), { dataFormat: 'channelsFirst' });
  const C = (): tf.Tensor => tf.reshape(tf.range(0, 16), [1, 1, 4, 4]);
  it('guided backprop times the nearest-upsampled non-negative Grad-CAM of relu1', async () => {
    // Grad-CAM of relu1 is [[0, 4], [28, 32.5]]; guided backprop is the Case 18 map.
    const { attributions } = await new GuidedGradCam(cn, 'relu1').attribute(C(), { target: 0 });
    expect(attributions.shape).toEqual([1, 1, 4, 4]);
    await close(attributions, [0, 0, 4, 4, 0, 0, 12, 8, 28, 84, 97.5, 65, 28, 56, 65, 32.5], 0.01);
  });
  it('bilinear resizing and several inputs', async () => {
    const two = await new GuidedGradCam(cn, 'conv1').attribute([C(), tf.ones([1, 1, 4, 4])], { target: 0, interpolateMode: 'bilinear' });
    expect(two.attributions).toHaveLength(2);
    const guided = await new GuidedBackprop(cn).attribute([C(), tf.ones([1, 1, 4, 4])], { target: 0 });
    const cam = [14.5, 19, 32.5, 37]; // Grad-CAM of conv1 on (C, O), all positive
    const axis = [[0, 0, 0], [0, 1, 0.25], [0, 1, 0.75], [1, 1, 0]] as const; // bilinear 2 → 4, align_corners false
    const up = Array.from({ length: 16 }, (_, k) => {
      const [y0, y1, wy] = axis[Math.floor(k / 4)]!;
      const [x0, x1, wx] = axis[k % 4]!;
      const at = (y: number, x: number): number => cam[y * 2 + x]!;
      return (at(y0, x0) * (1 - wx) + at(y0, x1) * wx) * (1 - wy) + (at(y1, x0) * (1 - wx) + at(y1, x1) * wx) * wy;
    });
    for (const i of [0, 1]) {
      const g = await values(guided.attributions[i]);
      await close(two.attributions[i], g.map((v, k) => v * up[k]!), 1e-3);
    }
  });
  it('layers without spatial dimensions, inputs that do not match the map and bad modes are ArgumentErrors', async () => {
    const ml = fromTfjs(basicModelMultiLayer());
    const flat = new GuidedGradCam(ml, 'linear1').attribute(tf.tensor2d([[0, 100, 0]]), { target: 0 });
    await expect(flat).rejects.toThrow(ArgumentError);
    await expect(flat).rejects.toThrow(/layer: expected a layer with spatial dimensions, \[N, C, …\] .*, got 'linear1', whose Grad-CAM map has shape \[1, 1\]/);
    const net = convNetOneConv();
    const flatInput = fromTfjs((x: tf.Tensor, ...rest: unknown[]) => net(tf.reshape(x, [-1, 1, 4, 4]), ...rest), { dataFormat: 'channelsFirst' });
    const mismatch = new GuidedGradCam(flatInput, 'conv1').attribute(tf.reshape(C(), [1, 16]), { target: 0 });
    await expect(mismatch).rejects.toThrow(/inputs\[0\]: expected a tensor \[N, C, …\] with 2 spatial dimension\(s\), like the Grad-CAM map of shape \[1, 1, 2, 2\], got shape \[1, 16\]/);
    await expect(new GuidedGradCam(cn, 'conv1').attribute(C(), { target: 0, interpolateMode: 'cubic' as never })).rejects.toThrow(/interpolateMode: expected one of 'nearest', 'linear', 'bilinear', 'area'/);
    expect(() => new GuidedGradCam(ml, 3 as never)).toThrow(/layer: expected a layer name/);
  });
});
