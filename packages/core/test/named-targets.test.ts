import * as tf from '@tensorflow/tfjs';
import { fromTfjs, tfjsBackend } from '@attribution/tfjs';
import { ArgumentError, TargetError, type Model } from '@attribution/tensor';
import { describe, expect, it } from 'vitest';
import { TargetSelection, normalizeTarget, prepareTarget, prepareTargetCall, repeatInterleaveTarget, resolveTarget, withScope } from '../src/index.js';

// Targets given as 'predicted' (each example's argmax) and as class names looked up in model.labels.

type M = Model<tf.Tensor>;

/** The identity model (its output is its input), with class names when given, counting the rows of each forward pass. */
function identity(labels?: string[]): { model: M; rows: number[] } {
  const inner = fromTfjs((x: tf.Tensor) => tf.mul(x, 1), labels ? { labels } : {});
  const rows: number[] = [];
  const model: M = {
    backend: inner.backend,
    labels: inner.labels,
    forward: (request) => {
      rows.push(request.inputs[0]?.shape[0] as number);
      return inner.forward(request);
    },
    gradient: (request) => inner.gradient(request),
  };
  return { model, rows };
}

const resolve = (model: M, target: unknown, x: tf.Tensor, maxRows?: number): Promise<unknown> =>
  withScope(model.backend, (scope) => resolveTarget(model, target, [x], [], scope, { maxRows }));

/** The per-example flat positions a target selects on the model's output for `x`. */
async function positions(model: M, target: unknown, x: tf.Tensor): Promise<number[][]> {
  const spec = await withScope(model.backend, (scope) => prepareTarget(model, target, [x], [], scope));
  return TargetSelection.resolve(spec, x.shape, false).positions.map((p) => Array.from(p));
}

const LABELS = ['cat', 'dog', 'bird', 'fish'];

describe("target 'predicted'", () => {
  it('is the argmax per example over the non-batch dimensions (first of ties), in one forward pass of at most maxRows rows', async () => {
    const x = tf.tensor2d([
      [0.1, 0.9, 0.3, 0.2],
      [5, 1, 5, 0], // a tie: the first largest wins, as torch.argmax and np.argmax
      [-3, -2, -1, -4],
    ]);
    const { model, rows } = identity();
    const before = tf.memory().numTensors;
    expect(await resolve(model, 'predicted', x)).toEqual([1, 0, 2]);
    expect(rows).toEqual([3]);
    rows.length = 0;
    expect(await resolve(model, 'predicted', x, 2)).toEqual([1, 0, 2]);
    expect(rows).toEqual([2, 1]);
    expect(tf.memory().numTensors).toBe(before);
    // Other targets pass untouched, with no forward pass.
    rows.length = 0;
    expect(await resolve(model, 3, x)).toBe(3);
    expect(rows).toEqual([]);
    x.dispose();
  });

  it('gives an index tuple per example for higher-rank outputs, and refuses outputs of one value per example', async () => {
    const x = tf.tensor3d([
      [[0, 1, 2], [7, 3, 1]],
      [[9, 1, 2], [3, 9, 0]],
    ]);
    const { model } = identity();
    expect(await resolve(model, 'predicted', x)).toEqual([[1, 0], [0, 0]]);
    for (const shape of [[2], [2, 1]]) {
      const y = tf.ones(shape);
      const err = await resolve(model, 'predicted', y).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TargetError);
      expect((err as Error).message).toMatch(/one value per example/);
      y.dispose();
    }
    x.dispose();
  });

  it('is resolved once, on the inputs, by the shared preparation of gradient methods (no second forward pass)', async () => {
    const x = tf.tensor2d([
      [0, 2, 1, 0],
      [3, 0, 0, 1],
    ]);
    const { model, rows } = identity();
    const before = tf.memory().numTensors;
    const call = await withScope(model.backend, (scope) => prepareTargetCall(model, x, { target: 'predicted', internalBatchSize: 1 }, scope));
    expect(call.selection.positions.map((p) => Array.from(p))).toEqual([[1], [0]]);
    expect(rows).toEqual([1, 1]);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('cannot pass through normalizeTarget or repeatInterleaveTarget unresolved', async () => {
    await expect(normalizeTarget(tfjsBackend, 'predicted', 2)).rejects.toThrow(/'predicted' needs the model's output/);
    await expect(repeatInterleaveTarget(tfjsBackend, 'predicted', 2, 3)).rejects.toThrow(TargetError);
  });
});

describe('targets that name a class', () => {
  const x = tf.tensor2d([
    [1, 2, 3, 4],
    [5, 6, 7, 8],
  ]);

  it('looks a name, a name per example, or names mixed with indices up in model.labels', async () => {
    const { model } = identity(LABELS);
    expect(await positions(model, 'bird', x)).toEqual([[2], [2]]);
    expect(await positions(model, ['fish', 'cat'], x)).toEqual([[3], [0]]);
    expect(await positions(model, [1, 'bird'], x)).toEqual([[1], [2]]);
    // Expanded for repeated examples as names.
    expect(await repeatInterleaveTarget(model.backend, ['fish', 1], 2, 2)).toEqual(['fish', 'fish', 1, 1]);
    expect(await repeatInterleaveTarget(model.backend, 'dog', 2, 3)).toBe('dog');
  });

  it('refuses unknown names with the candidates, names without labels, and labels that do not fit the output', async () => {
    const { model } = identity(LABELS);
    await expect(positions(model, 'dgo', x)).rejects.toThrow(/target: expected one of model labels: 'cat', 'dog', 'bird', 'fish', got "dgo"\. Did you mean 'dog'\?/);
    await expect(positions(model, ['cat', 'cow'], x)).rejects.toThrow(/got "cow" \(example 1\)/);
    await expect(positions(model, ['cat', 'predicted'], x)).rejects.toThrow(/'predicted' alone/);
    const many = identity(Array.from({ length: 40 }, (_, i) => `class ${i}`)).model;
    const long = await positions(many, 'class 7x', tf.zeros([2, 40])).catch((e: unknown) => e as Error);
    expect(long).toBeInstanceOf(TargetError);
    expect((long as Error).message).toMatch(/one of the 40 model labels, e\.g\. the nearest: 'class 7', .* \(model\.labels lists them all\)/);
    const unnamed = identity().model;
    await expect(positions(unnamed, 'cat', x)).rejects.toThrow(/no class names.*Pass labels .* to fromTfjs or fromOnnx/);
    const short = identity(['cat', 'dog']).model;
    const err = await positions(short, 'dog', x).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ArgumentError);
    expect((err as ArgumentError).argument).toBe('labels');
    await expect(positions(model, 'dog', tf.zeros([2, 2, 4]))).rejects.toThrow(/class names pick a class of a \[N, C\] output/);
  });

  it('checks the labels option of fromTfjs', () => {
    expect(fromTfjs((t: tf.Tensor) => t, { labels: ['a', 'b'] }).labels).toEqual(['a', 'b']);
    expect(() => fromTfjs((t: tf.Tensor) => t, { labels: ['a', 'a'] })).toThrow(/labels: expected .*unique.* got "a" twice/);
  });
});
