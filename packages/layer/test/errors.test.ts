import * as tf from '@tensorflow/tfjs';
import { ArgumentError } from '@attribution/tensor';
import { basicModelMultiLayer, convNetOneConv, convNetOneConvLayers, failureOf, inputs, leakedBy, recordingModel } from '@attribution/testing';
import { fromTfjs, tfjsBackend } from '@attribution/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { LayerActivation, LayerAttribution, LayerConductance, LayerIntegratedGradients, layerMethods } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const ml = fromTfjs(basicModelMultiLayer());
const cn = fromTfjs(convNetOneConv());
const P = tf.keep(inputs.P());
const C = tf.keep(inputs.C());
const distribution = tf.keep(tf.zeros([2, 3]));
const I2 = tf.keep(tf.tensor2d([[20, 50, 30], [0, 100, 0]]));

/** Options that make each registry method run on BasicModel_MultiLayer at layer linear1. */
const optionsFor = (name: string): object => ({
  ...(name === 'layer-activation' ? {} : { target: 0 }),
  ...(name === 'layer-gradient-shap' ? { baselines: distribution, nSamples: 3, seed: 1 } : {}),
  ...(name === 'layer-deep-lift-shap' ? { baselines: distribution } : {}),
  ...(['layer-conductance', 'internal-influence', 'layer-integrated-gradients'].includes(name) ? { nSteps: 5, internalBatchSize: 2 } : {}),
});

describe('layer names', () => {
  it('an unknown tap name lists the taps', async () => {
    for (const [name, method] of Object.entries(layerMethods)) {
      const { error, leaked } = await failureOf(() => method.create(ml, 'linear9').attribute([P], optionsFor(name)));
      expect(error, name).toBeInstanceOf(ArgumentError);
      expect(error.message, name).toMatch(/layer: expected one of the model's layers: 'linear0', 'linear1', 'relu', 'linear2', got 'linear9'/);
      expect(leaked, name).toBe(0);
    }
  });
  it('an unknown LayersModel layer lists the layers; a function model has no layer inputs', async () => {
    const net = convNetOneConvLayers();
    const model = fromTfjs(net);
    const bad = await failureOf(() => layerMethods['layer-grad-cam']!.create(model, 'conv2').attribute([C], { target: 0 }));
    expect(bad.error.message).toMatch(/layer: expected one of the model's layers: 'conv1', 'relu1', 'flatten', 'fc1', 'relu2', got 'conv2'/);
    expect(bad.leaked).toBe(0);
    const toInput = await failureOf(() => layerMethods['layer-grad-cam']!.create(cn, 'relu1').attribute([C], { target: 0, attributeToLayerInput: true }));
    expect(toInput.error).toBeInstanceOf(ArgumentError);
    expect(toInput.error.message).toMatch(/the output of a tapped layer/);
    expect(toInput.leaked).toBe(0);
    net.dispose();
  });
  it('several layers only where a method takes several', () => {
    expect(() => new LayerIntegratedGradients(ml, ['linear0', 'linear1'] as never)).toThrow(ArgumentError);
    expect(() => new LayerConductance(ml, ['linear0'] as never)).toThrow(/layer: expected one layer: LayerConductance explains one layer tensor/);
    expect(() => new LayerActivation(ml, [])).toThrow(/layer: expected at least one layer, got an empty array/);
  });
  it('a layer that is not a name is rejected when the method is made', () => {
    expect(() => layerMethods['layer-activation']!.create(ml, 42 as never)).toThrow(/layer: expected a layer name/);
    expect(() => layerMethods['layer-integrated-gradients']!.create(ml, '' as never)).toThrow(ArgumentError);
  });
});

describe('options', () => {
  it('unknown option names are rejected with a suggestion', async () => {
    const { error, leaked } = await failureOf(() => layerMethods['layer-conductance']!.create(ml, 'linear1').attribute([P], { target: 0, nStep: 3 }));
    expect(error.message).toMatch(/nStep.*nSteps/);
    expect(leaked).toBe(0);
  });
  it('reluAttributions must be a boolean; interpolate sizes must fit the map', async () => {
    const bad = await failureOf(() => layerMethods['layer-grad-cam']!.create(cn, 'conv1').attribute([C], { target: 0, reluAttributions: 'yes' }));
    expect(bad.error.message).toMatch(/reluAttributions: expected true or false, got/);
    const map = tf.zeros([1, 1, 2, 2]);
    await expect(LayerAttribution.interpolate(tfjsBackend, map, [4])).rejects.toThrow(/interpolateDims: expected 2 positive sizes/);
    await expect(LayerAttribution.interpolate(tfjsBackend, map, [4, 4], 'linear')).rejects.toThrow(/'linear' for 3-D tensors/);
    await expect(LayerAttribution.interpolate(tfjsBackend, map, [4, 4], 'foo' as never)).rejects.toThrow(/interpolateMode: expected one of 'nearest', 'linear', 'bilinear', 'area', got .?foo/);
    map.dispose();
  });
  it('GradientSHAP sampling options are validated as in the primary method', async () => {
    const { error, leaked } = await failureOf(() => layerMethods['layer-gradient-shap']!.create(ml, 'linear1').attribute([P], { target: 0, baselines: distribution, stdevs: -1 }));
    expect(error.message).toMatch(/stdevs: expected a number ≥ 0 or one per input \(1\), got -1/);
    expect(leaked).toBe(0);
  });
  it('LayerConductance needs two steps of the batch per call', async () => {
    const two = tf.tensor2d([[1, 2, 3], [0, 9, 1]]);
    const { error } = await failureOf(() => new LayerConductance(ml, 'linear1').attribute(two, { target: 0, internalBatchSize: 3 }));
    expect(error.message).toMatch(/internalBatchSize: expected at least 2 × the number of examples \(4\), since each model call evaluates every example at 2 consecutive steps, got 3/);
    two.dispose();
  });
  it('a single baseline tensor goes with a one-element input array, as in Captum', async () => {
    const zeros = tf.zeros([1, 3]);
    const result = await new LayerIntegratedGradients(ml, 'linear1').attribute([P], { target: 0, baselines: zeros });
    tf.dispose([zeros, result.attributions]);
  });
  it('baselines that do not fit the inputs', async () => {
    const baselines = tf.zeros([1, 4]);
    const { error, leaked } = await failureOf(() => layerMethods['layer-integrated-gradients']!.create(ml, 'linear1').attribute([P], { target: 0, baselines }));
    expect(error).toBeInstanceOf(ArgumentError);
    expect(error.message).toMatch(/baselines/);
    expect(leaked).toBe(0);
    baselines.dispose();
  });
});

describe('batch bounds', () => {
  it('no model call sees more rows than the batch option allows', async () => {
    const two = tf.tensor2d([[1, 2, 3], [0, 9, 1]]);
    for (const [name, method] of Object.entries(layerMethods)) {
      const { model, calls } = recordingModel(ml);
      const limit = name === 'layer-feature-ablation' || name === 'layer-feature-permutation' ? { perturbationsPerEval: 2 } : { internalBatchSize: 4 };
      const result = await method.create(model, 'linear1').attribute([two], { ...optionsFor(name), ...limit });
      tf.dispose([result.attributions as tf.Tensor, result.delta as tf.Tensor]);
      expect(calls.length, name).toBeGreaterThan(0);
      for (const [kind, rows] of calls) expect(rows, `${name}: a ${kind} call`).toBeLessThanOrEqual(4);
    }
    two.dispose();
  });
});

describe('memory', () => {
  it('every layer method frees what it allocates', async () => {
    for (const [name, method] of Object.entries(layerMethods)) {
      // LayerFeaturePermutation permutes across the batch: it needs two examples.
      const x = name === 'layer-feature-permutation' ? I2 : P;
      expect(await leakedBy(() => method.create(ml, 'linear1').attribute([x], optionsFor(name))), name).toBe(0);
    }
  });
});

describe('run options', () => {
  it('LayerActivation reports progress per chunk', async () => {
    const seen: string[] = [];
    const four = tf.tensor2d([[1, 2, 3], [0, 9, 1], [1, 1, 1], [2, 2, 2]]);
    const result = await new LayerActivation(ml, 'linear1').attribute(four, { internalBatchSize: 2, onProgress: (p) => seen.push(`${p.done}/${p.total}`) });
    expect(seen).toEqual(['1/2', '2/2']);
    tf.dispose([four, result.attributions as tf.Tensor]);
  });
  it('progress is reported per model call and an abort stops the run', async () => {
    const method = layerMethods['layer-integrated-gradients']!.create(ml, 'linear1');
    const seen: number[] = [];
    const result = await method.attribute([P], { target: 0, nSteps: 6, internalBatchSize: 2, onProgress: (p: { done: number; total: number }) => seen.push(p.total) });
    tf.dispose(result.attributions as tf.Tensor);
    expect(seen.length).toBeGreaterThanOrEqual(3);
    const controller = new AbortController();
    controller.abort();
    const { error, leaked } = await failureOf(() => method.attribute([P], { target: 0, signal: controller.signal }));
    expect(error.name).toBe('AbortError');
    expect(leaked).toBe(0);
  });
});
