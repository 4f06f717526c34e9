import * as tf from '@tensorflow/tfjs';
import { fromTfjs } from '@attribution/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { FeatureAblation, IntegratedGradients, NoiseTunnel, Saliency, TargetError } from '../src/index.js';

// On a TensorFlow.js function model with class names: target 'predicted' and class names give the attributions
// of the equivalent indices, in every method family that takes a target (gradient, path, perturbation, and
// NoiseTunnel, whose noisy copies keep each example's class on the clean input).

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const W = tf.keep(tf.tensor2d([
  [1, -1, 0.5],
  [0.5, 2, -1],
  [-1, 0.5, 2],
  [0.2, 0.1, -0.3],
]));
const net = (x: tf.Tensor): tf.Tensor => tf.matMul(tf.tanh(x) as tf.Tensor2D, W as tf.Tensor2D);
const model = fromTfjs(net, { labels: ['cat', 'dog', 'bird'] });
// Predicted classes: 0 (cat), 2 (bird), 1 (dog).
const x = tf.keep(tf.tensor2d([
  [1.5, 0, -1, 0.2],
  [-0.5, 0.1, 1.2, 0],
  [0, 1, 0.1, -1],
]));
const predicted = [0, 2, 1];

async function values(run: Promise<{ attributions: tf.Tensor; delta?: tf.Tensor }>): Promise<number[][]> {
  const { attributions, delta } = await run;
  const out = [Array.from(await attributions.data()), ...(delta ? [Array.from(await delta.data())] : [])];
  tf.dispose([attributions, ...(delta ? [delta] : [])]);
  return out;
}

describe("targets 'predicted' and class names, on a TensorFlow.js model", () => {
  it('give the attributions of the equivalent indices in every family, leaking nothing', async () => {
    const logits = net(x);
    expect(Array.from(await tf.argMax(logits, 1).data())).toEqual(predicted);
    logits.dispose();
    const before = tf.memory().numTensors;
    const methods: [string, (target: unknown) => Promise<number[][]>][] = [
      ['Saliency', (target) => values(new Saliency(model).attribute(x, { target: target as never, internalBatchSize: 2 }))],
      ['IntegratedGradients', (target) => values(new IntegratedGradients(model).attribute(x, { target: target as never, nSteps: 8, returnConvergenceDelta: true }))],
      ['FeatureAblation', (target) => values(new FeatureAblation(model).attribute(x, { target: target as never }))],
      ['NoiseTunnel', (target) => values(new NoiseTunnel(new Saliency(model)).attribute(x, { target: target as never, nSamples: 4, stdevs: 2, seed: 3 }))],
    ];
    for (const [name, attribute] of methods) {
      const byIndex = await attribute(predicted);
      expect(await attribute('predicted'), name).toEqual(byIndex);
      expect(await attribute(['cat', 'bird', 'dog']), name).toEqual(byIndex);
      expect(await attribute(['cat', 2, 'dog']), name).toEqual(byIndex);
      expect(await attribute('bird'), name).toEqual(await attribute(2));
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses an unknown class name before any model call, leaking nothing', async () => {
    const before = tf.memory().numTensors;
    const error = await new Saliency(model).attribute(x, { target: 'dgo' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TargetError);
    expect((error as Error).message).toBe(`target: expected one of model labels: 'cat', 'dog', 'bird', got "dgo". Did you mean 'dog'?`);
    expect(tf.memory().numTensors).toBe(before);
  });
});
