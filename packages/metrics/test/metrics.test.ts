import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { fromOnnx, hostBackend, tensor, type OnnxTensor } from '@attribution/onnx';
import { IntegratedGradients, Saliency } from '@attribution/primary';
import { ArgumentError, ShapeError, TargetError } from '@attribution/tensor';
import { assertClose, basicModel2, basicModelMultiLayer, failureOf, values } from '@attribution/testing';
import { fromTfjs, tfjsBackend } from '@attribution/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { deletion, infidelity, infidelityPerturbFunc, insertion, sensitivityMax } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const here = path.dirname(fileURLToPath(import.meta.url));
const ml = fromTfjs(basicModelMultiLayer());
const arange = (): tf.Tensor => tf.reshape(tf.range(1, 13), [4, 3]);
const tupleTargets = [
  [0, 1, 1],
  [0, 1, 1],
  [1, 1, 1],
  [0, 1, 1],
];
/** f(x) = Σ w_j x_j, one output per example. */
const w = tf.keep(tf.tensor2d([[1], [-1], [2], [0.5]]));
const linearModel = fromTfjs((x: tf.Tensor) => tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D));

describe('infidelity (Case 25)', () => {
  it("IG's squared delta when the perturbation replaces the inputs by the baselines", async () => {
    const x = arange();
    const baselines = tf.ones([4, 3]);
    const args = [arange(), true];
    const ig = await new IntegratedGradients(ml).attribute(x, { baselines, target: tupleTargets, additionalForwardArgs: args, returnConvergenceDelta: true });
    await assertClose(ig.attributions, [0, 29.2244, 58.4487, 96, 128, 160, 192, 224, 256, 288, 320, 352], 1e-2, 'sum');
    await assertClose(ig.delta, [-0.3269, 0, 0, 0], 1e-3);
    const toBaseline = infidelityPerturbFunc<tf.Tensor>((_inputs, expandedBaselines) => expandedBaselines!.map((b) => tf.clone(b)));
    const decorated = await infidelity(ml, x, ig.attributions, { baselines, target: tupleTargets, additionalForwardArgs: args, nPerturbSamples: 3, perturbFunc: toBaseline });
    await assertClose(decorated, [0.10686, 0, 0, 0], 0.05, 'sum');
    const pair = await infidelity(ml, x, ig.attributions, {
      baselines,
      target: tupleTargets,
      additionalForwardArgs: args,
      nPerturbSamples: 3,
      perturbFunc: (inputs, expandedBaselines) => ({ perturbations: inputs.map((t) => tf.onesLike(t)), perturbedInputs: expandedBaselines! }),
      maxExamplesPerBatch: 4,
    });
    await assertClose(pair, await values(decorated), 1e-5);
    // The infidelity equals IG's delta squared.
    const delta = await values(ig.delta);
    await assertClose(decorated, delta.map((d) => d * d), 1e-3);
  });

  it('≈ 0 for exact attributions of BasicModel2; normalize makes it scale-invariant', async () => {
    const model = fromTfjs(basicModel2);
    const x = [tf.tensor2d([[3]]), tf.tensor2d([[1]])];
    const { attributions } = await new IntegratedGradients(model).attribute(x);
    const shift = [0.0009, 0.0121];
    const perturbFunc = (inputs: tf.Tensor[]) => ({
      perturbations: inputs.map((t, i) => tf.fill(t.shape, shift[i]!)),
      perturbedInputs: inputs.map((t, i) => tf.sub(t, shift[i]!)),
    });
    const plain = await infidelity(model, x, attributions, { perturbFunc, nPerturbSamples: 4 });
    await assertClose(plain, [0], 0.05, 'sum');
    const scaled = attributions.map((a) => tf.mul(a, 100));
    const normalized = await infidelity(model, x, attributions, { perturbFunc, normalize: true });
    const normalizedScaled = await infidelity(model, x, scaled, { perturbFunc, normalize: true });
    await assertClose(normalizedScaled, await values(normalized), 1e-6);
    const unnormalizedScaled = await values(await infidelity(model, x, scaled, { perturbFunc }));
    expect(unnormalizedScaled[0]).toBeGreaterThan(0.1); // (100·a − b)² ≈ 0.21, against ≈ 4e-5 unscaled
  });

  it('the default Gaussian perturbation: 0 for gradients of a linear model, and seeded', async () => {
    const x = tf.tensor2d([[1, 2, 3, 4], [-1, 0.5, 2, 1]]);
    const grads = (await new Saliency(linearModel).attribute(x, { abs: false })).attributions;
    const exact = await infidelity(linearModel, x, grads, { nPerturbSamples: 20, stdev: 0.1, seed: 1 });
    await assertClose(exact, [0, 0], 1e-8);
    const wrong = tf.mul(grads, -1);
    const bad = await values(await infidelity(linearModel, x, wrong, { nPerturbSamples: 20, stdev: 0.1, seed: 1 }));
    expect(Math.min(...bad)).toBeGreaterThan(1e-3);
    const again = await infidelity(linearModel, x, wrong, { nPerturbSamples: 20, stdev: 0.1, seed: 1, maxExamplesPerBatch: 6 });
    await assertClose(again, bad, 1e-6);
    // Attributions multiplied by the inputs need I = (x − x̃) / x: IG of a linear model is then exact too.
    const ig = (await new IntegratedGradients(linearModel).attribute(x)).attributions;
    const relative = infidelityPerturbFunc<tf.Tensor>((inputs, _b, { rows }) => inputs.map((t) => tf.mul(t, tf.tensor2d(rows.map((r) => [1 + 0.01 * (r % 3), 0.98, 1.02, 0.99])))));
    await assertClose(await infidelity(linearModel, x, ig, { perturbFunc: relative, nPerturbSamples: 3 }), [0, 0], 1e-6);
  });
});

describe('sensitivityMax (Case 25)', () => {
  it('IG on BasicModel_MultiLayer with a deterministic perturbation', async () => {
    const ig = new IntegratedGradients(ml);
    const shift = tf.keep(tf.tensor1d([-0.02, -0.01, 0]));
    const result = await sensitivityMax(ig, arange(), {
      explanationOptions: { target: tupleTargets, additionalForwardArgs: [null, true] },
      perturbFunc: (inputs) => inputs.map((t) => tf.add(t, shift)),
      nPerturbSamples: 1,
      maxExamplesPerBatch: 4,
    });
    await assertClose(result, [0.005976, 0.010598, 0.001605, 0.008586], 1e-4);
    shift.dispose();
  });

  it('0 for the gradients of a linear model; a plain function needs its backend; seeded and batch-invariant', async () => {
    const x = tf.tensor2d([[1, 2, 3, 4], [-1, 0.5, 2, 1]]);
    const saliency = new Saliency(linearModel);
    await assertClose(await sensitivityMax(saliency, x, { explanationOptions: { abs: false }, seed: 3 }), [0, 0], 1e-7);
    const explain = async (inputs: tf.Tensor[]) => (await new IntegratedGradients(ml).attribute(inputs[0]!, { target: 0, nSteps: 10 })).attributions;
    const p = tf.tensor2d([[0, 9, 1], [3, 4, 5]]);
    const one = await sensitivityMax(explain, p, { backend: tfjsBackend, seed: 5, nPerturbSamples: 4, perturbRadius: 0.5 });
    const chunked = await sensitivityMax(explain, p, { backend: tfjsBackend, seed: 5, nPerturbSamples: 4, perturbRadius: 0.5, maxExamplesPerBatch: 2 });
    await assertClose(chunked, await values(one), 1e-6);
    expect(Math.max(...(await values(one)))).toBeGreaterThan(0);
    const missing = await failureOf(() => sensitivityMax(explain, p, {}));
    expect(missing.error).toBeInstanceOf(ArgumentError);
    expect(missing.error.message).toMatch(/backend: expected the backend of the inputs/);
  });
});

describe('deletion and insertion', () => {
  const x = (): tf.Tensor => tf.tensor2d([[1, 2, 3, 4]]);
  const contributions = (): tf.Tensor => tf.tensor2d([[1, -2, 6, 2]]); // w ⊙ x, exact for f = w·x
  it('follow the attribution order exactly on a linear model', async () => {
    const del = await deletion(linearModel, x(), contributions(), { steps: 4 });
    expect(del.fractions).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(del.scores).toEqual([[7, 1, -1, -2, 0]]);
    expect(del.auc[0]).toBeCloseTo(0.375, 10);
    const ins = await insertion(linearModel, x(), contributions(), { steps: 4 });
    expect(ins.scores).toEqual([[0, 6, 8, 9, 7]]);
    expect(ins.auc[0]).toBeCloseTo(6.625, 10);
    const grouped = await deletion(linearModel, x(), contributions(), { steps: 2, featureMask: tf.tensor2d([[0, 0, 1, 1]], undefined, 'int32'), maxExamplesPerBatch: 1 });
    expect(grouped.scores).toEqual([[7, -1, 0]]);
    const toOnes = await deletion(linearModel, x(), contributions(), { steps: 1, baselines: 1 });
    expect(toOnes.scores).toEqual([[7, 2.5]]);
  });

  it('IG beats a random attribution on the digits CNN (lower deletion AUC, higher insertion AUC)', async () => {
    const samples = JSON.parse(fs.readFileSync(path.join(here, '../../conformance/fixtures/real/digits_cnn.samples.json'), 'utf8')) as { images: number[][]; labels: number[] };
    const model = await fromOnnx(ort, path.join(here, '../../conformance/fixtures/real/digits_cnn.onnx'));
    try {
      const n = 12;
      const images: OnnxTensor = tensor(Float32Array.from(samples.images.slice(0, n).flat()), [n, 1, 8, 8]);
      const target = samples.labels.slice(0, n);
      const ig = (await new IntegratedGradients(model).attribute(images, { target, nSteps: 20 })).attributions;
      let seed = 12345;
      const random: OnnxTensor = tensor(Float32Array.from({ length: n * 64 }, () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) - 0.5), [n, 1, 8, 8]);
      const mean = (a: number[]): number => a.reduce((s, v) => s + v, 0) / a.length;
      const options = { target, steps: 16, maxExamplesPerBatch: 64 };
      const [delIg, delRandom, insIg, insRandom] = await Promise.all([
        deletion(model, images, ig, options),
        deletion(model, images, random, options),
        insertion(model, images, ig, options),
        insertion(model, images, random, options),
      ]);
      expect(mean(delIg.auc)).toBeLessThan(mean(delRandom.auc));
      expect(mean(insIg.auc)).toBeGreaterThan(mean(insRandom.auc));
      expect(delIg.scores[0]).toHaveLength(17);
      expect(hostBackend.shape(ig)).toEqual([n, 1, 8, 8]);
    } finally {
      model.dispose();
    }
  });
});

describe('errors and memory', () => {
  it('bad arguments are typed errors and nothing leaks', async () => {
    const x = tf.keep(tf.tensor2d([[1, 2, 3, 4]]));
    const a = tf.keep(tf.tensor2d([[1, 2, 3, 4]]));
    const shape = await failureOf(() => infidelity(linearModel, x, tf.zeros([1, 3])));
    expect(shape.error).toBeInstanceOf(ShapeError);
    expect(shape.error.message).toMatch(/attributions: expected the shape of its input, \[1, 4\], got \[1, 3\]/);
    expect((await failureOf(() => infidelity(linearModel, x, a, { nPerturbSamples: 0 }))).error.message).toMatch(/nPerturbSamples: expected an integer ≥ 1/);
    expect((await failureOf(() => infidelity(linearModel, x, a, { perturbFunc: () => ({ perturbations: [], perturbedInputs: [] }) }))).error.message).toMatch(/perturbFunc\(…\)\.perturbations: expected 1 tensor/);
    expect((await failureOf(() => sensitivityMax(new Saliency(linearModel), x, { normOrd: 'nuc' as never }))).error.message).toMatch(/normOrd: expected 'fro', a number p ≥ 1 or Infinity/);
    expect((await failureOf(() => deletion(ml, tf.tensor2d([[1, 2, 3]]), tf.tensor2d([[1, 2, 3]])))).error).toBeInstanceOf(TargetError);
    expect((await failureOf(() => insertion(linearModel, x, a, { steps: 0 }))).error.message).toMatch(/steps: expected an integer ≥ 1/);
    expect((await failureOf(() => deletion(linearModel, x, a, { step: 3 } as never))).error.message).toMatch(/step.*steps/);
    const controller = new AbortController();
    controller.abort();
    for (const call of [
      () => infidelity(linearModel, x, a, { signal: controller.signal }),
      () => sensitivityMax(new Saliency(linearModel), x, { signal: controller.signal }),
      () => deletion(linearModel, x, a, { signal: controller.signal }),
    ]) {
      const aborted = await failureOf(call);
      expect(aborted.error.name).toBe('AbortError');
      expect(aborted.leaked).toBe(0);
    }
    const seen: string[] = [];
    await insertion(linearModel, x, a, { steps: 4, maxExamplesPerBatch: 2, onProgress: (p) => seen.push(`${p.done}/${p.total}`) });
    expect(seen).toEqual(['1/3', '2/3', '3/3']);
    const before = tf.memory().numTensors;
    tf.dispose([await infidelity(linearModel, x, a, { seed: 1 }), await sensitivityMax(new Saliency(linearModel), x, { seed: 1 })]);
    await deletion(linearModel, x, a);
    await insertion(linearModel, x, a, { maxExamplesPerBatch: 2 });
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe("targets 'predicted' and class names", () => {
  it('mean the classes of the unperturbed inputs, as the equivalent indices; a plain function cannot resolve predicted', async () => {
    const weights = tf.keep(tf.tensor2d([[1, -1, 0.5], [0.5, 2, -1], [-1, 0.5, 2]]));
    const net = (t: tf.Tensor): tf.Tensor => tf.matMul(tf.tanh(t) as tf.Tensor2D, weights as tf.Tensor2D);
    const model = fromTfjs(net, { labels: ['cat', 'dog', 'bird'] });
    const x = tf.keep(tf.tensor2d([[1.5, 0, -1], [-0.5, 0.1, 1.2]])); // predicted: cat, bird
    const attributions = tf.keep(tf.tensor2d([[0.5, -0.2, 0.1], [0.1, 0.3, -0.4]]));
    const read = async (t: tf.Tensor): Promise<number[]> => {
      const v = await values(t);
      t.dispose();
      return v;
    };
    const before = tf.memory().numTensors;
    const infid = async (target: unknown): Promise<number[]> => read(await infidelity(model, x, attributions, { target: target as never, nPerturbSamples: 6, stdev: 2, seed: 4 }));
    const byIndex = await infid([0, 2]);
    expect(await infid('predicted')).toEqual(byIndex);
    expect(await infid(['cat', 'bird'])).toEqual(byIndex);
    // A radius large enough to change the perturbed copies' argmax: the target stays each example's class on x.
    const sens = async (target: unknown): Promise<number[]> => read(await sensitivityMax(new Saliency(model), x, { explanationOptions: { target }, perturbRadius: 3, nPerturbSamples: 6, seed: 2 }));
    const sensByIndex = await sens([0, 2]);
    expect(await sens('predicted')).toEqual(sensByIndex);
    expect(await sens(['cat', 'bird'])).toEqual(sensByIndex);
    expect(tf.memory().numTensors).toBe(before);
    const plain = (inputs: tf.Tensor[], options: Record<string, unknown>) => new Saliency(model).attribute(inputs, options);
    const refused = await failureOf(() => sensitivityMax(plain, x, { backend: tfjsBackend, explanationOptions: { target: 'predicted' } }));
    expect(refused.error).toBeInstanceOf(TargetError);
    expect(refused.error.message).toMatch(/an attribution method as the explanation when the target is 'predicted'/);
    tf.dispose([weights, x, attributions]);
  });
});
