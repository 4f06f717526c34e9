import * as tf from '@tensorflow/tfjs';
import { fromTfjs } from '@attribution/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { AttributionError, IntegratedGradients, ModelError, ShapeError, TargetError, type ArgumentError } from '../src/index.js';
import { basicModelMultiLayer } from '@attribution/testing';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const model = fromTfjs(basicModelMultiLayer());
const ig = new IntegratedGradients(model);
const x = tf.keep(tf.tensor2d([[1, 2, 3], [4, 5, 6]]));

/** Runs a bad call and returns its error, checking that it leaked no tensor. */
async function failure(call: () => Promise<unknown>): Promise<AttributionError> {
  await ig.attribute(x, { target: 0, nSteps: 2 }).then((r) => tf.dispose(r.attributions)); // warm-up
  const before = tf.memory().numTensors;
  const error = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(tf.memory().numTensors).toBe(before);
  expect(error).toBeInstanceOf(AttributionError);
  return error as AttributionError;
}

describe('IntegratedGradients rejects bad input with typed errors', () => {
  it('baseline shape that does not broadcast', async () => {
    const baselines = tf.zeros([2, 4]);
    const e = await failure(() => ig.attribute(x, { target: 0, baselines }));
    expect(e).toBeInstanceOf(ShapeError);
    expect((e as ShapeError).argument).toBe('baselines');
    expect(e.message).toMatch(/expected shape \[2, 3\].*or \[1, 3\].*got shape \[2, 4\]/);
  });

  it('baseline without the batch dimension, with a hint', async () => {
    const baselines = tf.zeros([3]);
    const e = await failure(() => ig.attribute(x, { target: 0, baselines }));
    expect(e.message).toMatch(/Add a batch dimension/);
  });

  it('one baseline per input: wrong count', async () => {
    const e = await failure(() => ig.attribute([x], { target: 0, baselines: [0, 0] }));
    expect((e as ArgumentError).argument).toBe('baselines');
    expect(e.message).toMatch(/one baseline per input \(1\), got an array of 2/);
  });

  it('non-finite baseline', async () => {
    const e = await failure(() => ig.attribute(x, { target: 0, baselines: NaN }));
    expect(e.message).toMatch(/baselines: expected a finite number/);
  });

  it('target out of range', async () => {
    const e = await failure(() => ig.attribute(x, { target: 2 }));
    expect(e).toBeInstanceOf(TargetError);
    expect(e.message).toMatch(/target: expected an index in \[-2, 2\) for dimension 1 of output shape \[2, 2\], got 2/);
  });

  it('target missing where the model gives several outputs per example', async () => {
    const e = await failure(() => ig.attribute(x));
    expect(e).toBeInstanceOf(TargetError);
    expect(e.message).toMatch(/2 values per example.*got no target/);
  });

  it('per-example target of the wrong length', async () => {
    const e = await failure(() => ig.attribute(x, { target: [0, 1, 1] }));
    expect(e.message).toMatch(/one target per example \(2 entries\), got an array of 3/);
  });

  it('target of the wrong form', async () => {
    const e = await failure(() => ig.attribute(x, { target: 'cat' as unknown as number }));
    expect(e).toBeInstanceOf(TargetError);
  });

  it('nSteps < 1, fractional or not a number', async () => {
    for (const nSteps of [0, -3, 2.5, Infinity]) {
      const e = await failure(() => ig.attribute(x, { target: 0, nSteps }));
      expect((e as ArgumentError).argument).toBe('nSteps');
      expect(e.message).toMatch(/expected an integer ≥ 1/);
    }
    const e = await failure(() => ig.attribute(x, { target: 0, nSteps: '50' as unknown as number }));
    expect(e.message).toMatch(/nSteps: expected an integer ≥ 1, got string/);
  });

  it('a Riemann rule with one step', async () => {
    const e = await failure(() => ig.attribute(x, { target: 0, nSteps: 1, method: 'riemann_left' }));
    expect(e.message).toMatch(/≥ 2 for the Riemann rule/);
  });

  it('unknown approximation rule, with a suggestion', async () => {
    const e = await failure(() => ig.attribute(x, { target: 0, method: 'riemann-trapezoid' as 'gausslegendre' }));
    expect((e as ArgumentError).argument).toBe('method');
    expect(e.message).toMatch(/Did you mean 'riemann_trapezoid'\?/);
  });

  it('non-finite input values', async () => {
    for (const bad of [NaN, Infinity]) {
      const input = tf.tensor2d([[1, bad, 3]]);
      const e = await failure(() => ig.attribute(input, { target: 0 }));
      expect((e as ArgumentError).argument).toBe('inputs');
      expect(e.message).toMatch(new RegExp(`expected finite values, got ${bad} at flat index 1`));
      input.dispose();
    }
  });

  it('internalBatchSize smaller than the number of examples', async () => {
    const e = await failure(() => ig.attribute(x, { target: 0, internalBatchSize: 1 }));
    expect((e as ArgumentError).argument).toBe('internalBatchSize');
    expect(e.message).toMatch(/at least the number of examples \(2\)/);
    const zero = await failure(() => ig.attribute(x, { target: 0, internalBatchSize: 0 }));
    expect(zero.message).toMatch(/positive integer/);
  });

  it('unknown option names, with the closest valid one', async () => {
    const e = await failure(() => ig.attribute(x, { target: 0, nstep: 10 } as never));
    expect(e.code).toBe('ERR_UNKNOWN_OPTION');
    expect(e.message).toMatch(/unknown option 'nstep'.*Did you mean nSteps\?/);
    expect(() => new IntegratedGradients(model, { multiplyByInput: false } as never)).toThrow(/Did you mean multiplyByInputs/);
  });

  it('inputs that are not tensors of the backend, disposed, empty, integer or mismatched', async () => {
    let e = await failure(() => ig.attribute([[1, 2, 3]] as never, { target: 0 }));
    expect(e.message).toMatch(/inputs\[0\]: expected a tensor of the tfjs-cpu backend, got \[1, 2, 3\]/);
    e = await failure(() => ig.attribute({ shape: [1, 3] } as never, { target: 0 }));
    expect(e.message).toMatch(/not a tensor of the tfjs-cpu backend/);
    const gone = tf.tensor2d([[1, 2, 3]]);
    gone.dispose();
    e = await failure(() => ig.attribute(gone, { target: 0 }));
    expect(e.message).toMatch(/has been disposed/);
    const empty = tf.zeros([0, 3]);
    e = await failure(() => ig.attribute(empty, { target: 0 }));
    expect(e.message).toMatch(/empty batch/);
    const ints = tf.tensor2d([[1, 2, 3]], undefined, 'int32');
    e = await failure(() => ig.attribute(ints, { target: 0 }));
    expect(e.message).toMatch(/float32 or float64 tensor.*got dtype int32/);
    const other = tf.zeros([3, 3]);
    e = await failure(() => ig.attribute([x, other], { target: 0 }));
    expect(e.message).toMatch(/inputs\[1\]: expected dimension 0 \(the batch\) equal to 2/);
    e = await failure(() => ig.attribute([], { target: 0 }));
    expect(e.message).toMatch(/non-empty array/);
    tf.dispose([empty, ints, other]);
  });

  it('a model that returns something other than a numeric tensor', async () => {
    const notTensor = new IntegratedGradients(fromTfjs((() => [1, 2]) as never));
    let e = await failure(() => notTensor.attribute(x, { target: 0 }));
    expect(e).toBeInstanceOf(ModelError);
    const strings = new IntegratedGradients(fromTfjs((t: tf.Tensor) => tf.tensor(Array(t.shape[0]).fill('a'))));
    e = await failure(() => strings.attribute(x));
    expect(e.message).toMatch(/dtype string; attribution needs numbers/);
    const noBatch = new IntegratedGradients(fromTfjs((t: tf.Tensor) => tf.sum(t)));
    e = await failure(() => noBatch.attribute(x));
    expect(e.message).toMatch(/shape \[\].*batch of 2/);
  });

  it('a model whose output or gradient is not finite', async () => {
    const nanOut = new IntegratedGradients(fromTfjs((t: tf.Tensor) => tf.div(tf.sum(t, 1, true), 0)));
    let e = await failure(() => nanOut.attribute(x));
    expect(e.message).toMatch(/model output contains Infinity/);
    const sqrtAtZero = new IntegratedGradients(fromTfjs((t: tf.Tensor) => tf.sum(tf.sqrt(t), 1)));
    e = await failure(() => sqrtAtZero.attribute(x, { method: 'riemann_left', nSteps: 2 }));
    expect(e.message).toMatch(/Attributions for input 0 contain/);
  });

  it('a model that throws: wrapped with its cause', async () => {
    const boom = new IntegratedGradients(fromTfjs(() => { throw new Error('boom'); }));
    const e = await failure(() => boom.attribute(x, { target: 0 }));
    expect(e).toBeInstanceOf(ModelError);
    expect(e.message).toMatch(/boom/);
    expect((e.cause as Error).message).toBe('boom');
  });

  it('something that is not a model', () => {
    expect(() => new IntegratedGradients({} as never)).toThrow(/model: expected a model from a backend adapter/);
  });
});
