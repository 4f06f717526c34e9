import * as tf from '@tensorflow/tfjs';
import { tfjsBackend } from '@attribution/tfjs';
import { TargetError } from '@attribution/tensor';
import { describe, expect, it } from 'vitest';
import { Scope, TargetSelection, normalizeTarget, type TargetSpec } from '../src/index.js';

const b = tfjsBackend;
const out2 = [1, 2, 3, 4, 5, 6, 7, 8, 9]; // [[1,2,3],[4,5,6],[7,8,9]]
const out3 = [1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 8, 7, 6, 5, 4, 3, 2, 1]; // shape [2, 3, 3]

async function select(target: unknown, data: number[], shape: number[], onePerExample = false): Promise<number[]> {
  const spec: TargetSpec = await normalizeTarget(b, target, shape[0] as number);
  return Array.from(TargetSelection.resolve(spec, shape, onePerExample).sums(data));
}

// Captum's tests/utils/test_common.py (_select_targets).
describe('target selection, as Captum', () => {
  it('selects 2-D outputs by index, per-example list and tensor', async () => {
    expect(await select(1, out2, [3, 3])).toEqual([2, 5, 8]);
    expect(await select(tf.tensor(0, [], 'int32'), out2, [3, 3])).toEqual([1, 4, 7]);
    expect(await select(tf.tensor1d([1, 2, 0], 'int32'), out2, [3, 3])).toEqual([2, 6, 7]);
    expect(await select([1, 2, 0], out2, [3, 3])).toEqual([2, 6, 7]);
    expect(await select(-1, out2, [3, 3])).toEqual([3, 6, 9]);
    await expect(select({ index: [1, 2] }, out2, [3, 3])).rejects.toThrow(TargetError);
  });

  it('selects 3-D outputs by index tuples', async () => {
    expect(await select({ index: [0, 1] }, out3, [2, 3, 3])).toEqual([2, 8]);
    expect(await select([[0, 1], [2, 0]], out3, [2, 3, 3])).toEqual([2, 3]);
    await expect(select([[0, 1], [2, 0], [1, 1]], out3, [2, 3, 3])).rejects.toThrow(/one target per example \(2 entries\)/);
    await expect(select({ index: [1, 2, 3] }, out3, [2, 3, 3])).rejects.toThrow(/at most 2 indices/);
    // An index shorter than the output keeps the remaining dimensions (a block per example).
    expect(await select(0, out3, [2, 3, 3])).toEqual([6, 24]);
  });

  it('demands one value per example for gradient methods', async () => {
    await expect(select(undefined, out2, [3, 3], true)).rejects.toThrow(/3 values per example/);
    await expect(select(0, out3, [2, 3, 3], true)).rejects.toThrow(/selects 3/);
    expect(await select(undefined, [1, 2], [2, 1], true)).toEqual([1, 2]);
    expect(await select(undefined, [1, 2], [2], true)).toEqual([1, 2]);
  });

  it('rejects out-of-range and malformed targets with the range in the message', async () => {
    await expect(select(3, out2, [3, 3])).rejects.toThrow(/target: expected an index in \[-3, 3\).*got 3/);
    await expect(select([0, 1], out2, [3, 3])).rejects.toThrow(/one target per example \(3 entries\)/);
    await expect(select(1.5, out2, [3, 3])).rejects.toThrow(TargetError);
    await expect(select('a', out2, [3, 3])).rejects.toThrow(TargetError);
    await expect(select(0, [1, 2], [2])).rejects.toThrow(/one value per example/);
    await expect(select([0, 1], out3, [2, 3, 3])).rejects.toThrow(/2-D output/);
  });

  it('builds one-hot output weights for repeated batches', async () => {
    const scope = new Scope(b);
    const sel = TargetSelection.resolve(await normalizeTarget(b, [2, 0], 2), [2, 3], true);
    const w = sel.ones(b, 2, scope);
    expect(w.shape).toEqual([4, 3]);
    expect(Array.from(await w.data())).toEqual([0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0]);
    expect(sel.ones(b, 2, scope)).toBe(w);
    const scaled = sel.weights(b, [0.5, 2], scope);
    expect(Array.from(await scaled.data())).toEqual([0, 0, 0.5, 0.5, 0, 0, 0, 0, 2, 2, 0, 0]);
    scope.dispose();
    expect(w.isDisposed).toBe(true);
  });
});
