import * as tf from '@tensorflow/tfjs';
import { fromTfjs } from '@attribution/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { AbortError, IntegratedGradients } from '../src/index.js';
import { basicModel2, basicModelMultiLayer } from '@attribution/testing';

const values = async (t: tf.Tensor | undefined): Promise<number[]> => Array.from(await t!.data());
const expectClose = (got: number[], want: number[], tol: number): void => {
  expect(got).toHaveLength(want.length);
  got.forEach((g, i) => expect(Math.abs(g - (want[i] as number))).toBeLessThanOrEqual(tol));
};

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('IntegratedGradients — Captum worked numbers (CAPTUM-SEMANTICS §2.4)', () => {
  const x1 = (): tf.Tensor => tf.tensor1d([3]);
  const x2 = (): tf.Tensor => tf.tensor1d([1]);
  const cases: Array<[string, number, number, number]> = [
    ['riemann_right', 1.5, -0.5, 0],
    ['riemann_middle', 1.5, -0.5, 0],
    ['gausslegendre', 1.5, -0.5, 0],
    ['riemann_left', 1.44, -0.48, -0.04],
    ['riemann_trapezoid', 1.47, -0.49, -0.02],
  ];
  for (const [method, a1, a2, delta] of cases) {
    it(`BasicModel2 with ${method}, 50 steps`, async () => {
      const ig = new IntegratedGradients(fromTfjs(basicModel2));
      const inputs = [x1(), x2()];
      const r = await ig.attribute(inputs, { method: method as 'gausslegendre', returnConvergenceDelta: true });
      expectClose(await values(r.attributions[0]), [a1], 1e-5);
      expectClose(await values(r.attributions[1]), [a2], 1e-5);
      expectClose(await values(r.delta), [delta], 1e-5);
      tf.dispose([...inputs, ...r.attributions, r.delta!]);
    });
  }

  it('BasicModel_MultiLayer, two examples, target 0', async () => {
    const ig = new IntegratedGradients(fromTfjs(basicModelMultiLayer()));
    const x = tf.tensor2d([[1.5, 2.0, 1.3], [0.5, 0.1, 2.3]]);
    for (const [method, n] of [['gausslegendre', 5], ['riemann_middle', 50]] as const) {
      const r = await ig.attribute(x, { target: 0, method, nSteps: n, returnConvergenceDelta: true });
      expectClose(await values(r.attributions), [4.5, 6.0, 3.9, 1.5, 0.3, 6.9], 2e-5);
      expectClose(await values(r.delta), [0, 0], 3e-6);
    }
    const t5 = await ig.attribute(x, { target: 0, method: 'riemann_trapezoid', nSteps: 5, returnConvergenceDelta: true });
    expectClose(await values(t5.attributions), [3.6, 4.8, 3.12, 1.2, 0.24, 5.52], 2e-5);
    expectClose(await values(t5.delta), [-2.88, -1.74], 2e-5);
    const t50 = await ig.attribute(x, { target: 0, method: 'riemann_trapezoid', nSteps: 50 });
    expectClose(await values(t50.attributions), [4.41, 5.88, 3.822, 1.47, 0.294, 6.762], 2e-5);
  });

  it('multiplyByInputs: false returns the path-averaged gradient ([0.5], [−0.5] for BasicModel2)', async () => {
    const ig = new IntegratedGradients(fromTfjs(basicModel2), { multiplyByInputs: false });
    expect(ig.multipliesByInputs).toBe(false);
    const r = await ig.attribute([x1(), x2()], { method: 'riemann_right', nSteps: 500 });
    expectClose(await values(r.attributions[0]), [0.5], 1e-5);
    expectClose(await values(r.attributions[1]), [-0.5], 1e-5);
  });
});

describe('IntegratedGradients — API behaviour', () => {
  const mlp = basicModelMultiLayer();
  const model = fromTfjs(mlp);
  const x = (): tf.Tensor => tf.tensor2d([[1.5, 2.0, 1.3], [0.5, 0.1, 2.3], [3, -1, 0.5]]);

  it('returns one tensor for one input and an array for an array', async () => {
    const ig = new IntegratedGradients(model);
    const single = await ig.attribute(x(), { target: 1, nSteps: 4 });
    expect(single.attributions).toBeInstanceOf(tf.Tensor);
    expect(single.delta).toBeUndefined();
    const list = await ig.attribute([x()], { target: 1, nSteps: 4 });
    expect(Array.isArray(list.attributions)).toBe(true);
    expect(await values(list.attributions[0])).toEqual(await values(single.attributions));
    expect(ig.getName()).toBe('Integrated Gradients');
  });

  it('internalBatchSize bounds every model call and does not change the result', async () => {
    const seen: number[] = [];
    const spy = fromTfjs((t: tf.Tensor) => {
      seen.push(t.shape[0]!);
      return mlp(t);
    });
    const ig = new IntegratedGradients(spy);
    const full = await ig.attribute(x(), { target: 0, nSteps: 20, returnConvergenceDelta: true });
    seen.length = 0;
    const chunked = await ig.attribute(x(), { target: 0, nSteps: 20, internalBatchSize: 7, returnConvergenceDelta: true });
    expect(Math.max(...seen)).toBeLessThanOrEqual(7);
    expectClose(await values(chunked.attributions), await values(full.attributions), 1e-5);
    expectClose(await values(chunked.delta), await values(full.delta), 1e-5);
  });

  it('accepts per-example targets, tuple targets and target tensors', async () => {
    const ig = new IntegratedGradients(model);
    const perExample = await ig.attribute(x(), { target: [0, 1, 0], nSteps: 8 });
    const t0 = await values((await ig.attribute(x(), { target: 0, nSteps: 8 })).attributions);
    const t1 = await values((await ig.attribute(x(), { target: 1, nSteps: 8 })).attributions);
    expectClose(await values(perExample.attributions), [...t0.slice(0, 3), ...t1.slice(3, 6), ...t0.slice(6)], 1e-6);
    const asTensor = await ig.attribute(x(), { target: tf.tensor1d([0, 1, 0], 'int32'), nSteps: 8 });
    expectClose(await values(asTensor.attributions), await values(perExample.attributions), 1e-7);
    // A 4-D output (Captum's multidim_output): out[n, i, j, k] = o[n, i] · (j ? 2 : 1) · (k ? 4 : 1).
    const scale = tf.tensor([1, 4, 2, 8], [1, 1, 2, 2]);
    const multi = fromTfjs((t: tf.Tensor) => tf.mul(tf.reshape(mlp(t), [-1, 2, 1, 1]), scale));
    const tuple = await new IntegratedGradients(multi).attribute(x(), { target: { index: [0, 1, 1] }, nSteps: 8 });
    expectClose(await values(tuple.attributions), t0.map((v) => v * 8), 1e-4);
  });

  it('passes additionalForwardArgs and repeats tensor arguments with the steps', async () => {
    const ig = new IntegratedGradients(model);
    const add = tf.tensor2d([[0, 1, 0], [1, 0, 0], [0, 0, 2]]);
    const withArgs = await ig.attribute(x(), { target: 0, additionalForwardArgs: [add], nSteps: 6, internalBatchSize: 6, returnConvergenceDelta: true });
    const closure = new IntegratedGradients(fromTfjs((t: tf.Tensor) => mlp(t, tf.tile(add, [t.shape[0]! / 3, 1]))));
    const ref = await closure.attribute(x(), { target: 0, nSteps: 6, returnConvergenceDelta: true });
    expectClose(await values(withArgs.attributions), await values(ref.attributions), 1e-6);
    expectClose(await values(withArgs.delta), await values(ref.delta), 1e-6);
  });

  it('uses baselines given as a number, a batch-1 tensor or a tensor per example', async () => {
    const ig = new IntegratedGradients(model);
    const a = await ig.attribute(x(), { target: 0, baselines: 0.5, nSteps: 6 });
    const b = await ig.attribute(x(), { target: 0, baselines: tf.fill([1, 3], 0.5), nSteps: 6 });
    const c = await ig.attribute(x(), { target: 0, baselines: tf.fill([3, 3], 0.5), nSteps: 6 });
    const va = await values(a.attributions);
    expectClose(await values(b.attributions), va, 1e-7);
    expectClose(await values(c.attributions), va, 1e-7);
  });

  it('reports progress and can be aborted between batches, freeing everything', async () => {
    const ig = new IntegratedGradients(model);
    const input = x();
    const progress: number[] = [];
    await ig.attribute(input, { target: 0, nSteps: 10, internalBatchSize: 6, onProgress: (p) => progress.push(p.done / p.total) });
    expect(progress).toEqual([0.2, 0.4, 0.6, 0.8, 1]);
    const controller = new AbortController();
    const before = tf.memory().numTensors;
    const run = ig.attribute(input, {
      target: 0,
      nSteps: 10,
      internalBatchSize: 3,
      signal: controller.signal,
      onProgress: (p) => p.done === 2 && controller.abort(),
    });
    await expect(run).rejects.toThrow(AbortError);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('leaves tf.memory().numTensors unchanged apart from the returned tensors', async () => {
    const ig = new IntegratedGradients(model);
    const input = x();
    const base = tf.zeros([1, 3]);
    await ig.attribute(input, { target: 0, nSteps: 3 }).then((r) => tf.dispose(r.attributions)); // warm-up
    const before = tf.memory().numTensors;
    for (const opts of [
      { target: 0 },
      { target: 1, baselines: base, returnConvergenceDelta: true },
      { target: [0, 1, 1], internalBatchSize: 5, method: 'riemann_left' as const, nSteps: 7 },
    ]) {
      const r = await ig.attribute(input, opts);
      tf.dispose([r.attributions, ...(r.delta ? [r.delta] : [])]);
      expect(tf.memory().numTensors).toBe(before);
    }
  });
});
