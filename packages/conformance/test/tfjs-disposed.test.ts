import * as tf from '@tensorflow/tfjs';
import { LayerIntegratedGradients } from '@attribution/layer';
import { IntegratedGradients } from '@attribution/primary';
import { BackendError } from '@attribution/tensor';
import { fromTfjs } from '@attribution/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';

// A tf.LayersModel disposed while an attribution call is under way (between its batches of model calls): the
// call ends in a BackendError naming the model (and the layer), and leaves no tensor behind.

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const classifier = (name: string): tf.Sequential =>
  tf.sequential({
    name,
    layers: [
      tf.layers.dense({ name: `${name}_hidden`, units: 4, inputShape: [3], activation: 'relu', kernelInitializer: 'ones' }),
      tf.layers.dense({ name: `${name}_head`, units: 2, kernelInitializer: 'ones' }),
    ],
  });

describe('a tf.LayersModel disposed during an attribution call', () => {
  it('IntegratedGradients and LayerIntegratedGradients end in a BackendError naming it; no tensor leaks', async () => {
    const before = tf.memory().numTensors;
    const x = tf.tensor2d([[1, 2, 3], [-1, 0.5, 2]]);
    for (const [name, attribute] of [
      ['ig', (m: ReturnType<typeof fromTfjs>, onProgress: () => void) => new IntegratedGradients(m).attribute(x, { target: 1, nSteps: 8, internalBatchSize: 4, onProgress })],
      ['lig', (m: ReturnType<typeof fromTfjs>, onProgress: () => void) => new LayerIntegratedGradients(m, 'lig_hidden').attribute(x, { target: 1, nSteps: 8, internalBatchSize: 4, onProgress })],
    ] as const) {
      const net = classifier(name);
      const model = fromTfjs(net);
      let calls = 0;
      const failure = attribute(model, () => {
        if (++calls === 1) net.dispose(); // after the first batch, while later batches are still to come
      });
      await expect(failure).rejects.toThrow(BackendError);
      await expect(failure).rejects.toThrow(new RegExp(`^The tf\\.LayersModel '${name}' cannot run the (gradient computation|forward pass): (it|its layer '${name}_hidden') has been disposed\\.`));
      expect(calls).toBe(1);
    }
    x.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
