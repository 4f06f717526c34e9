import * as tf from '@tensorflow/tfjs';
import { IntegratedGradients } from '@attribution/primary';
import { fromTfjs } from '@attribution/tfjs';

/** The network of Captum's Integrated Gradients example: Linear(5, 1) followed by ReLU. */
export const SEED = {
  weight: [0.1529, -0.2725, -0.1739, 0.3921, 0.2883],
  bias: 0.3977,
  input: [0.7358, 0.1251, 0.8988, 0.3593, 0.5619],
} as const;

const fmt = (values: ArrayLike<number>): string => `[${Array.from(values, (v) => v.toFixed(4)).join(', ')}]`;

/** Runs Integrated Gradients on the seed network and returns the lines the demo prints. */
export async function runSeedDemo(): Promise<string[]> {
  const weight = tf.tensor2d([[...SEED.weight]]);
  const bias = tf.tensor1d([SEED.bias]);
  const net = (x: tf.Tensor): tf.Tensor => tf.relu(tf.add(tf.matMul(x, weight, false, true), bias));
  const input = tf.tensor2d([[...SEED.input]]);

  const ig = new IntegratedGradients(fromTfjs(net));
  const { attributions, delta } = await ig.attribute(input, {
    baselines: 0,
    target: 0,
    nSteps: 50,
    method: 'gausslegendre',
    returnConvergenceDelta: true,
  });
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
