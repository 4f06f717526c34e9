import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { RidgeClassifier, SGDClassifier, type Classifier } from '@attribution/core';
import { ArgumentError, ModelError, ShapeError, createRandom } from '@attribution/tensor';
import { tapOf } from '@attribution/testing';
import { fromTfjs, tfjsBackend } from '@attribution/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAV, Concept, TCAV, conceptFromNpyFolder, parseNpy, scoresAcross, tTest } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tcav-test-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

// A small tapped model: 6 features → hidden (8, ReLU) → 3 classes. Class 0 reads features 0–2, class 1 the rest.
const W1 = tf.keep(tf.tensor2d(Array.from({ length: 6 }, (_, i) => Array.from({ length: 8 }, (_, j) => Math.sin(i * 8 + j + 1) + (i < 3 === j < 4 ? 1 : 0)))));
const W2 = tf.keep(tf.tensor2d(Array.from({ length: 8 }, (_, j) => [j < 4 ? 1 : -0.5, j < 4 ? -0.5 : 1, 0.1 * j])));
const net = (x: tf.Tensor, ...rest: unknown[]): tf.Tensor => tf.softmax(tf.matMul(tapOf(rest)('hidden', tf.relu(tf.matMul(x as tf.Tensor2D, W1))) as tf.Tensor2D, W2));
const model = fromTfjs(net);
const b = tfjsBackend;

/** Deterministic pseudo-random numbers in [-1, 1). */
function noise(seed: number, n: number): number[] {
  const rng = createRandom(seed);
  return Array.from({ length: n }, () => rng.next() * 2 - 1);
}
/** Examples with features `pattern` plus noise, in batches of 5 (a fresh traversal gives fresh tensors, kept in `made`). */
function concept(id: number, name: string, pattern: number[], n = 20, made: tf.Tensor[] = []): Concept<tf.Tensor> {
  const values = noise(id + 1, n * 6).map((v, k) => (pattern[k % 6] as number) + 0.3 * v);
  return new Concept(id, name, function* () {
    for (let s = 0; s < n; s += 5) {
      const t = tf.tensor2d(values.slice(s * 6, Math.min(n, s + 5) * 6), [Math.min(5, n - s), 6]);
      made.push(t);
      yield t;
    }
  });
}
const made: tf.Tensor[] = [];
const early = concept(0, 'early', [1, 1, 1, 0, 0, 0], 20, made);
const late = concept(1, 'late', [0, 0, 0, 1, 1, 1], 20, made);
// Random concepts: draws of one distribution (no pattern), as TCAV's random counterexamples.
const randoms = [2, 3, 4, 5, 6, 7, 8, 9].map((id) => concept(id, `random_${id - 2}`, [0.5, 0.5, 0.5, 0.5, 0.5, 0.5], 20, made));
const inputs = (): tf.Tensor => tf.tensor2d(noise(7, 60).map((v, k) => (k % 6 < 3 ? 1 : 0) + 0.8 * v), [10, 6]);

describe('TCAV with the default SGD classifier', () => {
  it('learns separable concepts, scores in [0, 1], reproducible per seed, no leaked tensors', async () => {
    const run = async (seed: number): Promise<{ scores: Awaited<ReturnType<TCAV<tf.Tensor>['interpret']>>; tcav: TCAV<tf.Tensor> }> => {
      const tcav = new TCAV(model, 'hidden', { classifier: new SGDClassifier({ seed }) });
      const x = inputs();
      const before = tf.memory().numTensors;
      const scores = await tcav.interpret(x, [[early, late], [early, randoms[0]!]], { target: 0 });
      tf.dispose(made.splice(0));
      expect(tf.memory().numTensors).toBe(before);
      x.dispose();
      return { scores, tcav };
    };
    const a = await run(0);
    const again = await run(0);
    const other = await run(1);
    expect(a.scores).toEqual(again.scores);
    expect(a.tcav.cavs['0-1']!.hidden!.stats.weights).not.toEqual(other.tcav.cavs['0-1']!.hidden!.stats.weights);
    expect(a.tcav.cavs['0-1']!.hidden!.stats.accs).toBeGreaterThanOrEqual(0.9);
    for (const key of ['0-1', '0-2']) {
      const { signCount, magnitude } = a.scores[key]!.hidden!;
      expect(signCount).toHaveLength(2);
      for (const v of signCount) expect(v >= 0 && v <= 1).toBe(true);
      // Two concepts: the CAVs are ±w, so the scores are complementary (inputs with a zero dot product aside).
      expect(magnitude[0]).toBeCloseTo(-(magnitude[1] as number), 12);
    }
    // Inputs that look like 'early' and a target that reads early features: the 'early' direction raises it.
    expect(a.scores['0-1']!.hidden!.signCount[0]).toBe(1);
    expect(a.scores['0-1']!.hidden!.magnitude[0]).toBeGreaterThan(0);
  });

  it('random experiments and the t-test: the concept is significant, random against random is not', async () => {
    const tcav = new TCAV(model, 'hidden', { classifier: new SGDClassifier({ seed: 3 }) });
    const x = inputs();
    const conceptSets = randoms.map((r) => [early, r]);
    const randomSets = randoms.slice(1).map((r) => [randoms[0]!, r]);
    const scores = await tcav.interpret(x, [...conceptSets, ...randomSets], { target: 0 });
    const conceptScores = scoresAcross(scores, conceptSets, 'hidden', 'magnitude');
    const randomScores = scoresAcross(scores, randomSets, 'hidden', 'magnitude');
    expect(tTest(conceptScores, randomScores).pValue).toBeLessThan(0.01);
    // A random concept against the other random ones is not significant.
    const r1Sets = randoms.filter((r) => r.id !== 3).map((r) => [randoms[1]!, r]);
    const r1Scores = await tcav.interpret(x, r1Sets, { target: 0 });
    expect(tTest(scoresAcross(r1Scores, r1Sets, 'hidden', 'magnitude'), randomScores).pValue).toBeGreaterThan(0.05);
    expect(scoresAcross(scores, conceptSets, 'hidden')).toEqual(conceptSets.map((s) => scores[`${s[0]!.id}-${s[1]!.id}`]!.hidden!.signCount[0]));
    expect(() => scoresAcross(scores, [[late, early]], 'hidden')).toThrow(ArgumentError);
    x.dispose();
    tf.dispose(made.splice(0));
  });
});

describe('CAV save and load', () => {
  it('saves under <folder>/<modelId>/<ids>-<layer>.json and reuses saved CAVs', async () => {
    const folder = path.join(tmp, 'cavs');
    let trained = 0;
    const counting = (): Classifier => {
      const inner = new RidgeClassifier({ seed: 0 });
      return { trainAndEval: (d) => (trained++, inner.trainAndEval(d)), weights: () => inner.weights(), classes: () => inner.classes() };
    };
    const first = new TCAV(model, ['hidden'], { modelId: 'tiny', saveFolder: folder, classifier: counting() });
    const x = inputs();
    const scores = await first.interpret(x, [[early, late]], { target: 1 });
    expect(trained).toBe(1);
    const file = path.join(folder, 'tiny', '0-1-hidden.json');
    expect(fs.existsSync(file)).toBe(true);
    const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as { conceptIds: number[]; conceptNames: string[]; layer: string };
    expect(saved).toMatchObject({ conceptIds: [0, 1], conceptNames: ['early', 'late'], layer: 'hidden' });

    const loaded = await CAV.load(folder, 'tiny', [early, late], 'hidden');
    expect(loaded?.stats).toEqual(first.cavs['0-1']!.hidden!.stats);
    expect(loaded?.concepts.map((c) => c.name)).toEqual(['early', 'late']);
    expect(await CAV.load(folder, 'tiny', [late, early], 'hidden')).toBeUndefined();

    const second = new TCAV(model, 'hidden', { modelId: 'tiny', saveFolder: folder, classifier: counting() });
    expect(await second.interpret(x, [[early, late]], { target: 1 })).toEqual(scores);
    expect(trained).toBe(1);
    await second.computeCavs([[early, late]], { forceTrain: true });
    expect(trained).toBe(2);
    // Layer names with '/' (ONNX tensor names) are percent-encoded in the file name.
    const onnxLike = new CAV([early, late], '/3/Relu_output_0', { weights: [[1], [-1]], classes: [0, 1] }, 'm');
    expect(await onnxLike.save(folder)).toBe(`${folder}/m/0-1-%2F3%2FRelu_output_0.json`);
    expect((await CAV.load(folder, 'm', [early, late], '/3/Relu_output_0'))?.layer).toBe('/3/Relu_output_0');
    // A saved CAV of another size is refused when scoring.
    const wrong = new TCAV(model, 'hidden', { modelId: 'm2', saveFolder: folder });
    await new CAV([early, late], 'hidden', { weights: [[1, 2], [-1, -2]], classes: [0, 1] }, 'm2').save(folder);
    await expect(wrong.interpret(x, [[early, late]], { target: 1 })).rejects.toThrow(ShapeError);
    x.dispose();
    tf.dispose(made.splice(0));
  });
});

/** A float32 .npy file of `shape`. */
function npy(values: number[], shape: number[]): Uint8Array {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat(64 - ((10 + header.length + 1) % 64)) + '\n';
  const bytes = new Uint8Array(10 + header.length + values.length * 4);
  bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length & 255, header.length >> 8]);
  bytes.set(new TextEncoder().encode(header), 10);
  new DataView(bytes.buffer).setUint32(0, 0); // keep the magic (no-op write for clarity of intent below)
  bytes.set([0x93, 0x4e, 0x55, 0x4d], 0);
  const view = new DataView(bytes.buffer, 10 + header.length);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return bytes;
}

describe('concepts from a folder of .npy files', () => {
  it('reads one example per file, in name order, in batches, and frees the batches it made', async () => {
    const folder = path.join(tmp, 'npy-early');
    fs.mkdirSync(folder);
    for (let i = 0; i < 7; i++) fs.writeFileSync(path.join(folder, `ex${i}.npy`), npy([1, 1, 1, 0, 0, i / 10], [6]));
    fs.writeFileSync(path.join(folder, 'notes.txt'), 'ignored');
    const fromFiles = conceptFromNpyFolder(b, 0, 'early', folder, { batchSize: 3 });
    const shapes: number[][] = [];
    for await (const batch of (fromFiles.dataset as () => AsyncIterable<tf.Tensor>)()) {
      shapes.push(batch.shape);
      if (shapes.length === 3) expect(Array.from(await batch.data())).toEqual([1, 1, 1, 0, 0, 0.6000000238418579]);
      batch.dispose();
    }
    expect(shapes).toEqual([[3, 6], [3, 6], [1, 6]]);
    const tcav = new TCAV(model, 'hidden', { classifier: new RidgeClassifier({ seed: 0, testSplitRatio: 0 }) });
    const x = inputs();
    const before = tf.memory().numTensors;
    const scores = await tcav.interpret(x, [[fromFiles, randoms[1]!]], { target: 0 });
    tf.dispose(made.splice(0));
    expect(tf.memory().numTensors).toBe(before);
    expect(scores['0-3']!.hidden!.signCount).toHaveLength(2);
    expect(tcav.cavs['0-3']!.hidden!.stats.accs).toBe(1);
    x.dispose();
  });

  it('parseNpy reads dtypes and rejects what it cannot read', () => {
    const f = parseNpy(npy([1.5, -2, 3], [3]));
    expect(Array.from(f.data)).toEqual([1.5, -2, 3]);
    expect(f.shape).toEqual([3]);
    expect(() => parseNpy(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]))).toThrow(/NUMPY magic/);
    const big = npy([1], [1]);
    big.set(new TextEncoder().encode("'>f4'"), 19);
    expect(() => parseNpy(big)).toThrow(/little-endian/);
  });

  it('a missing or empty folder is an ArgumentError', async () => {
    const missing = conceptFromNpyFolder(b, 0, 'x', path.join(tmp, 'nope'));
    const tcav = new TCAV(model, 'hidden');
    await expect(tcav.computeCavs([[missing, late]])).rejects.toThrow(/folder: expected a readable folder/);
    fs.mkdirSync(path.join(tmp, 'empty'));
    const empty = conceptFromNpyFolder(b, 9, 'y', path.join(tmp, 'empty'));
    await expect(new TCAV(model, 'hidden').computeCavs([[empty, late]])).rejects.toThrow(/at least one \.npy file/);
    expect(() => conceptFromNpyFolder(b, 0, 'x', tmp, { batchSize: 0 })).toThrow(/batchSize/);
    tf.dispose(made.splice(0));
  });
});

describe('errors', () => {
  it('bad arguments are ArgumentErrors naming the argument, expected and given', async () => {
    expect(() => new Concept(-1, 'x')).toThrow(/id: expected a non-negative integer concept id, got -1/);
    expect(() => new Concept(1, '')).toThrow(ArgumentError);
    expect(() => new Concept(1, 'x', 5 as never)).toThrow(/dataset: expected an array or \(async\) iterable/);
    expect(() => new TCAV(model, [])).toThrow(/layers: expected a layer name or a non-empty array/);
    expect(() => new TCAV(model, ['hidden', 'hidden'])).toThrow(/distinct layer names/);
    expect(() => new TCAV(model, 'hidden', { classifier: {} as never })).toThrow(/classifier: expected a Classifier/);
    expect(() => new TCAV(model, 'hidden', { modelId: 'a/b' })).toThrow(/modelId/);
    expect(() => new TCAV(model, 'hidden', { nSteps: 3 } as never)).toThrow(ArgumentError);
    const tcav = new TCAV(model, 'hidden');
    await expect(tcav.computeCavs([[early]])).rejects.toThrow(/experimentalSets\[0\]: expected an array of at least two Concepts/);
    await expect(tcav.computeCavs([[early, early]])).rejects.toThrow(/concept id 0 twice/);
    await expect(tcav.computeCavs([])).rejects.toThrow(/experimentalSets: expected a non-empty array/);
    const copy = new Concept(0, 'early again', [tf.zeros([1, 6])]);
    await expect(tcav.computeCavs([[early, late], [copy, late]])).rejects.toThrow(/the same Concept instance for id 0/);
    const x = inputs();
    await expect(tcav.interpret(x, [[early, late]], { attributeToLayerInput: true })).rejects.toThrow(/attributeToLayerInput: expected the TCAV constructor option/);
    await expect(new TCAV(model, 'hidden').computeCavs([[new Concept(7, 'none'), late]])).rejects.toThrow(/concept 7 \('none'\): expected a concept with examples/);
    await expect(new TCAV(model, 'hidden').computeCavs([[new Concept(8, 'empty', []), late]])).rejects.toThrow(/expected at least one batch/);
    await expect(new TCAV(model, 'hidden').computeCavs([[new Concept(9, 'bad', [[1, 2]] as never), late]])).rejects.toThrow(/batch 0\[0\]: expected a tfjs/);
    const badWeights: Classifier = { trainAndEval: () => undefined, weights: () => [[1, 2, 3]], classes: () => [0, 1] };
    await expect(new TCAV(model, 'hidden', { classifier: badWeights }).computeCavs([[early, late]])).rejects.toThrow(ShapeError);
    const badClasses: Classifier = { trainAndEval: () => undefined, weights: () => [Array<number>(8).fill(0)], classes: () => [5] };
    await expect(new TCAV(model, 'hidden', { classifier: badClasses }).computeCavs([[early, late]])).rejects.toThrow(/every concept id of the set/);
    const nanWeights: Classifier = { trainAndEval: () => undefined, weights: () => [Array<number>(8).fill(Number.NaN), Array<number>(8).fill(0)], classes: () => [0, 1] };
    await expect(new TCAV(model, 'hidden', { classifier: nanWeights }).computeCavs([[early, late]])).rejects.toThrow(/classifier.weights\(\): expected finite weights/);
    const nanModel = fromTfjs((v: tf.Tensor, ...rest: unknown[]) => tf.mul(net(v, ...rest), Number.NaN));
    await expect(new TCAV(nanModel, 'hidden', { classifier: new RidgeClassifier() }).interpret(x, [[early, late]], { target: 0 })).rejects.toThrow(ModelError);
    await expect(new TCAV(model, 'missing').computeCavs([[early, late]])).rejects.toThrow(/missing/);
    expect(() => tTest([1], [1, 2])).toThrow(/a: expected an array of at least two numbers/);
    expect(() => tTest([1, Number.NaN], [1, 2])).toThrow(/a\[1\]: expected a finite number/);
    expect(tTest([1, 1], [1, 1])).toEqual({ statistic: 0, pValue: 1, df: 2 });
    expect(tTest([2, 2], [1, 1]).pValue).toBe(0);
    x.dispose();
    tf.dispose(copy.dataset as tf.Tensor[]);
    tf.dispose(made.splice(0));
  });
});
