import * as tf from '@tensorflow/tfjs';
import { fromTfjs, type Tap } from '@attribution/tfjs';
import { describe, expect, it } from 'vitest';
import { Scope, activationsAtEnds, layerActivations } from '../src/index.js';

// activationsAtEnds: A(x) and A(x′) from one stacked call must equal two separate calls, with batched
// additional arguments repeated for the baselines' half and nothing left allocated.

describe('activationsAtEnds', () => {
  it('equals layerActivations at the inputs and at the baselines, with an additional argument, in one call', async () => {
    await tf.setBackend('cpu');
    const w = tf.tensor2d([[1, -2, 0.5], [0.3, 1, -1]]);
    let calls = 0;
    // The extra argument scales each example; a layer reshaped so its first dimension is 3·N.
    const model = fromTfjs((x: tf.Tensor, scale: tf.Tensor, tap: Tap) => {
      calls++;
      const h = tap('hidden', tf.reshape(tf.tanh(tf.mul(tf.matMul(x, w), scale)), [-1, 1]));
      return tf.reshape(h, [x.shape[0] as number, 3]);
    });
    const x = tf.tensor2d([[1, 2], [-0.5, 0.25]]);
    const baselines = tf.tensor2d([[0.1, 0], [0, -0.2]]);
    const scale = tf.tensor2d([[2], [0.5]]);
    const before = tf.memory().numTensors;
    const scope = new Scope(fromTfjs(() => x).backend);
    const separate = [
      ...(await layerActivations(model, [x], [scale], [{ layer: 'hidden' }], scope)),
      ...(await layerActivations(model, [baselines], [scale], [{ layer: 'hidden' }], scope)),
    ];
    calls = 0;
    const [[atX], [atB]] = await activationsAtEnds(model, [x], [baselines], [scale], [{ layer: 'hidden' }], scope);
    expect(calls).toBe(1);
    expect((atX as tf.Tensor).shape).toEqual([6, 1]);
    expect(await (atX as tf.Tensor).array()).toEqual(await (separate[0] as tf.Tensor).array());
    expect(await (atB as tf.Tensor).array()).toEqual(await (separate[1] as tf.Tensor).array());
    // With room for N rows per call only, it takes two calls and gives the same.
    calls = 0;
    const [[chunkX]] = await activationsAtEnds(model, [x], [baselines], [scale], [{ layer: 'hidden' }], scope, { maxRows: 2 });
    expect(calls).toBe(2);
    expect(await (chunkX as tf.Tensor).array()).toEqual(await (separate[0] as tf.Tensor).array());
    scope.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([w, x, baselines, scale]);
  });
});
