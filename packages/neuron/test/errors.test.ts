import * as tf from '@tensorflow/tfjs';
import { ArgumentError } from '@attribution/tensor';
import { basicModelMultiLayer, convNetOneConv, failureOf, inputs, leakedBy } from '@attribution/testing';
import { fromTfjs } from '@attribution/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { neuronMethods } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const ml = fromTfjs(basicModelMultiLayer());
const cn = fromTfjs(convNetOneConv());
const P = tf.keep(inputs.P());
const C = tf.keep(inputs.C());
const distribution = tf.keep(tf.zeros([2, 3]));

/** Options that make each registry method run at a layer of BasicModel_MultiLayer. */
const optionsFor = (name: string, neuronSelector: unknown): object => ({
  neuronSelector,
  ...(name === 'neuron-conductance' ? { target: 0 } : {}),
  ...(name === 'neuron-gradient-shap' ? { baselines: distribution, nSamples: 3, seed: 1 } : {}),
  ...(name === 'neuron-deep-lift-shap' ? { baselines: distribution } : {}),
  ...(['neuron-conductance', 'neuron-integrated-gradients'].includes(name) ? { nSteps: 5, internalBatchSize: 2 } : {}),
});

describe('neuron selectors', () => {
  it('out-of-range indices name the valid range, for every method, without leaks', async () => {
    for (const name of Object.keys(neuronMethods)) {
      const method = neuronMethods[name]!.create(ml, 'linear1');
      const { error, leaked } = await failureOf(() => method.attribute([P], optionsFor(name, 4) as never));
      expect(error, name).toBeInstanceOf(ArgumentError);
      expect(error.message, name).toMatch(/neuronSelector: expected index 0 in \[-4, 4\) for a layer output of shape \[4\], got 4/);
      expect(leaked, name).toBe(0);
    }
  });
  it('too many indices, bad blocks and missing selectors', async () => {
    const grad = neuronMethods['neuron-gradient']!.create(cn, 'conv1');
    const many = await failureOf(() => grad.attribute([C], { neuronSelector: [0, 0, 0, 0] } as never));
    expect(many.error.message).toMatch(/neuronSelector: expected at most 3 indices for a layer output of shape \[2, 2, 2\]/);
    const block = await failureOf(() => grad.attribute([C], { neuronSelector: { block: [[0, 3]] } } as never));
    expect(block.error).toBeInstanceOf(ArgumentError);
    expect(block.error.message).toMatch(/neuronSelector/);
    const missing = await failureOf(() => grad.attribute([C], {} as never));
    expect(missing.error.message).toMatch(/neuronSelector: expected an index/);
    for (const f of [many, block, missing]) expect(f.leaked).toBe(0);
  });
  it('a selector function must return one value per example', async () => {
    const grad = neuronMethods['neuron-gradient']!.create(ml, 'linear1');
    const { error, leaked } = await failureOf(() => grad.attribute([P], { neuronSelector: (t: tf.Tensor) => t } as never));
    expect(error.message).toMatch(/neuronSelector/);
    expect(leaked).toBe(0);
  });
  it('an unknown layer lists the taps', async () => {
    const { error, leaked } = await failureOf(() => neuronMethods['neuron-integrated-gradients']!.create(ml, 'hidden').attribute([P], { neuronSelector: 0 } as never));
    expect(error.message).toMatch(/layer: expected one of the model's layers: 'linear0', 'linear1', 'relu', 'linear2', got 'hidden'/);
    expect(leaked).toBe(0);
  });
});

describe('memory', () => {
  it('every neuron method frees what it allocates, with index and function selectors', async () => {
    for (const name of Object.keys(neuronMethods)) {
      const method = neuronMethods[name]!.create(ml, 'linear1');
      expect(await leakedBy(() => method.attribute([P], optionsFor(name, 1) as never)), name).toBe(0);
      if (name !== 'neuron-deep-lift') {
        expect(await leakedBy(() => method.attribute([P], optionsFor(name, (t: tf.Tensor) => tf.sum(t, 1)) as never)), `${name} (function)`).toBe(0);
      }
    }
  });
});
