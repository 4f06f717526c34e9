import fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { RidgeClassifier } from '@attribution/core';
import { LayerIntegratedGradients } from '@attribution/layer';
import { fromOnnx } from '@attribution/onnx';
import type { Backend, Model } from '@attribution/tensor';
import { tapOf } from '@attribution/testing';
import { fromTfjs } from '@attribution/tfjs';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { beforeAll, describe, expect, it } from 'vitest';
import { Concept, TCAV, tTest, type LayerAttrMethod } from '../src/index.js';

// Captum 0.8's TCAV on its BasicModel_ConvNet (fc weights randomised), with a deterministic classifier that
// both sides implement (closed-form ridge, RidgeClassifier with testSplitRatio 0): CAVs and scores from
// fixtures/make_tcav_cases.py, compared on TensorFlow.js (cpu), onnxruntime-node and onnxruntime-web.

interface Scores {
  signCount: number[];
  magnitude: number[];
}
interface Case {
  name: string;
  layers: string[];
  sets: number[][];
  target: number | number[];
  attributeToLayerInput: boolean;
  layerAttrMethod: 'default' | 'lig';
  kwargs: { n_steps?: number };
  cavs: Record<string, Record<string, { weights: number[][]; classes: number[]; accs: number }>>;
  scores: Record<string, Record<string, Scores>>;
}
interface Fixture {
  params: Record<string, number[] | number[][] | number[][][][]>;
  examples: Record<string, number[]>;
  exampleShape: number[];
  inputs: number[];
  inputShape: number[];
  cases: Case[];
  ttests: { a: number[]; b: number[]; equalVar: boolean; statistic: number; pValue: number }[];
}
const fixture = JSON.parse(fs.readFileSync(new URL('fixtures/tcav_cases.json', import.meta.url), 'utf8')) as Fixture;
const NAMES = ['striped', 'ceo', 'random', 'dotted'];

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** BasicModel_ConvNet in tfjs (NCHW taps named as Captum's modules), with the fixture's parameters. */
function convNet(): (x: tf.Tensor, ...rest: unknown[]) => tf.Tensor {
  const p = fixture.params;
  const filter = (name: string): tf.Tensor4D => tf.keep(tf.transpose(tf.tensor4d(p[name] as number[][][][]), [2, 3, 1, 0]));
  const vec = (name: string): tf.Tensor1D => tf.keep(tf.tensor1d(p[name] as number[]));
  const mat = (name: string): tf.Tensor2D => tf.keep(tf.transpose(tf.tensor2d(p[name] as number[][])));
  const [w1, b1, w2, b2, f1, c1, f2, c2] = [filter('conv1.weight'), vec('conv1.bias'), filter('conv2.weight'), vec('conv2.bias'), mat('fc1.weight'), vec('fc1.bias'), mat('fc2.weight'), vec('fc2.bias')];
  const toNchw = (t: tf.Tensor): tf.Tensor => tf.transpose(t, [0, 3, 1, 2]);
  const toNhwc = (t: tf.Tensor): tf.Tensor4D => tf.transpose(t, [0, 2, 3, 1]) as tf.Tensor4D;
  return (x, ...rest) => {
    const tap = tapOf(rest);
    const conv1 = tap('conv1', toNchw(tf.add(tf.conv2d(toNhwc(x), w1, 1, 'valid'), b1)));
    const pool1 = tf.maxPool(toNhwc(tap('relu1', tf.relu(conv1))), 2, 2, 'valid');
    const conv2 = tap('conv2', toNchw(tf.add(tf.conv2d(pool1, w2, 1, 'valid'), b2)));
    const pool2 = tf.maxPool(toNhwc(tap('relu2', tf.relu(conv2))), 2, 2, 'valid');
    const flat = tf.reshape(pool2, [-1, 4]) as tf.Tensor2D;
    const h = tap('relu3', tf.relu(tap('fc1', tf.add(tf.matMul(flat, f1), c1))));
    return tf.softmax(tap('fc2', tf.add(tf.matMul(h as tf.Tensor2D, f2), c2)));
  };
}

interface Runtime {
  readonly name: string;
  readonly onnx: boolean;
  model(): Promise<Model<unknown>>;
}
const onnxPath = new URL('fixtures/convnet.onnx', import.meta.url).pathname;
const RUNTIMES: Runtime[] = [
  { name: 'tfjs-cpu', onnx: false, model: async () => fromTfjs(convNet(), { dataFormat: 'channelsFirst' }) as Model<unknown> },
  { name: 'onnxruntime-node', onnx: true, model: async () => (await fromOnnx(ortNode, onnxPath)) as Model<unknown> },
  { name: 'onnxruntime-web', onnx: true, model: async () => (await fromOnnx(ortWeb as unknown as typeof ortNode, onnxPath)) as Model<unknown> },
];
/** Captum module names as ONNX tensor names (or, for a layer's input, node names). */
const ONNX_LAYERS: Record<string, string> = { conv1: '/conv1/Conv_output_0', conv2: '/conv2/Conv_output_0', relu2: '/relu2/Relu_output_0' };
const ONNX_NODES: Record<string, string> = { relu2: '/relu2/Relu' };

/** The concepts of the fixture; the batches they hand out are recorded in `made` (the caller owns them). */
function concepts<T>(b: Backend<T>, made: T[] = []): Concept<T>[] {
  const [n, ...shape] = fixture.exampleShape as [number, ...number[]];
  const size = shape.reduce((a, c) => a * c, 1);
  return NAMES.map((name, id) => {
    const values = fixture.examples[name] as number[];
    const batch = (start: number, end: number): T => {
      const t = b.tensor(values.slice(start * size, end * size), [end - start, ...shape]);
      made.push(t);
      return t;
    };
    // Captum's batches: 4, 4, 2 examples; a function so that each traversal gets fresh tensors.
    return new Concept(id, name, () => [batch(0, 4), batch(4, 8), batch(8, n)]);
  });
}

describe.each(RUNTIMES)('TCAV matches Captum on $name', (runtime) => {
  for (const c of fixture.cases) {
    const skip = c.attributeToLayerInput && !runtime.onnx; // tapped tfjs functions expose layer outputs only
    it.skipIf(skip)(c.name, async () => {
      const model = await runtime.model();
      const b = model.backend;
      const layerName = (l: string): string => (runtime.onnx ? ((c.attributeToLayerInput ? ONNX_NODES[l] : ONNX_LAYERS[l]) as string) : l);
      const layers = c.layers.map(layerName);
      const made: unknown[] = [];
      const all = concepts(b, made);
      const sets = c.sets.map((s) => s.map((id) => all[id] as Concept<unknown>));
      const lig: LayerAttrMethod<unknown> = (m, layer) => new LayerIntegratedGradients(m, layer, { multiplyByInputs: false });
      const tcav = new TCAV(model, layers, {
        classifier: new RidgeClassifier({ testSplitRatio: 0 }),
        attributeToLayerInput: c.attributeToLayerInput,
        ...(c.layerAttrMethod === 'lig' ? { layerAttrMethod: lig } : {}),
      });
      const inputs = b.tensor(fixture.inputs, fixture.inputShape);
      const before = tf.memory().numTensors;
      const scores = await tcav.interpret(inputs, sets, { target: c.target, ...(c.kwargs.n_steps ? { nSteps: c.kwargs.n_steps } : {}) });
      b.dispose(made);
      if (!runtime.onnx) expect(tf.memory().numTensors).toBe(before);
      for (const [key, perLayer] of Object.entries(c.scores)) {
        for (const [layer, want] of Object.entries(perLayer)) {
          const got = scores[key]?.[layerName(layer)] as Scores;
          expect(got, `${key} ${layer}`).toBeDefined();
          got.signCount.forEach((v, i) => expect(v).toBeCloseTo(want.signCount[i] as number, 6));
          got.magnitude.forEach((v, i) => {
            const diff = Math.abs(v - (want.magnitude[i] as number));
            expect(diff, `${key} ${layer} magnitude[${i}]`).toBeLessThan(1e-6);
          });
          const cav = tcav.cavs[key]?.[layerName(layer)];
          const wantCav = c.cavs[key]?.[layer];
          expect(cav?.stats.classes).toEqual(wantCav?.classes);
          expect(cav?.stats.accs).toBeCloseTo(wantCav?.accs as number, 6);
          const scale = Math.max(...(wantCav?.weights.flat().map(Math.abs) ?? [1]));
          cav?.stats.weights.forEach((row, r) => row.forEach((w, f) => expect(Math.abs(w - (wantCav?.weights[r]?.[f] as number)) / scale).toBeLessThan(1e-5)));
        }
      }
      b.dispose(inputs);
    });
  }
});

describe('tTest matches SciPy ttest_ind', () => {
  it.each(fixture.ttests)('equalVar $equalVar, n = $a.length, $b.length', ({ a, b, equalVar, statistic, pValue }) => {
    const r = tTest(a, b, { equalVar });
    expect(r.statistic).toBeCloseTo(statistic, 10);
    expect(Math.abs(r.pValue - pValue)).toBeLessThan(1e-10);
  });
});
