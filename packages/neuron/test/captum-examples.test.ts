import * as tf from '@tensorflow/tfjs';
import { assertClose, basicModelMultiLayer, basicModelMultiLayerMultiInput, convNetOneConv, inputs, reluLinearModel } from '@attribution/testing';
import { fromTfjs } from '@attribution/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  NeuronConductance,
  NeuronDeconvolution,
  NeuronDeepLift,
  NeuronFeatureAblation,
  NeuronGradient,
  NeuronGradientShap,
  NeuronGuidedBackprop,
  NeuronIntegratedGradients,
} from '../src/index.js';

// Captum's own test values (CAPTUM-SEMANTICS §9.3, Cases 18, 23 and 24), on its toy models rebuilt in tfjs.
// Captum's `(slice(0, 2),)` is `{ block: [[0, 2]] }` here; its callables are functions of the layer tensor.

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const ml = fromTfjs(basicModelMultiLayer());
const mlm = fromTfjs(basicModelMultiLayer({ multiInputModule: true }));
const mi = fromTfjs(basicModelMultiLayerMultiInput());
const cn = fromTfjs(convNetOneConv());
const rl = fromTfjs(reluLinearModel());
const P = inputs.P;
const t2 = (rows: number[][]): tf.Tensor => tf.tensor2d(rows);
const sumAll = (t: tf.Tensor): tf.Tensor => tf.sum(t, 1);
const asList = (a: tf.Tensor | tf.Tensor[]): tf.Tensor[] => (Array.isArray(a) ? a : [a]);

/** Checks every attribution tensor against its expected rows. */
async function expectAll(result: { attributions: tf.Tensor | tf.Tensor[] }, want: number[][], delta: number, mode: 'sum' | 'max'): Promise<void> {
  const got = asList(result.attributions);
  expect(got).toHaveLength(want.length);
  for (const [i, w] of want.entries()) await assertClose(got[i], w, delta, mode);
}

describe('NeuronGradient (Case 23)', () => {
  it('BasicModel_MultiLayer neurons, blocks and functions', async () => {
    const grad = (layer: string, neuronSelector: unknown, x: tf.Tensor) => new NeuronGradient(ml, layer).attribute(x, { neuronSelector: neuronSelector as never });
    await expectAll(await grad('linear2', [0], P()), [[4, 4, 4]], 1e-4, 'sum');
    await expectAll(await grad('linear1', [0], P()), [[1, 1, 1]], 1e-4, 'sum');
    const x = (): tf.Tensor => t2([[0, 5, 4]]);
    await expectAll(await grad('relu', 0, x()), [[0, 0, 0]], 1e-4, 'sum');
    await expectAll(await grad('relu', 1, x()), [[1, 1, 1]], 1e-4, 'sum');
    await expectAll(await grad('relu', sumAll, x()), [[3, 3, 3]], 1e-4, 'sum');
    await expectAll(await grad('relu', { block: [[0, 2]] }, x()), [[1, 1, 1]], 1e-4, 'sum');
  });
  it('BasicModel_MultiLayer_MultiInput', async () => {
    const three = await new NeuronGradient(mi, 'linear2').attribute([P(), P(), P()], { neuronSelector: [0], additionalForwardArgs: 3 });
    await expectAll(three, [[12, 12, 12], [12, 12, 12], [12, 12, 12]], 1e-4, 'sum');
    const two = await new NeuronGradient(mi, 'linear1').attribute([P(), P()], { neuronSelector: [0], additionalForwardArgs: [P(), 5] });
    await expectAll(two, [[5, 5, 5], [5, 5, 5]], 1e-4, 'sum');
  });
});

describe('NeuronIntegratedGradients (Case 23)', () => {
  for (const internalBatchSize of [undefined, 5, 20]) {
    const options = { nSteps: 200, method: 'gausslegendre' as const, internalBatchSize };
    it(`internalBatchSize ${internalBatchSize}`, async () => {
      const ig = (layer: string, neuronSelector: unknown, x: tf.Tensor | tf.Tensor[], extra = {}, model = ml) =>
        new NeuronIntegratedGradients(model, layer).attribute(x, { ...options, neuronSelector: neuronSelector as never, ...extra });
      await expectAll(await ig('linear2', 0, P()), [[0, 390, 0]], 0.1, 'sum');
      const local = new NeuronIntegratedGradients(ml, 'linear2', { multiplyByInputs: false });
      await expectAll(await local.attribute(t2([[100, 100, 100]]), { ...options, neuronSelector: 0 }), [[3.96, 3.96, 3.96]], 0.1, 'sum');
      await expectAll(await ig('linear1', [0], P()), [[0, 100, 0]], 0.1, 'sum');
      await expectAll(await ig('relu', [0], t2([[0, 6, 14]])), [[0, 3, 7]], 0.1, 'sum');
      await expectAll(await ig('relu', 1, t2([[0, 5, 4]])), [[0, 5, 4]], 0.1, 'sum');
      await expectAll(await ig('relu', (t: tf.Tensor) => tf.sum(tf.slice(t, [0, 2], [-1, -1]), 1), t2([[0, 5, 4]])), [[0, 10, 8]], 0.1, 'sum');
      await expectAll(await ig('relu', { block: [[0, 2]] }, t2([[0, 5, 4]])), [[0, 5, 4]], 0.1, 'sum');
      const three = [t2([[0, 10, 0]]), t2([[0, 10, 0]]), t2([[0, 5, 0]])];
      await expectAll(await ig('linear2', [0], three, { additionalForwardArgs: 4 }, mi), [[0, 156, 0], [0, 156, 0], [0, 78, 0]], 0.1, 'sum');
      const two = (): tf.Tensor[] => [t2([[0, 6, 14], [0, 80, 0]]), t2([[0, 6, 14], [0, 20, 0]])];
      const args = { additionalForwardArgs: [t2([[0, 0, 0], [0, 20, 0]]), 0.5] };
      await expectAll(await ig('relu', [0], two(), args, mi), [[0, 1.5, 3.5, 0, 40, 0], [0, 1.5, 3.5, 0, 10, 0]], 0.1, 'sum');
      await expectAll(await ig('relu', sumAll, two(), args, mi), [[0, 10.5, 24.5, 0, 160, 0], [0, 10.5, 24.5, 0, 40, 0]], 0.1, 'sum');
    });
  }
});

describe('NeuronConductance (Case 24)', () => {
  for (const internalBatchSize of [undefined, 5, 20]) {
    const options = { target: 0, nSteps: 500, method: 'gausslegendre' as const, internalBatchSize };
    it(`internalBatchSize ${internalBatchSize}`, async () => {
      const nc = (layer: string, neuronSelector: unknown, x: tf.Tensor | tf.Tensor[], extra = {}, model = ml) =>
        new NeuronConductance(model, layer).attribute(x, { ...options, neuronSelector: neuronSelector as never, ...extra });
      await expectAll(await nc('linear2', [0], P()), [[0, 390, 0]], 0.1, 'max');
      const local = new NeuronConductance(ml, 'linear2', { multiplyByInputs: false });
      await expectAll(await local.attribute(t2([[100, 100, 100]]), { ...options, neuronSelector: [0] }), [[3.96, 3.96, 3.96]], 0.1, 'max');
      await expectAll(await nc('linear1', 0, P()), [[0, 90, 0]], 0.1, 'max');
      await expectAll(await nc('linear1', (t: tf.Tensor) => tf.squeeze(tf.slice(t, [0, 0], [-1, 1]), [1]), P()), [[0, 90, 0]], 0.1, 'max');
      await expectAll(await nc('relu', [3], t2([[0, 70, 30]])), [[0, 70, 30]], 0.1, 'max');
      const three = [t2([[0, 10, 0]]), t2([[0, 10, 0]]), t2([[0, 5, 0]])];
      await expectAll(await nc('linear2', [0], three, { additionalForwardArgs: 4 }, mi), [[0, 156, 0], [0, 156, 0], [0, 78, 0]], 0.1, 'max');
      const one = [t2([[0, 10, 1]]), t2([[0, 4, 5]])];
      await expectAll(await nc('relu', [3], one, { additionalForwardArgs: [t2([[0, 0, 0]]), 5] }, mi), [[0, 50, 5], [0, 20, 25]], 0.1, 'max');
      const batch = [t2([[0, 10, 1], [0, 0, 10]]), t2([[0, 4, 5], [0, 0, 10]])];
      const batchArgs = { additionalForwardArgs: [t2([[0, 0, 0], [0, 0, 5]]), 5] };
      await expectAll(await nc('relu', [3], batch, batchArgs, mi), [[0, 50, 5, 0, 0, 50], [0, 20, 25, 0, 0, 50]], 0.1, 'max');
      const multi = await new NeuronConductance(mlm, { layer: 'multi_relu', index: 0 }).attribute(t2([[0, 6, 0]]), { ...options, neuronSelector: 1 });
      await expectAll(multi, [[0, 6, 0]], 0.1, 'max');
    });
  }
  it('the computed values: 390.0506 (Gauss–Legendre, 500) and 383.0 (the default trapezoid, 50)', async () => {
    const nc = new NeuronConductance(ml, 'linear2');
    await expectAll(await nc.attribute(P(), { target: 0, neuronSelector: [0], nSteps: 500, method: 'gausslegendre' }), [[0, 390.0506, 0]], 2e-3, 'max');
    await expectAll(await nc.attribute(P(), { target: 0, neuronSelector: [0] }), [[0, 383, 0]], 2e-3, 'max');
  });
  it("target 'predicted' and a class name give the attributions of the equivalent index", async () => {
    const named = fromTfjs(basicModelMultiLayer(), { labels: ['low', 'high'] }); // output 1 is always the larger
    const nc = new NeuronConductance(named, 'relu');
    const read = async (target: unknown): Promise<number[]> => {
      const { attributions } = await nc.attribute(P(), { target: target as never, neuronSelector: [3], nSteps: 8 });
      const v = Array.from(await attributions.data());
      attributions.dispose();
      return v;
    };
    const byIndex = await read(1);
    expect(byIndex.some((v) => v !== 0)).toBe(true);
    expect(await read('predicted')).toEqual(byIndex);
    expect(await read('high')).toEqual(byIndex);
  });
});

describe('NeuronFeatureAblation (Case 24)', () => {
  const mask = (rows: number[][]): tf.Tensor => tf.tensor2d(rows, undefined, 'int32');
  it('BasicModel_MultiLayer linear2, neuron 0', async () => {
    const fa = new NeuronFeatureAblation(ml, 'linear2');
    await expectAll(await fa.attribute(inputs.X1(), { neuronSelector: 0, featureMask: mask([[0, 0, 1]]) }), [[280, 280, 120]], 1e-4, 'sum');
    const perExample = { featureMask: mask([[0, 0, 1], [1, 1, 0]]) };
    await expectAll(await fa.attribute(inputs.X2(), { neuronSelector: 0, ...perExample }), [[41, 41, 12, 280, 280, 120]], 1e-4, 'sum');
    for (const neuronSelector of [sumAll, { block: [[0, 2]] as [number, number][] }]) {
      await expectAll(await fa.attribute(inputs.X2(), { neuronSelector, ...perExample, perturbationsPerEval: 2 }), [[82, 82, 24, 560, 560, 240]], 1e-4, 'sum');
    }
  });
  it('BasicModel_MultiLayer_MultiInput with ids shared across inputs (Case 9 masks)', async () => {
    const I = (): tf.Tensor[] => [t2([[23, 100, 0], [20, 50, 30]]), t2([[20, 50, 30], [0, 100, 0]]), t2([[0, 100, 10], [2, 10, 3]])];
    const fa = new NeuronFeatureAblation(mi, 'linear2');
    const masks = [mask([[1, 1, 1], [0, 1, 0]]), mask([[3, 4, 2]]), mask([[5, 6, 7], [5, 5, 5]])];
    await expectAll(
      await fa.attribute(I(), { neuronSelector: 0, featureMask: masks, additionalForwardArgs: 1 }),
      [[492, 492, 492, 200, 200, 200], [80, 200, 120, 0, 400, 0], [0, 400, 40, 60, 60, 60]],
      1e-4,
      'sum',
    );
    const shared = [mask([[1, 1, 1], [0, 1, 0]]), mask([[0, 1, 2]]), mask([[0, 1, 2], [0, 0, 0]])];
    await expectAll(
      await fa.attribute(I(), { neuronSelector: 0, featureMask: shared, additionalForwardArgs: 1, baselines: [2, 3, 4] }),
      [[1040, 1040, 1040, 184, 580, 184], [52, 1040, 132, 184, 580, -12], [52, 1040, 132, 184, 184, 184]],
      1e-4,
      'sum',
    );
  });
});

describe('NeuronDeepLift (Case 24)', () => {
  const x = (): tf.Tensor[] => [t2([[-10, 1, -5]]), t2([[3, 3, 1]])];
  it('ReLULinearModel', async () => {
    await expectAll(await new NeuronDeepLift(rl, 'relu').attribute(x(), { neuronSelector: 0 }), [[0, 0, 0], [0, 0, 0]], 1e-4, 'sum');
    const zeros = { baselines: [0, 0] };
    // l3's input is the ReLU output.
    await expectAll(await new NeuronDeepLift(rl, 'relu').attribute(x(), { neuronSelector: 0, ...zeros }), [[0, 0, 0], [0, 0, 0]], 1e-4, 'sum');
    await expectAll(await new NeuronDeepLift(rl, 'l3').attribute(x(), { neuronSelector: 0, ...zeros }), [[0, 0, 0], [6, 9, 0]], 1e-4, 'sum');
    await expectAll(await new NeuronDeepLift(rl, 'l3', { multiplyByInputs: false }).attribute(x(), { neuronSelector: 0, ...zeros }), [[0, 0, 0], [2, 3, 0]], 1e-4, 'sum');
  });
});

describe('NeuronGuidedBackprop and NeuronDeconvolution (Case 18)', () => {
  const guided = [0, 1, 1, 1, 1, 3, 3, 2, 1, 3, 3, 2, 1, 2, 2, 1];
  const deconv = [2, 3, 3, 1, 3, 5, 5, 2, 3, 5, 5, 2, 1, 2, 2, 1];
  for (const neuronSelector of [[0], { block: [[0, 1]] as [number, number][] }]) {
    it(`fc1, neuron ${JSON.stringify(neuronSelector)}`, async () => {
      await expectAll(await new NeuronGuidedBackprop(cn, 'fc1').attribute(inputs.C(), { neuronSelector }), [guided], 0.01, 'sum');
      await expectAll(await new NeuronDeconvolution(cn, 'fc1').attribute(inputs.C(), { neuronSelector }), [deconv], 0.01, 'sum');
    });
  }
});

describe('NeuronGradientShap', () => {
  it('is x − x′ for a neuron linear in the inputs, whatever the samples', async () => {
    const result = await new NeuronGradientShap(ml, 'linear1').attribute(t2([[1, 2, 3], [4, 5, 6]]), {
      neuronSelector: 0,
      baselines: t2([[0, 0, 0], [1, 1, 1]]),
      nSamples: 6,
      seed: 11,
    });
    // ∂y/∂x = 1 everywhere; the attribution averages x − x′ over the drawn baselines ([0,0,0] or [1,1,1]).
    const got = Array.from(await (result.attributions as tf.Tensor).data());
    for (const [i, g] of got.entries()) {
      const x = [1, 2, 3, 4, 5, 6][i]!;
      expect(g).toBeGreaterThanOrEqual(x - 1 - 1e-5);
      expect(g).toBeLessThanOrEqual(x + 1e-5);
    }
  });
});
