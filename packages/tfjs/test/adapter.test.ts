import * as tf from '@tensorflow/tfjs';
import { ArgumentError, ModelError } from '@attribution/tensor';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fromTfjs, tfjsBackend, type Tap } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

let baseline = 0;
afterEach(() => {
  expect(tf.memory().numTensors).toBe(baseline);
});
const track = (): void => {
  baseline = tf.memory().numTensors;
};
const values = async (t: tf.Tensor): Promise<number[]> => Array.from(await t.data());

const W1 = [[1, -1, 0.5, 2], [0.3, 0.2, -0.7, 1], [-1, 0.4, 0.1, 0.5]];
const W2 = [[1, 0], [-1, 2], [0.5, 0.5], [2, -1]];

describe('tfjsBackend', () => {
  it('implements the tensor operations with broadcasting and numbers', async () => {
    track();
    const b = tfjsBackend;
    const a = b.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const r = b.tidy(() => [
      b.add(a, 1), b.sub(a, b.tensor([1, 1, 1], [1, 3])), b.mul(2, a), b.div(a, 2), b.maximum(a, 3), b.minimum(a, 3),
      b.neg(a), b.abs(b.neg(a)), b.square(a), b.sqrt(b.square(a)), b.sum(a, 1), b.mean(a, 0), b.max(a),
      b.reshape(a, [3, 2]), b.concat([a, a], 0), b.slice(a, [0, 1], [2, -1]), b.tile(a, [1, 2]), b.gather(a, [1, 0], 0),
      b.transpose(a, [1, 0]), b.broadcastTo(b.tensor([1, 2, 3], [1, 3]), [2, 3]), b.cast(a, 'int32'), b.exp(b.fill([1], 0)),
    ]);
    const got = await Promise.all(r.map(values));
    expect(got[0]).toEqual([2, 3, 4, 5, 6, 7]);
    expect(got[1]).toEqual([0, 1, 2, 3, 4, 5]);
    expect(got[10]).toEqual([6, 15]);
    expect(got[11]).toEqual([2.5, 3.5, 4.5]);
    expect(got[12]).toEqual([6]);
    expect(r[13]!.shape).toEqual([3, 2]);
    expect(r[14]!.shape).toEqual([4, 3]);
    expect(got[15]).toEqual([2, 3, 5, 6]);
    expect(got[17]).toEqual([4, 5, 6, 1, 2, 3]);
    expect(got[18]).toEqual([1, 4, 2, 5, 3, 6]);
    expect(b.dtype(r[20]!)).toBe('int32');
    expect(got[21]).toEqual([1]);
    const big = b.tensor(new BigInt64Array([3n]), [1], 'int64');
    expect(big.dtype).toBe('int32');
    tf.dispose([a, big, ...r]);
    expect(b.isTensor(a)).toBe(true);
    expect(b.isDisposed(a)).toBe(true);
    expect(b.isTensor({ shape: [1] })).toBe(false);
  });
});

describe('fromTfjs', () => {
  const w1 = tf.keep(tf.tensor2d(W1));
  const w2 = tf.keep(tf.tensor2d(W2));
  const tapped = (x: tf.Tensor, tap: Tap): tf.Tensor => tf.matMul(tap('hidden', tf.relu(tf.matMul(x, w1))), w2);
  const x = tf.keep(tf.tensor2d([[1, 2, 3], [-1, 0.5, 2]]));
  const other = tf.keep(tf.tensor2d([[0, 1, 0], [1, 0, 1]]));

  it('runs a function model forward and takes input gradients of the weighted output', async () => {
    track();
    const model = fromTfjs(tapped);
    const { output, captured } = await model.forward({ inputs: [x] });
    expect(output.shape).toEqual([2, 2]);
    expect(captured).toEqual([]);
    const w = tf.tensor2d([[1, 0], [0, 1]]);
    const g = await model.gradient({ inputs: [x], outputWeights: w, wrt: [{ input: 0 }] });
    const ref = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tapped(t, (_n, v) => v), w)))(x);
    expect(await values(g.gradients[0]!)).toEqual(await values(ref));
    expect(await values(g.output)).toEqual(await values(output));
    tf.dispose([output, w, g.output, ...g.gradients, ref]);
  });

  it('captures, replaces and differentiates with respect to tapped layers', async () => {
    track();
    const model = fromTfjs(tapped);
    const hidden = { layer: 'hidden' };
    const { output, captured } = await model.forward({ inputs: [x], capture: [hidden] });
    const h = captured[0]!;
    expect(h.shape).toEqual([2, 4]);
    expect(await model.layers()).toEqual(['hidden']);
    // Replacing the layer by zeros zeroes the output; the replacement is what gets captured.
    const zeros = tf.zerosLike(h);
    const replaced = await model.forward({ inputs: [x], replace: [{ ref: hidden, value: zeros }], capture: [hidden] });
    expect(await values(replaced.output)).toEqual([0, 0, 0, 0]);
    expect(await values(replaced.captured[0]!)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    // d(sum(out ⊙ w))/d(hidden) = w · W2ᵀ, whether or not the layer is replaced.
    const w = tf.tensor2d([[1, 0], [0, 1]]);
    const want = [1, -1, 0.5, 2, 0, 2, 0.5, -1];
    const g = await model.gradient({ inputs: [x], outputWeights: w, wrt: [hidden, { input: 0 }] });
    expect(await values(g.gradients[0]!)).toEqual(want);
    expect(g.gradients[1]!.shape).toEqual([2, 3]);
    const gr = await model.gradient({ inputs: [x], outputWeights: w, wrt: [hidden], replace: [{ ref: hidden, value: h }], capture: [hidden] });
    expect(await values(gr.gradients[0]!)).toEqual(want);
    expect(await values(gr.captured[0]!)).toEqual(await values(h));
    tf.dispose([output, h, zeros, replaced.output, ...replaced.captured, w, g.output, ...g.gradients, gr.output, ...gr.gradients, ...gr.captured]);
  });

  it('names the tapped layers when an unknown one is asked for', async () => {
    track();
    const model = fromTfjs(tapped);
    const error = await model.forward({ inputs: [x], capture: [{ layer: 'hiden' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArgumentError);
    expect((error as Error).message).toMatch(/layer: expected one of the model's layers: 'hidden', got 'hiden'/);
    const shape = await model
      .forward({ inputs: [x], replace: [{ ref: { layer: 'hidden' }, value: x }] })
      .catch((e: unknown) => e);
    expect((shape as Error).message).toMatch(/replacement for layer 'hidden': expected shape \[2, 4\], got shape \[2, 3\]/);
  });

  it('wraps model failures and frees what the failed call allocated', async () => {
    track();
    const failing = fromTfjs((t: tf.Tensor) => {
      tf.square(t); // allocated, then lost when the call throws
      throw new Error('broken layer');
    });
    const w = tf.ones([2, 1]);
    await expect(failing.forward({ inputs: [x] })).rejects.toThrow(ModelError);
    await expect(failing.gradient({ inputs: [x], outputWeights: w, wrt: [{ input: 0 }] })).rejects.toThrow(/broken layer/);
    const unused = fromTfjs((_a: tf.Tensor, bIn: tf.Tensor) => tf.sum(bIn, 1, true));
    await expect(unused.gradient({ inputs: [x, other], outputWeights: w, wrt: [{ input: 0 }] })).rejects.toThrow(/does not influence/);
    w.dispose();
  });

  it('explains a tf.LayersModel, including one with two inputs, without tfjs-layers as a dependency', async () => {
    const dense = tf.sequential({
      layers: [
        tf.layers.dense({ name: 'hidden', units: 4, inputShape: [3], activation: 'relu', weights: [tf.tensor2d(W1), tf.zeros([4])] }),
        tf.layers.dense({ name: 'head', units: 2, weights: [tf.tensor2d(W2), tf.zeros([2])] }),
      ],
    });
    const a = tf.input({ shape: [3] });
    const c = tf.input({ shape: [2], name: 'extra' });
    const merged = tf.layers.concatenate().apply([a, c]) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 1, useBias: false, weights: [tf.tensor2d([[1], [2], [3], [4], [5]])] }).apply(merged) as tf.SymbolicTensor;
    const twoInputs = tf.model({ inputs: [a, c], outputs: out });
    track();
    const model = fromTfjs(dense);
    const w = tf.tensor2d([[0, 1], [1, 0]]);
    const g = await model.gradient({ inputs: [x], outputWeights: w, wrt: [{ input: 0 }] });
    const ref = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tapped(t, (_n, v) => v), w)))(x);
    const got = await values(g.gradients[0]!);
    (await values(ref)).forEach((v, i) => expect(got[i]).toBeCloseTo(v, 6));
    expect(await model.layers()).toHaveLength(2);
    await expect(model.forward({ inputs: [x, x] })).rejects.toThrow(/1 tensor\(s\), one per model input/);
    await expect(model.forward({ inputs: [x], args: [1] })).rejects.toThrow(/additionalForwardArgs: expected none for a tf.LayersModel/);
    // Layers by name: read, replace and differentiate, as for tapped function models.
    expect(await model.layers()).toEqual(['hidden', 'head']);
    await expect(model.forward({ inputs: [x], capture: [{ layer: 'dense_1' }] })).rejects.toThrow(/layer: expected one of the model's layers: 'hidden', 'head', got 'dense_1'/);
    const viaLayers = await model.forward({ inputs: [x], capture: [{ layer: 'hidden' }, { layer: 'head', side: 'input' }] });
    const want = tf.tidy(() => tf.relu(tf.matMul(x, tf.tensor2d(W1))));
    expect(await values(viaLayers.captured[0]!)).toEqual(await values(want));
    expect(await values(viaLayers.captured[1]!)).toEqual(await values(want));
    const lg = await model.gradient({ inputs: [x], outputWeights: w, wrt: [{ layer: 'hidden' }] });
    expect(await values(lg.gradients[0]!)).toEqual([0, 2, 0.5, -1, 1, -1, 0.5, 2]);
    const pick = tf.tensor2d([[1, 0, 0, 0], [1, 0, 0, 0]]);
    const neuron = await model.gradient({ inputs: [x], outputWeights: pick, wrt: [{ input: 0 }], of: { layer: 'hidden' } });
    expect(neuron.output.shape).toEqual([2, 2]);
    tf.dispose([w, g.output, ...g.gradients, ref, want, ...viaLayers.captured, viaLayers.output, lg.output, ...lg.gradients, neuron.output, ...neuron.gradients, pick]);

    const two = fromTfjs(twoInputs);
    const y = tf.tensor2d([[1, 1], [2, 2]]);
    const ones = tf.ones([2, 1]);
    const g2 = await two.gradient({ inputs: [x, y], outputWeights: ones, wrt: [{ input: 0 }, { input: 1 }] });
    expect(await values(g2.gradients[1]!)).toEqual([4, 5, 4, 5]);
    // An input layer is a layer too: read and differentiated by its name.
    const beforeByName = tf.memory().numTensors;
    const byName = await two.gradient({ inputs: [x, y], outputWeights: ones, wrt: [{ layer: 'extra' }], capture: [{ layer: 'extra' }] });
    expect(await values(byName.gradients[0]!)).toEqual([4, 5, 4, 5]);
    expect(await values(byName.captured[0]!)).toEqual([1, 1, 2, 2]);
    tf.dispose([byName.output, ...byName.gradients, ...byName.captured]);
    expect(tf.memory().numTensors).toBe(beforeByName);
    tf.dispose([y, ones, g2.output, ...g2.gradients]);
  });

  it('explains a tf.GraphModel', async () => {
    const modelTopology = {
      node: [
        { name: 'x', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: { dim: [{ size: '-1' }, { size: '3' }] } } } },
        { name: 'w', op: 'Const', attr: { dtype: { type: 'DT_FLOAT' }, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: { dim: [{ size: '3' }, { size: '2' }] } } } } },
        { name: 'mm', op: 'MatMul', input: ['x', 'w'], attr: { transpose_a: { b: false }, transpose_b: { b: false }, T: { type: 'DT_FLOAT' } } },
        { name: 'out', op: 'Tanh', input: ['mm'], attr: { T: { type: 'DT_FLOAT' } } },
      ],
      versions: { producer: 1 },
    };
    const weights = new Float32Array([1, 0, 0, 1, 1, 1]);
    const graph = await tf.loadGraphModel(
      tf.io.fromMemory({ modelTopology, weightSpecs: [{ name: 'w', shape: [3, 2], dtype: 'float32' }], weightData: weights.buffer, format: 'graph-model' }),
    );
    track();
    const model = fromTfjs(graph);
    expect(model.inputNames).toEqual(['x']);
    const w = tf.tensor2d([[1, 0], [1, 0]]);
    const g = await model.gradient({ inputs: [x], outputWeights: w, wrt: [{ input: 0 }] });
    const ref = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.tanh(tf.matMul(t, tf.tensor2d([[1, 0], [0, 1], [1, 1]]))), w)))(x);
    const got = await values(g.gradients[0]!);
    (await values(ref)).forEach((v, i) => expect(got[i]).toBeCloseTo(v, 6));
    tf.dispose([w, g.output, ...g.gradients, ref]);
  });

  it('picks an output by position or name, and rejects what is not a model', async () => {
    track();
    const w = tf.ones([2, 1]);
    const multi = fromTfjs((t: tf.Tensor) => ({ first: tf.sum(t, 1, true), second: tf.sum(tf.square(t), 1, true) }), { output: 'second' });
    const { output } = await multi.forward({ inputs: [x] });
    expect(await values(output)).toEqual([14, 5.25]);
    const bad = fromTfjs((t: tf.Tensor) => [tf.sum(t, 1, true)], { output: 3 });
    await expect(bad.forward({ inputs: [x] })).rejects.toThrow(/output: expected an output position in \[0, 1\)/);
    expect(() => fromTfjs({} as never)).toThrow(/net: expected a function/);
    tf.dispose([w, output]);
  });
});
