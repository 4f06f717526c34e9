import * as tf from '@tensorflow/tfjs';
import { ArgumentError } from '@attribution/tensor';
import { basicModelMultiLayer, failureOf, leakedBy, recordingModel } from '@attribution/testing';
import { fromTfjs } from '@attribution/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { NeuronDeepLift, NeuronDeepLiftShap, neuronMethods } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const ml = fromTfjs(basicModelMultiLayer());
const X = tf.keep(tf.tensor2d([[1, -2, 3], [0.5, 4, -1]]));
const refs = tf.keep(tf.tensor2d([[0, 0, 0], [1, 1, 1], [-2, 0.5, 3]]));
const values = async (t: unknown): Promise<number[]> => Array.from(await (t as tf.Tensor).data());

/** The mean over the reference rows of NeuronDeepLift against each row. */
async function meanOfDeepLift(layer: string, neuronSelector: number | number[], multiplyByInputs = true): Promise<Float64Array> {
  const sum = new Float64Array(6);
  for (let j = 0; j < 3; j++) {
    const row = tf.tile(tf.slice(refs, [j, 0], [1, 3]), [2, 1]);
    const one = await new NeuronDeepLift(ml, layer, { multiplyByInputs }).attribute(X, { baselines: row, neuronSelector });
    (await values(one.attributions)).forEach((v, k) => (sum[k] = (sum[k] as number) + v / 3));
    tf.dispose([row, one.attributions]);
  }
  return sum;
}

describe('NeuronDeepLiftShap', () => {
  it('averages NeuronDeepLift over the reference rows (input shape out)', async () => {
    for (const [layer, neuron] of [['linear1', 0], ['relu', 2], ['linear2', 1]] as const) {
      for (const multiplyByInputs of [true, false]) {
        const r = await new NeuronDeepLiftShap(ml, layer, { multiplyByInputs }).attribute(X, { baselines: refs, neuronSelector: neuron });
        expect((r.attributions as tf.Tensor).shape).toEqual([2, 3]);
        const want = await meanOfDeepLift(layer, neuron, multiplyByInputs);
        (await values(r.attributions)).forEach((v, k) => expect(v, `${layer} ${multiplyByInputs}`).toBeCloseTo(want[k] as number, 4));
        tf.dispose(r.attributions);
      }
    }
  });

  it('a function selector sums the units it selects', async () => {
    const r = await new NeuronDeepLiftShap(ml, 'linear1').attribute(X, { baselines: refs, neuronSelector: (t: tf.Tensor) => tf.sum(t, 1) });
    const parts = await Promise.all([0, 1, 2, 3].map((n) => meanOfDeepLift('linear1', n)));
    const got = await values(r.attributions);
    got.forEach((v, k) => expect(v).toBeCloseTo(parts.reduce((s, p) => s + (p[k] as number), 0), 4));
    tf.dispose(r.attributions);
  });

  it('takes several inputs, returning one attribution each', async () => {
    const two = fromTfjs((a: tf.Tensor, b: tf.Tensor, ...rest: unknown[]) => basicModelMultiLayer()(tf.add(a, b), ...rest));
    const r = await new NeuronDeepLiftShap(two, 'relu').attribute([X, X], { baselines: [refs, refs], neuronSelector: 1 });
    expect((r.attributions as tf.Tensor[]).map((t) => t.shape)).toEqual([[2, 3], [2, 3]]);
    tf.dispose(r.attributions as tf.Tensor[]);
  });

  it('refuses a distribution of one row with a typed error, leaking nothing', async () => {
    const one = tf.zeros([1, 3]);
    const { error, leaked } = await failureOf(() => new NeuronDeepLiftShap(ml, 'relu').attribute(X, { baselines: one, neuronSelector: 0 }));
    expect(error).toBeInstanceOf(ArgumentError);
    expect(error.message).toMatch(/baselines: expected at least 2 reference rows, got 1/);
    expect(leaked).toBe(0);
    one.dispose();
  });

  it('splits pairs by internalBatchSize and frees what it allocates', async () => {
    const { model, calls } = recordingModel(ml);
    const r = await new NeuronDeepLiftShap(model, 'relu').attribute(X, { baselines: refs, neuronSelector: 3, internalBatchSize: 4 });
    tf.dispose(r.attributions);
    for (const [kind, rows] of calls) if (kind === 'G') expect(rows).toBeLessThanOrEqual(4);
    expect(await leakedBy(() => new NeuronDeepLiftShap(ml, 'relu').attribute(X, { baselines: refs, neuronSelector: 3 }))).toBe(0);
    expect(neuronMethods['neuron-deep-lift-shap']).toMatchObject({ className: 'NeuronDeepLiftShap', baselines: true, target: false });
  });
});
