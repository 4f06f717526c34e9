import * as tf from '@tensorflow/tfjs';
import { tfjsBackend } from '@attribution/tfjs';
import { ShapeError, TargetError } from '@attribution/tensor';
import { describe, expect, it } from 'vitest';
import { Scope, TargetSelection, normalizeTarget, repeatInterleaveTarget } from '../src/index.js';

const b = tfjsBackend;

/** Per-example values `Σ output ⊙ mask`, computed directly with broadcasting (the reference). */
function reference(out: number[], outShape: number[], mask: number[], maskShape: number[]): number[] {
  const o = tf.tensor(out, outShape);
  const m = tf.tensor(mask, maskShape);
  const axes = outShape.slice(1).map((_, i) => i + 1);
  const r = axes.length ? tf.sum(tf.mul(o, m), axes) : tf.mul(o, m);
  const values = Array.from(r.dataSync());
  tf.dispose([o, m, r]);
  return values;
}

async function masked(out: number[], outShape: number[], mask: tf.Tensor, onePerExample = true): Promise<TargetSelection> {
  const spec = await normalizeTarget(b, { mask }, outShape[0] as number);
  return TargetSelection.resolve(spec, outShape, onePerExample);
}

describe('mask targets ({ mask: tensor })', () => {
  const outShape = [2, 2, 3, 3]; // a segmentation-like output [N, C, H, W]
  const out = Array.from({ length: 36 }, (_, i) => Math.sin(i + 1) * 3);

  it('weighs the whole output: shared, per-example and broadcast masks give Σ output ⊙ mask per example', async () => {
    const cases: [number[], number[]][] = [
      [Array.from({ length: 18 }, (_, i) => (i % 4 === 0 ? 1 : i % 5 === 0 ? -0.5 : 0)), [2, 3, 3]], // shared [C, H, W]
      [Array.from({ length: 36 }, (_, i) => ((i * 7) % 3) - 1), [2, 2, 3, 3]], // per example [N, C, H, W]
      [[1, 0, 0, 0, 1, 1, 0, 1, 0], [3, 3]], // a region [H, W] for every channel
      [[0, 2], [2, 1, 1]], // a channel weight [C, 1, 1]
      [[1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 1], [2, 1, 3, 3]], // per example, every channel
      [[0.5], [1, 1, 1, 1]], // shared through a size-1 batch dimension
      [[2], []], // a scalar: the sum of everything, scaled
    ];
    for (const [mask, shape] of cases) {
      const t = tf.tensor(mask, shape);
      const sel = await masked(out, outShape, t);
      expect(sel.weighted).toBe(true);
      expect(sel.k).toBe(1);
      const got = Array.from(sel.sums(out));
      const want = reference(out, outShape, mask, shape);
      got.forEach((v, i) => expect(v).toBeCloseTo(want[i] as number, 5));
      expect(Array.from(sel.values(out, 2))).toEqual(got);
      t.dispose();
    }
  });

  it('accepts integer and boolean masks, and one-value-per-example outputs', async () => {
    const region = tf.tensor([true, false, false, false, true, false, false, false, true], [3, 3], 'bool');
    const sel = await masked(out, outShape, region);
    expect(Array.from(sel.sums(out))).toEqual(reference(out, outShape, [1, 0, 0, 0, 1, 0, 0, 0, 1], [3, 3]).map((v) => expect.closeTo(v, 5)));
    const ints = tf.tensor1d([2, -1], 'int32');
    const flat = await masked([5, 7], [2], ints);
    expect(Array.from(flat.sums([5, 7]))).toEqual([10, -7]);
    tf.dispose([region, ints]);
  });

  it('turns a mask into output weights for repeated batches, scaled per copy', async () => {
    const scope = new Scope(b);
    const mask = tf.tensor2d([[0, 0.5, 2], [1, 0, -1]]);
    const sel = await masked([1, 2, 3, 4, 5, 6], [2, 3], mask);
    const w = sel.weights(b, [1, 3], scope);
    expect(w.shape).toEqual([4, 3]);
    expect(Array.from(await w.data())).toEqual([0, 0.5, 2, 1, 0, -1, 0, 1.5, 6, 3, 0, -3]);
    // Copies of the batch (perturbation expansion) reuse each example's mask.
    expect(Array.from(sel.values([1, 2, 3, 4, 5, 6, 0, 0, 1, 1, 0, 0], 4))).toEqual([7, -2, 2, 1]);
    expect(Array.from(sel.subset(1, 2).sums([4, 5, 6]))).toEqual([-2]);
    expect(Array.from(sel.pick([1, 1, 0]).sums([4, 5, 6, 4, 5, 6, 1, 2, 3]))).toEqual([-2, -2, 7]);
    expect(Array.from(sel.repeatInterleave(2).sums([1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6]))).toEqual([7, 7, -2, -2]);
    scope.dispose();
    mask.dispose();
  });

  it('follows examples repeated in place (NoiseTunnel, sensitivity): a per-example row serves its copies', async () => {
    const mask = tf.tensor2d([[1, 0, 0], [0, 0, 1]]);
    const expanded = await repeatInterleaveTarget(b, { mask }, 2, 3);
    const sel = TargetSelection.resolve(await normalizeTarget(b, expanded, 6), [6, 3], true);
    const data = Array.from({ length: 18 }, (_, i) => i);
    expect(Array.from(sel.sums(data))).toEqual([0, 3, 6, 11, 14, 17]);
    // Twice (a NoiseTunnel inside sensitivityMax): rows of 2 × 2 copies per example.
    const twice = await repeatInterleaveTarget(b, await repeatInterleaveTarget(b, { mask }, 2, 2), 4, 2);
    const sel2 = TargetSelection.resolve(await normalizeTarget(b, twice, 8), [8, 3], true);
    expect(Array.from(sel2.sums(Array.from({ length: 24 }, (_, i) => i)))).toEqual([0, 3, 6, 9, 14, 17, 20, 23]);
    // A shared mask passes as it is.
    const shared = tf.tensor1d([1, 1, 0]);
    const sel3 = TargetSelection.resolve(await normalizeTarget(b, await repeatInterleaveTarget(b, { mask: shared }, 2, 3), 6), [6, 3], true);
    expect(Array.from(sel3.sums(data))).toEqual([1, 7, 13, 19, 25, 31]);
    tf.dispose([mask, shared]);
  });

  it('rejects masks of the wrong shape, dtype or values, and mixed forms, naming the target', async () => {
    const bad = async (mask: unknown, shape = outShape, extra: object = {}): Promise<unknown> =>
      TargetSelection.resolve(await normalizeTarget(b, { mask, ...extra }, shape[0] as number), shape, true);
    const wrong = tf.zeros([2, 4, 3]);
    await expect(bad(wrong)).rejects.toThrow(ShapeError);
    await expect(bad(wrong)).rejects.toThrow(
      /^target: expected a mask that broadcasts to the output shape \[2, 2, 3, 3\]: \[2, 3, 3\] \(or with size-1 dimensions\) for one mask shared by every example, or \[2, 2, 3, 3\] for one per example, got a mask of shape \[2, 4, 3\]\.$/,
    );
    const threeExamples = tf.zeros([3, 2, 3, 3]);
    await expect(bad(threeExamples)).rejects.toThrow(/got a mask of shape \[3, 2, 3, 3\]/);
    const tooBig = tf.zeros([1, 2, 2, 3, 3]);
    await expect(bad(tooBig)).rejects.toThrow(ShapeError);
    const nan = tf.tensor([1, Number.NaN, 0], [3]);
    await expect(bad(nan, [2, 3])).rejects.toThrow(TargetError);
    await expect(bad(nan, [2, 3])).rejects.toThrow(/target: expected a mask of finite weights, got NaN at flat index 1/);
    const strings = tf.tensor(['a', 'b', 'c']);
    await expect(bad(strings, [2, 3])).rejects.toThrow(/target: expected a mask of numbers or booleans .*got a string tensor/);
    await expect(bad([1, 0, 0], [2, 3])).rejects.toThrow(/target: expected \{ mask \} holding a tensor of the tfjs-cpu backend .*got \{ mask: \[1, 0, 0\] \}/);
    const ok = tf.ones([3]);
    await expect(bad(ok, [2, 3], { index: [1] })).rejects.toThrow(TargetError);
    await expect(bad(ok, [2, 3], { index: [1] })).rejects.toThrow(/target: expected \{ mask: tensor \} alone, got a mask with 'index'/);
    tf.dispose([wrong, threeExamples, tooBig, nan, strings, ok]);
  });

  it('keeps the existing forms: an all-zero mask explains nothing, index targets stay unweighted', async () => {
    const zeros = tf.zeros([3]);
    const sel = await masked([1, 2, 3, 4, 5, 6], [2, 3], zeros);
    expect(Array.from(sel.sums([1, 2, 3, 4, 5, 6]))).toEqual([0, 0]);
    const index = TargetSelection.resolve(await normalizeTarget(b, 1, 2), [2, 3], true);
    expect(index.weighted).toBe(false);
    expect(Array.from(index.values([1, 2, 3, 4, 5, 6], 2))).toEqual([2, 5]);
    zeros.dispose();
  });
});
