import * as tf from '@tensorflow/tfjs';
import { SEED, seedModel } from '@attribution/cli';
import { fromOnnx, tensor } from '@attribution/onnx';
import { IntegratedGradients } from '@attribution/primary';
import { fromTfjs } from '@attribution/tfjs';
import * as ort from 'onnxruntime-node';

export { SEED };

const fmt = (values: ArrayLike<number>): string => `[${Array.from(values, (v) => v.toFixed(4)).join(', ')}]`;
const options = { baselines: 0, target: 0, nSteps: 50, method: 'gausslegendre', returnConvergenceDelta: true } as const;

/** Runs Integrated Gradients on the seed network in TensorFlow.js and returns the lines the demo prints. */
export async function runSeedDemo(): Promise<string[]> {
  const weight = tf.tensor2d([[...SEED.weight]]);
  const bias = tf.tensor1d([SEED.bias]);
  const net = (x: tf.Tensor): tf.Tensor => tf.relu(tf.add(tf.matMul(x, weight, false, true), bias));
  const input = tf.tensor2d([[...SEED.input]]);

  const ig = new IntegratedGradients(fromTfjs(net));
  const { attributions, delta } = await ig.attribute(input, options);
  const lines = [
    'Integrated Gradients on Linear(5, 1) + ReLU (Captum’s seed example), TensorFlow.js backend',
    `Weights: ${fmt(SEED.weight)}`,
    `Bias: ${SEED.bias.toFixed(4)}`,
    `Input: ${fmt(SEED.input)}`,
    'Baseline: zeros, target: 0, 50 steps, Gauss–Legendre',
    `IG Attributions: ${fmt(await attributions.data())}`,
    `Convergence Delta: ${(await delta!.data())[0]!.toExponential(2)}`,
  ];
  tf.dispose([weight, bias, input, attributions, delta!]);
  return lines;
}

/** The same call on the same network exported to ONNX and run by onnxruntime-node: only the model line changes. */
export async function runSeedDemoOnnx(): Promise<string[]> {
  const model = await fromOnnx(ort, seedModel());
  const ig = new IntegratedGradients(model);
  const { attributions, delta } = await ig.attribute(tensor(Float32Array.from(SEED.input), [1, 5]), options);
  model.dispose();
  return [
    'The same network as an ONNX model, onnxruntime-node backend (gradients from the built backward graph)',
    `IG Attributions: ${fmt(attributions.data as Float32Array)}`,
    `Convergence Delta: ${(delta!.data as Float32Array)[0]!.toExponential(2)}`,
  ];
}
