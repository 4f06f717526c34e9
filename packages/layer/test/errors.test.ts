import * as tf from '@tensorflow/tfjs';
import { ArgumentError } from '@attribution/tensor';
import { basicModelMultiLayer, convNetOneConv, convNetOneConvLayers, failureOf, inputs, leakedBy } from '@attribution/testing';
import { fromTfjs, tfjsBackend } from '@attribution/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { LayerAttribution, layerMethods } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const ml = fromTfjs(basicModelMultiLayer());
const cn = fromTfjs(convNetOneConv());
const P = tf.keep(inputs.P());
const C = tf.keep(inputs.C());
const distribution = tf.keep(tf.zeros([2, 3]));

/** Options that make each registry method run on BasicModel_MultiLayer at layer linear1. */
const optionsFor = (name: string): object => ({
  ...(name === 'layer-activation' ? {} : { target: 0 }),
  ...(name === 'layer-gradient-shap' ? { baselines: distribution, nSamples: 3, seed: 1 } : {}),
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
    map.dispose();
  });
  it('GradientSHAP sampling options are validated as in the primary method', async () => {
    const { error, leaked } = await failureOf(() => layerMethods['layer-gradient-shap']!.create(ml, 'linear1').attribute([P], { target: 0, baselines: distribution, stdevs: -1 }));
    expect(error.message).toMatch(/stdevs: expected a number ≥ 0 or one per input \(1\), got -1/);
    expect(leaked).toBe(0);
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

describe('memory', () => {
  it('every layer method frees what it allocates', async () => {
    for (const [name, method] of Object.entries(layerMethods)) {
      expect(await leakedBy(() => method.create(ml, 'linear1').attribute([P], optionsFor(name))), name).toBe(0);
    }
  });
});

describe('run options', () => {
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
