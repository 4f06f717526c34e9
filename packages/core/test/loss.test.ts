import * as tf from '@tensorflow/tfjs';
import { tfjsBackend } from '@attribution/tfjs';
import { ArgumentError, ShapeError, TargetError } from '@attribution/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkLossFunction, lossAndGradient, prepareLoss } from '../src/index.js';

const b = tfjsBackend;

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const read = async (t: tf.Tensor): Promise<number[]> => {
  const v = Array.from(await t.data());
  t.dispose();
  return v;
};

/** d(Σ loss)/d(output) by tf.grad, as the reference. */
async function tfGrad(f: (o: tf.Tensor) => tf.Scalar, output: number[][]): Promise<number[]> {
  const o = tf.tensor2d(output);
  const g = tf.grad(f)(o);
  o.dispose();
  return read(g);
}

const close = (got: ArrayLike<number>, want: ArrayLike<number>, tol: number): void => {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < got.length; i++) expect(Math.abs((got[i] as number) - (want[i] as number))).toBeLessThanOrEqual(tol);
};

describe('lossAndGradient', () => {
  const probs = [
    [0.2, 0.5, 0.3],
    [0.6, 0.1, 0.3],
  ];
  const logits = [
    [1.5, -0.5, 2],
    [0.25, 3, -1],
  ];

  it("'neg-log': −log(output[target]) and −1/output[target] at the target", async () => {
    const out = tf.tensor2d(probs);
    const { values, gradient } = await lossAndGradient(b, out, [1, 0], 'neg-log');
    close(values, [-Math.log(0.5), -Math.log(0.6)], 1e-7);
    close(await read(gradient), [0, -2, 0, -1 / 0.6, 0, 0], 1e-6);
    // One index for every example.
    const shared = await lossAndGradient(b, out, 2);
    close(shared.values, [-Math.log(0.3), -Math.log(0.3)], 1e-7);
    shared.gradient.dispose();
    out.dispose();
  });

  it("'neg-log' follows autograd on negative outputs: gradient −1/output, loss NaN", async () => {
    const out = tf.tensor2d([[-9, 2]]);
    const { values, gradient } = await lossAndGradient(b, out, 0);
    expect(Number.isNaN(values[0])).toBe(true);
    close(await read(gradient), [1 / 9, 0], 1e-7);
    out.dispose();
  });

  it("'neg-log' on a 3-D output takes index tuples, shared or per example", async () => {
    const out = tf.tensor3d([
      [
        [0.1, 0.2],
        [0.3, 0.4],
      ],
      [
        [0.5, 0.6],
        [0.7, 0.8],
      ],
    ]);
    const shared = await lossAndGradient(b, out, { index: [1, 0] });
    close(shared.values, [-Math.log(0.3), -Math.log(0.7)], 1e-7);
    close(await read(shared.gradient), [0, 0, -1 / 0.3, 0, 0, 0, -1 / 0.7, 0], 1e-5);
    const each = await lossAndGradient(b, out, [
      [0, 1],
      [1, 1],
    ]);
    close(each.values, [-Math.log(0.2), -Math.log(0.8)], 1e-7);
    each.gradient.dispose();
    out.dispose();
  });

  it("'cross-entropy' matches tf.losses.softmaxCrossEntropy and its gradient", async () => {
    const out = tf.tensor2d(logits);
    const { values, gradient } = await lossAndGradient(b, out, [2, 1], 'cross-entropy');
    const onehot = tf.oneHot([2, 1], 3);
    const want = await read(tf.losses.softmaxCrossEntropy(onehot, out, undefined, undefined, tf.Reduction.NONE));
    close(values, want, 1e-6);
    const wantGrad = await tfGrad((o) => tf.sum(tf.losses.softmaxCrossEntropy(onehot, o, undefined, undefined, tf.Reduction.NONE)), logits);
    close(await read(gradient), wantGrad, 1e-6);
    onehot.dispose();
    out.dispose();
  });

  it("'mse': mean squared error per example, labels shaped like the output", async () => {
    const out = tf.tensor2d(logits);
    const labels = tf.tensor2d([
      [1, 0, 0],
      [0, 1, 0],
    ]);
    const { values, gradient } = await lossAndGradient(b, out, labels, 'mse');
    close(values, [(0.25 + 0.25 + 4) / 3, (0.0625 + 4 + 1) / 3], 1e-7);
    close(await read(gradient), [1 / 3, -1 / 3, 4 / 3, 0.5 / 3, 4 / 3, -2 / 3], 1e-6);
    await expect(lossAndGradient(b, out, tf.zeros([2, 2]), 'mse')).rejects.toBeInstanceOf(ShapeError);
    labels.dispose();
    out.dispose();
  });

  it('a user loss: central differences in float64, or the given gradient', async () => {
    const out = tf.tensor2d(logits);
    const cubic = (row: readonly number[], label: unknown): number => row.reduce((s, v, j) => s + (j === label ? v ** 3 : 0.5 * v * v), 0);
    const numeric = await lossAndGradient(b, out, [0, 2], cubic);
    close(numeric.values, [1.5 ** 3 + 0.125 + 2, 0.03125 + 4.5 - 1], 1e-12);
    const want = [3 * 1.5 ** 2, -0.5, 2, 0.25, 3, 3];
    close(await read(numeric.gradient), want, 1e-5);
    const exact = await lossAndGradient(b, out, [0, 2], { loss: cubic, gradient: (row, label) => row.map((v, j) => (j === label ? 3 * v * v : v)) });
    close(await read(exact.gradient), want, 1e-6);
    // A shared label (not one per example) reaches every example.
    const seen: unknown[] = [];
    const shared = await lossAndGradient(b, out, 'x', (row, label) => (seen.push(label), row[0] as number));
    expect(new Set(seen)).toEqual(new Set(['x']));
    close(await read(shared.gradient), [1, 0, 0, 1, 0, 0], 1e-6);
    out.dispose();
  });

  it('prepared losses evaluate a slice of the labelled batch', async () => {
    const prepared = await prepareLoss(b, 'neg-log', [0, 1, 2], 3);
    const out = tf.tensor2d([[0.1, 0.2, 0.7]]);
    const { values, gradient } = await prepared.compute(out, 2);
    close(values, [-Math.log(0.7)], 1e-7);
    gradient.dispose();
    out.dispose();
  });

  it('typed errors name the argument and leak nothing', async () => {
    const out = tf.tensor2d(probs);
    const before = tf.memory().numTensors;
    expect(() => checkLossFunction('hinge')).toThrow(ArgumentError);
    expect(() => checkLossFunction({ loss: () => 0, gradient: 1 })).toThrow(/lossFunc.gradient/);
    await expect(lossAndGradient(b, out, undefined)).rejects.toBeInstanceOf(TargetError);
    await expect(lossAndGradient(b, out, 5)).rejects.toBeInstanceOf(TargetError);
    await expect(lossAndGradient(b, out, [0, 1, 2])).rejects.toBeInstanceOf(TargetError);
    const negative = tf.tensor2d([[0, 0.5]]);
    await expect(lossAndGradient(b, negative, 0)).rejects.toThrow(/cross-entropy/);
    await expect(lossAndGradient(b, out, [0, 1], () => Number.NaN)).rejects.toThrow(/lossFunc/);
    await expect(lossAndGradient(b, out, [0, 1], { loss: () => 1, gradient: () => [1] })).rejects.toThrow(/3 numbers/);
    await expect(lossAndGradient(b, [1, 2] as never, 0)).rejects.toBeInstanceOf(ArgumentError);
    negative.dispose();
    expect(tf.memory().numTensors).toBe(before);
    out.dispose();
  });
});
