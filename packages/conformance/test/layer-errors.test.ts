import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { layerMethods } from '@attribution/layer';
import { neuronMethods } from '@attribution/neuron';
import { ArgumentError, BackendError } from '@attribution/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCases, onnxUnderTest, tfjsUnderTest, type BackendUnderTest } from '../src/index.js';

// Layer and neuron errors on the conformance models, through both backends: unknown layers list the valid
// names, out-of-range neurons give the valid range, and ONNX refuses function selectors up front.

// The tfjs models run on tfjs-cpu, set here: test files share processes, and another may have left a backend set.
beforeAll(async () => {
  expect(await tf.setBackend('cpu')).toBe(true);
});
const onnx = onnxUnderTest(ort, 'onnxruntime-node');
const tfjs = tfjsUnderTest();
afterAll(() => {
  onnx.dispose();
  tfjs.dispose();
});
const mlpInput = loadCases().find((c) => c.model === 'mlp')!.inputs[0]!;

describe.each([
  ['onnxruntime-node', onnx as BackendUnderTest<unknown>, /layer: expected one of the tensors computed by the model \(or a node name\): '\/net\/net\.0\/Gemm_output_0', '\/net\/net\.1\/Tanh_output_0'/],
  ['tfjs-cpu', tfjs as BackendUnderTest<unknown>, /layer: expected one of the model's layers: 'net\.0', 'net\.1', 'net\.2', 'net\.3', 'net\.4', got 'hidden9'/],
] as const)('%s', (_name, but, unknownLayer) => {
  const layerName = (onnxName: string): string => but.layerName('mlp', { name: '', onnx: onnxName });
  it('an unknown layer lists the valid names, for layer and neuron methods', async () => {
    const model = await but.model('mlp');
    const x = but.tensor(mlpInput);
    const la = layerMethods['layer-integrated-gradients']!.create(model, 'hidden9').attribute([x], { target: 0 });
    await expect(la).rejects.toThrow(ArgumentError);
    await expect(la).rejects.toThrow(unknownLayer);
    const ne = neuronMethods['neuron-gradient']!.create(model, 'hidden9').attribute([x], { neuronSelector: 0 } as never);
    await expect(ne).rejects.toThrow(unknownLayer);
    but.release([x]);
  });
  it('an out-of-range neuron names the valid range', async () => {
    const model = await but.model('mlp');
    const x = but.tensor(mlpInput);
    const call = neuronMethods['neuron-integrated-gradients']!.create(model, layerName('/net/net.3/Relu_output_0')).attribute([x], { neuronSelector: 99 } as never);
    await expect(call).rejects.toThrow(/neuronSelector: expected index 0 in \[-\d+, \d+\) for a layer output of shape \[\d+\], got 99/);
    but.release([x]);
  });
});

describe('onnxruntime-node function selectors', () => {
  it('are refused with a BackendError that says what to use instead', async () => {
    const model = await onnx.model('mlp');
    const x = onnx.tensor(mlpInput);
    const call = neuronMethods['neuron-gradient']!.create(model, '/net/net.3/Relu_output_0').attribute([x], { neuronSelector: (t: unknown) => t } as never);
    await expect(call).rejects.toThrow(BackendError);
    await expect(call).rejects.toThrow(/select a neuron by index or by a block/);
  });
});
