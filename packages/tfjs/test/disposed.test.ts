import * as tf from '@tensorflow/tfjs';
import { ArgumentError, BackendError } from '@attribution/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { fromTfjs } from '../src/index.js';

// A tf.LayersModel disposed while an attribution still uses it (a UI that frees a model on navigation, a
// tf.disposeVariables() elsewhere): a BackendError naming the model and the layer or weight, not tfjs's raw
// error, and no tensor left behind.

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A two-layer classifier (initialisers, not initial `weights`, which tfjs keeps after dispose()). */
const net = (name: string): tf.Sequential =>
  tf.sequential({
    name,
    layers: [
      tf.layers.dense({ name: `${name}_hidden`, units: 4, inputShape: [3], activation: 'relu', kernelInitializer: 'ones' }),
      tf.layers.dense({ name: `${name}_head`, units: 2, kernelInitializer: 'ones' }),
    ],
  });

describe('a disposed tf.LayersModel', () => {
  it('disposed between the model calls of an async attribution: a BackendError naming it, no tensor leaked', async () => {
    const before = tf.memory().numTensors;
    const classifier = net('classifier');
    const model = fromTfjs(classifier);
    const x = tf.tensor2d([[1, 2, 3], [-1, 0.5, 2]]);
    const w = tf.tensor2d([[1, 0], [0, 1]]);
    // Integrated-gradients-like: one gradient call per step, awaited; the model is disposed after the first.
    const attribute = async (wrt: 'input' | 'layer'): Promise<void> => {
      for (let step = 1; step <= 4; step++) {
        const scaled = tf.mul(x, step / 4);
        try {
          const g = await model.gradient({ inputs: [scaled], outputWeights: w, wrt: [wrt === 'input' ? { input: 0 } : { layer: 'classifier_hidden' }] });
          tf.dispose([g.output, ...g.gradients]);
        } finally {
          scaled.dispose();
        }
        if (step === 1) classifier.dispose();
      }
    };
    const failure = attribute('input');
    await expect(failure).rejects.toThrow(BackendError);
    await expect(failure).rejects.toThrow(/^The tf\.LayersModel 'classifier' cannot run the gradient computation: it has been disposed\. Keep a model and its weights alive until every attribution call that uses it has finished/);
    // Through the layer path (layer attribution): the same (the model, not one of its layers, was disposed).
    await expect(attribute('layer')).rejects.toThrow(/^The tf\.LayersModel 'classifier' cannot run the forward pass: it has been disposed\./);
    await expect(model.forward({ inputs: [x] })).rejects.toThrow(/^The tf\.LayersModel 'classifier' cannot run the forward pass: it has been disposed\./);
    tf.dispose([x, w]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a layer disposed alone, or its weights (tf.disposeVariables), is named; a disposed input is the caller’s ArgumentError', async () => {
    const before = tf.memory().numTensors;
    const classifier = net('scorer');
    const model = fromTfjs(classifier);
    const x = tf.tensor2d([[1, 2, 3]]);
    const w = tf.tensor2d([[1, 0]]);
    const gone = tf.tensor2d([[1, 2, 3]]);
    gone.dispose();
    await expect(model.forward({ inputs: [gone] })).rejects.toThrow(ArgumentError);
    await expect(model.gradient({ inputs: [x], outputWeights: gone, wrt: [{ input: 0 }] })).rejects.toThrow(/^outputWeights: expected a live tf\.Tensor, got a tensor that has been disposed\./);
    classifier.layers[1]!.dispose();
    await expect(model.gradient({ inputs: [x], outputWeights: w, wrt: [{ input: 0 }] })).rejects.toThrow(/^The tf\.LayersModel 'scorer' cannot run the gradient computation: its layer 'scorer_head' has been disposed\./);
    const ranker = fromTfjs(net('ranker'));
    tf.disposeVariables(); // every weight of every model
    const weight = await ranker.forward({ inputs: [x] }).catch((e: unknown) => e);
    expect(weight).toBeInstanceOf(BackendError);
    expect((weight as Error).message).toMatch(/^The tf\.LayersModel 'ranker' cannot run the forward pass: its weight 'ranker_hidden\/kernel' has been disposed\./);
    tf.dispose([x, w]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
