import * as tf from '@tensorflow/tfjs';
import * as tfc from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LayerGradCam } from '@attribution/layer';
import { IntegratedGradients, Occlusion, Saliency } from '@attribution/primary';
import { fromTfjs } from '@attribution/tfjs';
import {
  PASTED,
  SAMPLE1_FACE,
  argmaxRows,
  camAsNHW,
  decodeJpeg,
  gradCamByHand,
  loadNsfw,
  massInside,
  photoOnGrey,
  relativeMaxError,
  samplePhotoPath,
  sumChannels,
  timed,
  upsampleNearest,
} from '../src/index.js';
import { printTimings, total, useBackend } from './helpers.js';

/**
 * nsfwjs's bundled models (224×224×3 in 0–1 → five class probabilities: Drawing, Hentai, Neutral, Porn, Sexy),
 * loaded with `nsfwjs.load(name)` from the weights inside the package, on tfjs-wasm:
 * - MobileNetV2, a tf.LayersModel (Keras layers, batch normalisation as layers);
 * - MobileNetV2Mid, a tf.GraphModel converted from TensorFlow (width 1.4; fused convolutions with batch
 *   normalisation folded in and ReLU6 fused), whose layers are graph nodes.
 * Input: a crop of face-api's sample1.jpg pasted on a quarter of a faintly noisy grey canvas (PASTED, aligned
 * with the 56-pixel occlusion grid). Localisation: the share of positive attribution that lies on the photo,
 * against its area share of 0.25. The target is each model's own prediction (argmax of its output).
 *
 * Integrated Gradients runs 4 steps in one batch of 4 here: a MobileNet gradient at 224×224 costs ~0.4 s per
 * image on tfjs-wasm, its first batch of 8 grows the wasm heap to 2.3 GB (a batch of 16 aborts it). Completeness
 * is not asserted at so few steps (|delta| / |f(x) − f(0)| observed 1.8 and 2.9 here). With more steps it stays
 * out of budget: on a flat-grey canvas MobileNetV2's ratio did not shrink from 8 to 32 steps (0.12, 0.41, 0.41),
 * MobileNetV2Mid's did (0.37, 0.13, 0.006) at 8 batches of 4. The face nets carry the completeness check;
 * delta's consistency with Σ − (f(x) − f(0)) is asserted here.
 */

const log = new Map<string, number>();
let x: tf.Tensor4D;

beforeAll(async () => {
  await useBackend('wasm');
  const photo = await timed('decode sample1.jpg', async () => decodeJpeg(samplePhotoPath('sample1.jpg')), log);
  x = tf.tensor4d(photoOnGrey(photo, SAMPLE1_FACE).data, [1, 224, 224, 3]);
}, 60_000);

afterAll(() => {
  printTimings('nsfwjs', log);
  x?.dispose();
});

/** Share of the positive mass of a `[1, 224, 224, 3]` attribution (summed over channels) on the photo. */
async function shareOnPhoto(attributions: tf.Tensor): Promise<number> {
  return massInside(sumChannels(await attributions.data(), 224, 224), PASTED);
}

/** IG with the black baseline, 4 steps: checks delta against Σ − (f(x) − f(0)) and returns the photo share. */
async function integratedGradients(label: string, model: ReturnType<typeof fromTfjs>, run: (input: tf.Tensor) => tf.Tensor, fx: number, target: number): Promise<number> {
  const { attributions, delta } = await timed(`${label} IntegratedGradients 4 steps`, () =>
    new IntegratedGradients(model).attribute(x, { target, baselines: 0, nSteps: 4, internalBatchSize: 4, returnConvergenceDelta: true }),
  log);
  const sum = total(await attributions.data());
  const gap = fx - tf.tidy(() => run(tf.zeros([1, 224, 224, 3])).dataSync()[target] as number);
  const d = (await delta!.data())[0] as number;
  console.log(`${label} IG Σ ${sum.toFixed(4)}, f(x) − f(0) ${gap.toFixed(4)}, delta ${d.toFixed(4)}`);
  expect(Math.abs(d - (sum - gap))).toBeLessThan(1e-3 * Math.abs(gap)); // delta is what it says it is
  const share = await shareOnPhoto(attributions);
  tf.dispose([attributions, delta!]);
  return share;
}

/** What the three primary-method checks need of a loaded model, once its beforeAll has run. */
interface Loaded {
  readonly model: ReturnType<typeof fromTfjs>;
  readonly run: (input: tf.Tensor) => tf.Tensor;
  readonly fx: number;
  readonly target: number;
}

/**
 * Saliency, IntegratedGradients (4 steps) and Occlusion (56×56 windows, grey) on one model: each map's positive
 * share on the photo must exceed its threshold (observed: MobileNetV2 0.61, 0.75, 0.98; MobileNetV2Mid 0.71,
 * 0.64, 0.99).
 */
function primaryChecks(label: string, loaded: () => Loaded, min: { saliency: number; ig: number; occlusion: number }): void {
  it('Saliency: most of the gradient magnitude lies on the pasted photo', async () => {
    const { model, target } = loaded();
    const { attributions } = await timed(`${label} Saliency`, () => new Saliency(model).attribute(x, { target }), log);
    expect(attributions.shape).toEqual([1, 224, 224, 3]);
    const share = await shareOnPhoto(attributions);
    console.log(`${label} Saliency share on the photo ${share.toFixed(2)}`);
    expect(share).toBeGreaterThan(min.saliency);
    attributions.dispose();
  });

  it('IntegratedGradients (4 steps, black baseline): delta = Σ − (f(x) − f(0)); positive mass on the photo', async () => {
    const { model, run, fx, target } = loaded();
    const share = await integratedGradients(label, model, run, fx, target);
    console.log(`${label} IG positive share on the photo ${share.toFixed(2)}`);
    expect(share).toBeGreaterThan(min.ig);
  });

  it('Occlusion (56×56 windows, grey): most positive mass on the photo', async () => {
    const { model, target } = loaded();
    const { attributions } = await timed(`${label} Occlusion 16 windows`, () =>
      new Occlusion(model).attribute(x, { target, slidingWindowShapes: [56, 56, 3], strides: [56, 56, 3], baselines: 0.5, perturbationsPerEval: 8 }),
    log);
    const share = await shareOnPhoto(attributions);
    console.log(`${label} Occlusion positive share on the photo ${share.toFixed(2)}`);
    expect(share).toBeGreaterThan(min.occlusion);
    attributions.dispose();
  });
}

describe('nsfwjs MobileNetV2 (tf.LayersModel) on tfjs-wasm', () => {
  const LAST_CONV = 'out_relu'; // ReLU after Conv_1 / Conv_1_bn: [N, 7, 7, 1280], the last convolutional block
  const HEAD = ['average_pooling2d_1', 'flatten_1', 'dense_1', 'dropout_2', 'dense_2', 'dropout_3', 'dense_3'];
  let net: tf.LayersModel;
  let probs: Float32Array;
  let target: number;

  beforeAll(async () => {
    net = await timed('MobileNetV2 load', () => loadNsfw('MobileNetV2'), log);
    const out = await timed('MobileNetV2 forward', async () => net.predict(x) as tf.Tensor, log);
    expect(out).toBeInstanceOf(tfc.Tensor); // nsfwjs's tfjs is the adapter's tfjs-core
    probs = (await out.data()) as Float32Array;
    target = argmaxRows(probs, 1)[0] as number;
    out.dispose();
  }, 60_000);

  afterAll(() => net?.dispose());

  it('has the layers the tests name', () => {
    console.log(`MobileNetV2 probabilities ${Array.from(probs, (p) => p.toFixed(3)).join(' ')}, target ${target}`); // Neutral 0.977
    expect(net.getLayer(LAST_CONV).outputShape).toEqual([null, 7, 7, 1280]);
    expect(HEAD.map((n) => net.getLayer(n).name)).toEqual(HEAD);
  });

  primaryChecks('MobileNetV2', () => ({ model: fromTfjs(net), run: (t) => net.predict(t) as tf.Tensor, fx: probs[target] as number, target }), { saliency: 0.45, ig: 0.45, occlusion: 0.6 });


  it(`LayerGradCam on '${LAST_CONV}': the map is Σ_c mean(G_c)·A_c computed by hand, and lies on the photo`, async () => {
    const { attributions } = await timed('MobileNetV2 LayerGradCam', () => new LayerGradCam(fromTfjs(net), LAST_CONV).attribute(x, { target }), log);
    // By hand, with tfjs alone: A from a sub-model, G by differentiating the classifier head applied to A.
    const { acts, grads } = await timed('MobileNetV2 Grad-CAM by hand', async () => {
      const body = tf.model({ inputs: net.inputs, outputs: net.getLayer(LAST_CONV).output as tf.SymbolicTensor });
      const a = body.predict(x) as tf.Tensor;
      const head = (t: tf.Tensor): tf.Tensor => HEAD.reduce((h, name) => net.getLayer(name).apply(h, { training: false }) as tf.Tensor, t);
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.slice(head(t), [0, target], [1, 1])))(a);
      const result = { acts: await a.data(), grads: await g.data() };
      tf.dispose([a, g]);
      return result;
    }, log);
    const expected = gradCamByHand(acts, grads, [1, 7, 7, 1280]);
    const map = camAsNHW(await attributions.data(), attributions.shape, 1, 7, 7); // [1, 1, 7, 1280] (channels-first misreading) fails here
    expect(relativeMaxError(map, expected)).toBeLessThan(1e-4);
    const share = massInside(upsampleNearest({ width: 7, height: 7, data: map }, 224, 224), PASTED);
    console.log(`MobileNetV2 Grad-CAM positive share on the photo ${share.toFixed(2)}`); // observed 0.54 (0.57–0.67 on earlier canvases)
    expect(share).toBeGreaterThan(0.4);
    attributions.dispose();
  });
});

describe('nsfwjs MobileNetV2Mid (tf.GraphModel) on tfjs-wasm', () => {
  const PREFIX = 'StatefulPartitionedCall/sequential/keras_layer/StatefulPartitionedCall/StatefulPartitionedCall/StatefulPartitionedCall/predict/MobilenetV2';
  const LAST_CONV = `${PREFIX}/Conv_1/Relu6`; // _FusedConv2D 1×1 + bias + ReLU6: [N, 7, 7, 1792] (width multiplier 1.4)
  const OUTPUT = 'Identity';
  let net: tf.GraphModel;
  let probs: Float32Array;
  let target: number;

  beforeAll(async () => {
    net = await timed('MobileNetV2Mid load', () => loadNsfw('MobileNetV2Mid'), log);
    probs = await timed('MobileNetV2Mid forward', async () => tf.tidy(() => net.execute(x) as tf.Tensor).data() as Promise<Float32Array>, log);
    target = argmaxRows(probs, 1)[0] as number;
  }, 60_000);

  afterAll(() => net?.dispose());

  it('lists its graph nodes as layers, the last convolution among them', async () => {
    console.log(`MobileNetV2Mid probabilities ${Array.from(probs, (p) => p.toFixed(3)).join(' ')}, target ${target}`); // Neutral 0.825
    expect(await fromTfjs(net).layers()).toContain(LAST_CONV);
  });

  primaryChecks('MobileNetV2Mid', () => ({ model: fromTfjs(net), run: (t) => net.execute(t) as tf.Tensor, fx: probs[target] as number, target }), { saliency: 0.45, ig: 0.45, occlusion: 0.6 });


  it('LayerGradCam on the node Conv_1/Relu6: the map is Σ_c mean(G_c)·A_c computed by hand', async () => {
    const { attributions } = await timed('MobileNetV2Mid LayerGradCam', () => new LayerGradCam(fromTfjs(net), LAST_CONV).attribute(x, { target }), log);
    // By hand, with tfjs-converter alone: A = execute(x, node); G by differentiating execute with the node fed.
    const { acts, grads } = await timed('MobileNetV2Mid Grad-CAM by hand', async () => {
      const a = net.execute(x, LAST_CONV) as tf.Tensor;
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.slice(net.execute({ input: x, [LAST_CONV]: t }, OUTPUT) as tf.Tensor, [0, target], [1, 1])))(a);
      const result = { acts: await a.data(), grads: await g.data() };
      tf.dispose([a, g]);
      return result;
    }, log);
    expect(acts.length).toBe(7 * 7 * 1792);
    const expected = gradCamByHand(acts, grads, [1, 7, 7, 1792]);
    const map = camAsNHW(await attributions.data(), attributions.shape, 1, 7, 7);
    expect(relativeMaxError(map, expected)).toBeLessThan(1e-4);
    // No localisation claim for this net's Grad-CAM: its positive share on the photo moves with where the photo
    // sits (0.54 here; 0.27 with the photo at (96, 80), small positive values over the whole grey canvas).
    const share = massInside(upsampleNearest({ width: 7, height: 7, data: map }, 224, 224), PASTED);
    console.log(`MobileNetV2Mid Grad-CAM positive share on the photo ${share.toFixed(2)} (not asserted)`);
    attributions.dispose();
  });
});
