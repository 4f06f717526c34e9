import * as tf from '@tensorflow/tfjs';
import {
  assertClose,
  basicModelMultiLayer,
  basicModelMultiLayerMultiInput,
  convNetOneConv,
  convNetOneConvLayers,
  inputs,
  reluLinearModel,
  values,
} from '@attribution/testing';
import { fromTfjs, tfjsBackend } from '@attribution/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  InternalInfluence,
  LayerActivation,
  LayerAttribution,
  LayerConductance,
  LayerDeepLift,
  LayerFeatureAblation,
  LayerGradCam,
  LayerGradientShap,
  LayerGradientXActivation,
  LayerIntegratedGradients,
} from '../src/index.js';

// Captum's own test values (CAPTUM-SEMANTICS §9.3, Cases 19–22 and §4), on its toy models rebuilt in tfjs.
// A Captum layer with several output tensors (MultiRelu) is a list of refs here, one per output.

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const ml = fromTfjs(basicModelMultiLayer());
const mlm = fromTfjs(basicModelMultiLayer({ multiInputModule: true }));
const mi = fromTfjs(basicModelMultiLayerMultiInput());
const cn = fromTfjs(convNetOneConv(), { dataFormat: 'channelsFirst' });
const rl = fromTfjs(reluLinearModel());
const multiRelu = [
  { layer: 'multi_relu', index: 0 },
  { layer: 'multi_relu', index: 1 },
];
const P = inputs.P;
const t2 = (rows: number[][]): tf.Tensor => tf.tensor2d(rows);

describe('LayerConductance (Case 19)', () => {
  for (const internalBatchSize of [undefined, 4, 20]) {
    const options = { target: 0, nSteps: 500, method: 'gausslegendre' as const, internalBatchSize, returnConvergenceDelta: true };
    it(`BasicModel_MultiLayer layers, internalBatchSize ${internalBatchSize}`, async () => {
      for (const [layer, want] of [
        ['linear0', [0, 390, 0]],
        ['linear1', [90, 100, 100, 100]],
        ['relu', [90, 100, 100, 100]],
        ['linear2', [390, 0]],
      ] as const) {
        const { attributions, delta } = await new LayerConductance(ml, layer).attribute(P(), options);
        await assertClose(attributions, want, 0.1, 'sum');
        expect(Math.abs((await values(delta))[0]!)).toBeLessThan(0.01);
      }
      const zeros = await new LayerConductance(ml, 'linear0').attribute(P(), { ...options, baselines: 0 });
      await assertClose(zeros.attributions, [0, 390, 0], 0.1, 'sum');
      for (const ref of multiRelu) await assertClose((await new LayerConductance(mlm, ref).attribute(P(), options)).attributions, [90, 100, 100, 100], 0.1, 'sum');
    });
    it(`BasicModel_MultiLayer_MultiInput, internalBatchSize ${internalBatchSize}`, async () => {
      const three = [t2([[0, 10, 0]]), t2([[0, 10, 0]]), t2([[0, 5, 0]])];
      await assertClose((await new LayerConductance(mi, 'linear2').attribute(three, { ...options, additionalForwardArgs: 4 })).attributions, [390, 0], 0.1, 'sum');
      const two = [t2([[0, 10, 1], [0, 0, 10]]), t2([[0, 4, 5], [0, 0, 10]])];
      const args = [t2([[0, 0, 0], [0, 0, 5]]), 5];
      const { attributions, delta } = await new LayerConductance(mi, 'relu').attribute(two, { ...options, additionalForwardArgs: args });
      await assertClose(attributions, [90, 100, 100, 100, 100, 100, 100, 100], 0.1, 'sum');
      for (const d of await values(delta)) expect(Math.abs(d)).toBeLessThan(0.01);
    });
  }
  it('matches the computed values with 50 steps (delta −0.754)', async () => {
    const { attributions, delta } = await new LayerConductance(ml, 'linear1').attribute(P(), { target: 0, returnConvergenceDelta: true });
    await assertClose(attributions, [89.5726, 99.891, 99.891, 99.891], 2e-3);
    await assertClose(delta, [-0.754], 2e-3);
  });
});

describe('InternalInfluence (Case 20)', () => {
  for (const internalBatchSize of [undefined, 5, 20]) {
    const options = { target: 0, nSteps: 500, method: 'riemann_trapezoid' as const, internalBatchSize };
    it(`internalBatchSize ${internalBatchSize}`, async () => {
      await assertClose((await new InternalInfluence(ml, 'linear0').attribute(P(), options)).attributions, [3.9, 3.9, 3.9], 0.01);
      await assertClose((await new InternalInfluence(ml, 'linear1').attribute(P(), options)).attributions, [0.9, 1, 1, 1], 0.01);
      await assertClose((await new InternalInfluence(ml, 'linear2').attribute(P(), options)).attributions, [1, 0], 0.01);
      await assertClose((await new InternalInfluence(ml, 'relu').attribute(t2([[3, 4, 0]]), options)).attributions, [1, 1, 1, 1], 0.01);
      const shifted = await new InternalInfluence(ml, 'linear1').attribute(t2([[0, 80, 0]]), { ...options, baselines: t2([[0, -20, 0]]) });
      await assertClose(shifted.attributions, [0.7, 0.8, 0.8, 0.8], 0.01);
      // MultiRelu's inputs are linear1 and linear1_alt (attribute_to_layer_input in Captum).
      for (const layer of ['linear1', 'linear1_alt']) await assertClose((await new InternalInfluence(mlm, layer).attribute(P(), options)).attributions, [0.9, 1, 1, 1], 0.01);
    });
  }
});

describe('LayerActivation and LayerGradientXActivation (Case 21)', () => {
  it('LayerActivation', async () => {
    await assertClose((await new LayerActivation(ml, 'linear0').attribute(P())).attributions as tf.Tensor, [0, 100, 0], 0.01, 'sum');
    await assertClose((await new LayerActivation(ml, 'linear1').attribute(P())).attributions as tf.Tensor, [90, 101, 101, 101], 0.01, 'sum');
    await assertClose((await new LayerActivation(ml, 'linear2').attribute(P())).attributions as tf.Tensor, [392, 394], 0.01, 'sum');
    await assertClose((await new LayerActivation(ml, 'relu').attribute(t2([[3, 4, 0]]))).attributions as tf.Tensor, [0, 8, 8, 8], 0.01, 'sum');
    const several = (await new LayerActivation(mlm, [...multiRelu, 'linear0', 'linear1']).attribute(t2([[0, 6, 0]]))).attributions as tf.Tensor[];
    expect(several).toHaveLength(4);
    for (const [i, want] of [[0, 7, 7, 7], [0, 7, 7, 7], [0, 6, 0], [-4, 7, 7, 7]].entries()) await assertClose(several[i], want, 0.01, 'sum');
  });
  it('LayerGradientXActivation', async () => {
    const gxa = (model: typeof ml, layer: string | typeof multiRelu, x: tf.Tensor | tf.Tensor[], extra = {}) =>
      new LayerGradientXActivation(model, layer).attribute(x, { target: 0, ...extra });
    await assertClose((await gxa(ml, 'linear0', P())).attributions as tf.Tensor, [0, 400, 0], 0.01, 'sum');
    await assertClose((await gxa(ml, 'linear1', P())).attributions as tf.Tensor, [90, 101, 101, 101], 0.01, 'sum');
    await assertClose((await gxa(ml, 'linear2', P())).attributions as tf.Tensor, [392, 0], 0.01, 'sum');
    const both = (await new LayerGradientXActivation(ml, ['linear0', 'linear1']).attribute(P(), { target: 0 })).attributions as tf.Tensor[];
    await assertClose(both[0], [0, 400, 0], 0.01, 'sum');
    await assertClose(both[1], [90, 101, 101, 101], 0.01, 'sum');
    await assertClose((await gxa(ml, 'relu', t2([[3, 4, 0]]))).attributions as tf.Tensor, [0, 8, 8, 8], 0.01, 'sum');
    const pair = (await gxa(mlm, [...multiRelu, { layer: 'linear0' }] as never, t2([[3, 4, 0]]))).attributions as tf.Tensor[];
    for (const [i, want] of [[0, 8, 8, 8], [0, 8, 8, 8], [9, 12, 0]].entries()) await assertClose(pair[i], want, 0.01, 'sum');
    const three = [t2([[0, 10, 0]]), t2([[0, 10, 0]]), t2([[0, 5, 0]])];
    await assertClose((await gxa(mi, 'linear2', three, { additionalForwardArgs: 4 })).attributions as tf.Tensor, [392, 0], 0.01, 'sum');
    const local = new LayerGradientXActivation(ml, 'linear0', { multiplyByInputs: false });
    expect(local.multipliesByInputs).toBe(false);
    await assertClose((await local.attribute(P(), { target: 0 })).attributions as tf.Tensor, [4, 4, 4], 1e-4, 'sum');
  });
});

describe('LayerGradCam (Case 22) and interpolate (§4.8)', () => {
  it('non-convolutional and MultiRelu layers', async () => {
    const map = (await new LayerGradCam(ml, 'linear0').attribute(P(), { target: 0 })).attributions;
    expect(map.shape).toEqual([1, 1]);
    await assertClose(map, [400], 0.01, 'sum');
    for (const ref of multiRelu) await assertClose((await new LayerGradCam(mlm, ref).attribute(t2([[0, 6, 0]]), { target: 0 })).attributions, [21], 0.01, 'sum');
  });
  it('the one-conv net: summed, per channel, after the ReLU and with two inputs', async () => {
    const gc = new LayerGradCam(cn, 'conv1');
    const summed = (await gc.attribute(inputs.C(), { target: 0 })).attributions;
    expect(summed.shape).toEqual([1, 1, 2, 2]);
    await assertClose(summed, [11.25, 13.5, 20.25, 22.5], 0.01, 'sum');
    const perChannel = (await gc.attribute(inputs.C(), { target: 0, attrDimSummation: false })).attributions;
    expect(perChannel.shape).toEqual([1, 2, 2, 2]);
    await assertClose(perChannel, [-3.75, 3, 23.25, 30, 15, 10.5, -3, -7.5], 0.01, 'sum');
    await assertClose((await new LayerGradCam(cn, 'relu1').attribute(inputs.C(), { target: 0 })).attributions, [0, 4, 28, 32.5], 0.01, 'sum');
    await assertClose((await gc.attribute([inputs.C(), inputs.O()], { target: 0 })).attributions, [14.5, 19, 32.5, 37], 0.01, 'sum');
  });
  it('attributeToLayerInput on a LayersModel, with and without ReLU', async () => {
    const net = convNetOneConvLayers();
    const model = fromTfjs(net);
    const x = inputs.C().bufferSync();
    x.set(-4, 0, 0, 1, 1);
    const input = x.toTensor();
    const data = await values(input);
    const gc = new LayerGradCam(model, 'conv1');
    await assertClose((await gc.attribute(input, { target: 0, attributeToLayerInput: true })).attributions, data.map((v) => 0.5625 * v), 0.01, 'sum');
    const relu = await gc.attribute(input, { target: 0, attributeToLayerInput: true, reluAttributions: true });
    await assertClose(relu.attributions, data.map((v) => Math.max(0, 0.5625 * v)), 0.01, 'sum');
    // The LayersModel and the function model agree on the layer output too.
    await assertClose((await gc.attribute(inputs.C(), { target: 0 })).attributions, [11.25, 13.5, 20.25, 22.5], 0.01, 'sum');
    net.dispose();
  });
  it('interpolate: nearest and bilinear (align_corners false), static and on an instance', async () => {
    const map = tf.tensor4d([[[[11.25, 13.5], [20.25, 22.5]]]]);
    const nearest = await LayerAttribution.interpolate(tfjsBackend, map, [4, 4]);
    expect(nearest.shape).toEqual([1, 1, 4, 4]);
    await assertClose(nearest, [11.25, 11.25, 13.5, 13.5, 11.25, 11.25, 13.5, 13.5, 20.25, 20.25, 22.5, 22.5, 20.25, 20.25, 22.5, 22.5], 1e-6);
    const bilinear = await new LayerGradCam(cn, 'conv1').interpolate(map, [4, 4], 'bilinear');
    await assertClose(bilinear, [11.25, 11.8125, 12.9375, 13.5, 13.5, 14.0625, 15.1875, 15.75, 18, 18.5625, 19.6875, 20.25, 20.25, 20.8125, 21.9375, 22.5], 1e-5);
    tf.dispose([map, nearest, bilinear]);
  });
});

describe('LayerIntegratedGradients (Case 22, §4.5)', () => {
  it('BasicModel_MultiLayer linear1: [90.1794, 100, 100, 100], delta 0.1794', async () => {
    const { attributions, delta } = await new LayerIntegratedGradients(ml, 'linear1').attribute(P(), { target: 0, returnConvergenceDelta: true });
    await assertClose(attributions, [90.1794, 100, 100, 100], 1e-3);
    await assertClose(delta, [0.1794], 1e-3);
  });
  it('each MultiRelu output', async () => {
    for (const ref of multiRelu) await assertClose((await new LayerIntegratedGradients(mlm, ref).attribute(P(), { target: 0 })).attributions, [90, 100, 100, 100], 0.01, 'sum');
  });
  it('at a LayersModel layer input equals the layer output of the layer before', async () => {
    const net = convNetOneConvLayers();
    const model = fromTfjs(net);
    const atInput = await new LayerIntegratedGradients(model, 'fc1').attribute(inputs.C(), { target: 0, attributeToLayerInput: true });
    const atFlatten = await new LayerIntegratedGradients(model, 'flatten').attribute(inputs.C(), { target: 0 });
    await assertClose(atInput.attributions, await values(atFlatten.attributions), 1e-4);
    net.dispose();
  });
});

describe('LayerDeepLift (Case 22)', () => {
  const x = (): tf.Tensor[] => [t2([[-10, 1, -5]]), t2([[3, 3, 1]])];
  const zeros = [0, 0];
  it('ReLULinearModel at the ReLU input, with the multiplier only, and with an argument', async () => {
    const atInput = await new LayerDeepLift(rl, 'relu.input').attribute(x(), { baselines: zeros, returnConvergenceDelta: true });
    await assertClose(atInput.attributions, [0, 15], 1e-4, 'sum');
    expect(Math.abs((await values(atInput.delta))[0]!)).toBeLessThan(1e-5);
    await assertClose((await new LayerDeepLift(rl, 'relu.input', { multiplyByInputs: false }).attribute(x(), { baselines: zeros })).attributions, [0, 1], 1e-4, 'sum');
    await assertClose((await new LayerDeepLift(rl, 'relu.input').attribute(x(), { baselines: zeros, additionalForwardArgs: 3 })).attributions, [0, 45], 1e-4, 'sum');
    // l3's input is the ReLU output.
    await assertClose((await new LayerDeepLift(rl, 'relu').attribute(x(), { baselines: zeros })).attributions, [0, 15], 1e-4, 'sum');
  });
  it('BasicModel_MultiLayer MultiRelu outputs', async () => {
    // F(x) − F(x′) = −6 is shared by the two outputs: each alone leaves the other's −3 in its delta.
    for (const ref of multiRelu) {
      const { attributions, delta } = await new LayerDeepLift(mlm, ref).attribute(t2([[-10, 1, -5]]), { target: 0, returnConvergenceDelta: true });
      await assertClose(attributions, [0, -1, -1, -1], 1e-4, 'sum');
      await assertClose(delta, [3], 1e-5);
    }
  });
});

describe('LayerFeatureAblation and LayerGradientShap', () => {
  it('LayerFeatureAblation removes each unit: F(x) − F(x with unit i at its baseline)', async () => {
    // linear1 at P is [90, 101, 101, 101], all past the ReLU; target 0 sums them.
    await assertClose((await new LayerFeatureAblation(ml, 'linear1').attribute(P(), { target: 0 })).attributions, [90, 101, 101, 101], 1e-4);
    const grouped = await new LayerFeatureAblation(ml, 'linear1').attribute(P(), { target: 0, layerMask: tf.tensor2d([[0, 0, 1, 1]], undefined, 'int32'), layerBaselines: 1 });
    await assertClose(grouped.attributions, [189, 189, 200, 200], 1e-4);
  });
  it('LayerGradientShap is exact where the model is linear after the layer', async () => {
    // linear2 feeds the output directly: (A(x) − A(x′)) · ∂F/∂A = ([392, 394] − [2, 4]) · [1, 0].
    const result = await new LayerGradientShap(ml, 'linear2').attribute(P(), { target: 0, baselines: tf.zeros([3, 3]), nSamples: 7, seed: 3, returnConvergenceDelta: true });
    await assertClose(result.attributions, [390, 0], 1e-3);
    expect(Math.abs((await values(result.delta)).reduce((a, d) => a + d, 0))).toBeLessThan(1e-3);
  });
});
