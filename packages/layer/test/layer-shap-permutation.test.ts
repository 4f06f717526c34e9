import * as tf from '@tensorflow/tfjs';
import { ArgumentError } from '@attribution/tensor';
import { basicModelMultiLayer, failureOf, leakedBy, linear, recordingModel, tapOf } from '@attribution/testing';
import { fromTfjs } from '@attribution/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { LayerDeepLift, LayerDeepLiftShap, LayerFeaturePermutation, layerMethods } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const ml = fromTfjs(basicModelMultiLayer());
const X = tf.keep(tf.tensor2d([[1, -2, 3], [0.5, 4, -1]]));
const refs = tf.keep(tf.tensor2d([[0, 0, 0], [1, 1, 1], [-2, 0.5, 3]]));

/** A net whose outputs weigh a Tanh layer differently, so the target matters: out = W2·tanh(hidden) + b2. */
const w1 = [[1, -1, 0.5], [0.3, 0.2, -0.7], [-0.4, 1.1, 0.2], [0.9, 0.1, 0.6]];
const l1 = linear(w1, [0.1, -0.2, 0.3, 0]);
const l2 = linear([[1, -2, 0.5, 1.5], [-1, 0.7, 2, -0.3], [0.4, 0.4, -1.2, 2]], [0.5, -0.5, 0]);
const tail = (h: tf.Tensor): tf.Tensor => l2(tf.tanh(h));
const net = fromTfjs((x: tf.Tensor, ...rest: unknown[]) => tail(tapOf(rest)('hidden', l1(x))));

const values = async (t: unknown): Promise<number[]> => Array.from(await (t as tf.Tensor).data());

describe('LayerDeepLiftShap', () => {
  it('averages LayerDeepLift over the reference rows, with one delta per (example, reference) pair', async () => {
    const shap = await new LayerDeepLiftShap(ml, 'linear1').attribute(X, { baselines: refs, target: [0, 1], returnConvergenceDelta: true });
    expect((shap.attributions as tf.Tensor).shape).toEqual([2, 4]);
    expect((shap.delta as tf.Tensor).shape).toEqual([6]);
    for (const d of await values(shap.delta)) expect(Math.abs(d)).toBeLessThan(1e-4);
    const sum = new Float64Array(8);
    for (let j = 0; j < 3; j++) {
      const row = tf.tile(tf.slice(refs, [j, 0], [1, 3]), [2, 1]);
      const one = await new LayerDeepLift(ml, 'linear1').attribute(X, { baselines: row, target: [0, 1] });
      (await values(one.attributions)).forEach((v, k) => (sum[k] = (sum[k] as number) + v / 3));
      tf.dispose([row, one.attributions]);
    }
    const got = await values(shap.attributions);
    got.forEach((v, k) => expect(v).toBeCloseTo(sum[k] as number, 4));
    tf.dispose([shap.attributions, shap.delta as tf.Tensor]);
  });

  it('multiplyByInputs: false averages the multipliers', async () => {
    const local = await new LayerDeepLiftShap(net, 'hidden', { multiplyByInputs: false }).attribute(X, { baselines: refs, target: 2 });
    const global = await new LayerDeepLiftShap(net, 'hidden').attribute(X, { baselines: refs, target: 2 });
    expect((local.attributions as tf.Tensor).shape).toEqual([2, 4]);
    expect(await values(local.attributions)).not.toEqual(await values(global.attributions));
    tf.dispose([local.attributions, global.attributions]);
  });

  it('refuses a distribution of one row with a typed error, leaking nothing', async () => {
    const one = tf.zeros([1, 3]);
    const { error, leaked } = await failureOf(() => new LayerDeepLiftShap(ml, 'linear1').attribute(X, { baselines: one, target: 0 }));
    expect(error).toBeInstanceOf(ArgumentError);
    expect(error.message).toMatch(/baselines: expected at least 2 reference rows, got 1/);
    expect(leaked).toBe(0);
    const none = await failureOf(() => new LayerDeepLiftShap(ml, 'linear1').attribute(X, {} as never));
    expect(none.error).toBeInstanceOf(ArgumentError);
    one.dispose();
  });

  it('splits pairs by internalBatchSize and frees what it allocates', async () => {
    const { model, calls } = recordingModel(ml);
    const r = await new LayerDeepLiftShap(model, 'linear1').attribute(X, { baselines: refs, target: 0, internalBatchSize: 4 });
    tf.dispose(r.attributions);
    for (const [, rows] of calls) expect(rows).toBeLessThanOrEqual(4);
    expect(await leakedBy(() => new LayerDeepLiftShap(ml, 'linear1').attribute(X, { baselines: refs, target: 0, returnConvergenceDelta: true }))).toBe(0);
  });

  it('is in the registry as layer-deep-lift-shap, taking baselines', () => {
    expect(layerMethods['layer-deep-lift-shap']).toMatchObject({ className: 'LayerDeepLiftShap', baselines: true });
  });
});

/** F(x)[i, t_i] − F(x with layer feature positions `group` swapped between the two examples)[i, t_i], by hand. */
async function swapped(x: tf.Tensor, targets: readonly number[], groups: readonly (readonly number[])[]): Promise<number[][]> {
  const h = await (l1(x).array() as Promise<number[][]>);
  const f = async (rows: number[][]): Promise<number[][]> => {
    const t = tf.tensor2d(rows);
    const out = tail(t);
    const v = (await out.array()) as number[][];
    tf.dispose([t, out]);
    return v;
  };
  const f0 = await f(h);
  return Promise.all(
    groups.map(async (group) => {
      const p = h.map((row, i) => row.map((v, k) => (group.includes(k) ? (h[1 - i] as number[])[k] as number : v)));
      const fp = await f(p);
      return targets.map((t, i) => ((f0[i] as number[])[t] as number) - ((fp[i] as number[])[t] as number));
    }),
  );
}

describe('LayerFeaturePermutation', () => {
  it('accepts targets (Captum 0.8 rejects every target): each element against a by-hand swap', async () => {
    for (const target of [[0, 2], 1] as const) {
      const r = await new LayerFeaturePermutation(net, 'hidden').attribute(X, { target: target as never });
      expect((r.attributions as tf.Tensor).shape).toEqual([2, 4]);
      const targets = typeof target === 'number' ? [target, target] : target;
      const want = await swapped(X, targets, [[0], [1], [2], [3]]);
      const got = await values(r.attributions);
      for (let i = 0; i < 2; i++) for (let k = 0; k < 4; k++) expect(got[i * 4 + k]).toBeCloseTo((want[k] as number[])[i] as number, 5);
      tf.dispose(r.attributions);
    }
  });

  it('permutes a layerMask group together, in perturbationsPerEval copies per call', async () => {
    const mask = tf.tensor2d([[0, 0, 1, 1]], [1, 4], 'int32');
    const { model, calls } = recordingModel(net);
    const r = await new LayerFeaturePermutation(model, 'hidden').attribute(X, { target: [1, 0], layerMask: mask, perturbationsPerEval: 2 });
    const want = await swapped(X, [1, 0], [[0, 1], [2, 3]]);
    const got = await values(r.attributions);
    for (let i = 0; i < 2; i++) for (let k = 0; k < 4; k++) expect(got[i * 4 + k]).toBeCloseTo((want[k < 2 ? 0 : 1] as number[])[i] as number, 5);
    expect(Math.max(...calls.map(([, rows]) => rows))).toBe(4);
    tf.dispose([r.attributions, mask]);
  });

  it('with more examples, a seed repeats the permutations', async () => {
    const x3 = tf.tensor2d([[1, 2, 3], [0, -1, 2], [2, 2, -2]]);
    const a = await new LayerFeaturePermutation(net, 'hidden').attribute(x3, { target: 0, seed: 4 });
    const b = await new LayerFeaturePermutation(net, 'hidden').attribute(x3, { target: 0, seed: 4 });
    expect((a.attributions as tf.Tensor).shape).toEqual([3, 4]);
    expect(await values(a.attributions)).toEqual(await values(b.attributions));
    tf.dispose([x3, a.attributions, b.attributions]);
  });

  it('needs two examples; frees what it allocates', async () => {
    const one = tf.tensor2d([[1, 2, 3]]);
    const { error, leaked } = await failureOf(() => new LayerFeaturePermutation(net, 'hidden').attribute(one, { target: 0 }));
    expect(error).toBeInstanceOf(ArgumentError);
    expect(error.message).toMatch(/inputs: expected at least two examples/);
    expect(leaked).toBe(0);
    expect(await leakedBy(() => new LayerFeaturePermutation(net, 'hidden').attribute(X, { target: 0 }))).toBe(0);
    one.dispose();
    expect(new LayerFeaturePermutation(net, 'hidden').stochastic).toBe(true);
    expect(layerMethods['layer-feature-permutation']).toMatchObject({ className: 'LayerFeaturePermutation', baselines: false });
  });
});
