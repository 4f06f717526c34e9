import fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { fromOnnx, HostTensor, type OnnxModel } from '@attribution/onnx';
import { AbortError, ArgumentError, BackendError, ModelError, createRandom } from '@attribution/tensor';
import { fromTfjs } from '@attribution/tfjs';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { symmetricEigen } from '@attribution/core';
import { NaiveInfluenceFunction, SimilarityInfluence, TracInCP, TracInCPFast, TracInCPFastRandProj } from '../src/index.js';

const fixturePath = (file: string): string => new URL(`./fixtures/${file}`, import.meta.url).pathname;
const fixture = JSON.parse(fs.readFileSync(new URL('./fixtures/influence_cases.json', import.meta.url), 'utf8')) as {
  models: Record<string, { checkpoints: { file: string; learningRate: number }[]; train: { x: number[][]; y: number[] }; test: { x: number[][]; y: number[] }; tracincp: { scores: number[][] } }>;
};

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A seeded linear classifier with a wide final layer (64 inputs, 10 classes) as a tfjs function model. */
function wideClassifier(seed: number): { model: ReturnType<typeof fromTfjs>; vars: tf.Variable[]; x: tf.Tensor; y: number[]; xt: tf.Tensor; yt: number[] } {
  const r = createRandom(seed);
  const w = tf.variable(tf.tensor(Array.from({ length: 10 * 64 }, () => r.normal() * 0.3), [10, 64]));
  const b = tf.variable(tf.tensor(Array.from({ length: 10 }, () => r.normal() * 0.1)));
  const fn = (x: tf.Tensor, tap: (n: string, t: tf.Tensor) => tf.Tensor): tf.Tensor => tap('out', tf.add(tf.matMul(tap('features', tf.relu(x)), w, false, true), b));
  const model = fromTfjs(fn, { parameters: { 'out/weight': w, 'out/bias': b } });
  // Examples clustered around one prototype per class, as real data are.
  const prototypes = Array.from({ length: 10 }, () => Array.from({ length: 64 }, () => r.normal()));
  const near = (labels: number[]): tf.Tensor => tf.tensor(labels.flatMap((l) => (prototypes[l] as number[]).map((v) => v + 0.5 * r.normal())), [labels.length, 64]);
  const y = Array.from({ length: 40 }, (_, i) => i % 10);
  const yt = [0, 3, 5, 7, 9, 1];
  return { model, vars: [w, b], x: near(y), y, xt: near(yt), yt };
}

function correlation(a: number[], b: number[]): number {
  const ma = a.reduce((s, v) => s + v, 0) / a.length;
  const mb = b.reduce((s, v) => s + v, 0) / b.length;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  a.forEach((v, i) => {
    sab += (v - ma) * ((b[i] as number) - mb);
    saa += (v - ma) ** 2;
    sbb += ((b[i] as number) - mb) ** 2;
  });
  return sab / Math.sqrt(saa * sbb);
}

describe('TracInCPFastRandProj random projections', () => {
  it('are reproducible per seed, differ across seeds, approximately preserve TracInCPFast scores, and are exact without projection', async () => {
    const m = wideClassifier(3);
    const options = { checkpoints: [{ learningRate: 0.5 }, { learningRate: 1 }], lossFunc: 'cross-entropy' as const, batchSize: 16, finalLayer: { layer: 'features' } };
    const exact = (await new TracInCPFast(m.model, [m.x, m.y], options).influence(m.xt, m.yt)).flat();
    const full = (await new TracInCPFastRandProj(m.model, [m.x, m.y], options).influence(m.xt, m.yt)).flat();
    full.forEach((v, i) => expect(Math.abs(v - (exact[i] as number))).toBeLessThanOrEqual(1e-9 * Math.max(...exact.map(Math.abs))));
    const projected = async (seed: number, projectionDim = 625): Promise<number[]> => (await new TracInCPFastRandProj(m.model, [m.x, m.y], { ...options, projectionDim, seed }).influence(m.xt, m.yt)).flat();
    const a = await projected(1);
    const again = await projected(1);
    const other = await projected(2);
    expect(again).toEqual(a);
    expect(other).not.toEqual(a);
    // 640-dimensional embeddings per checkpoint projected to 10 × 25 (projectionDim 625): scores are approximately
    // preserved. (The 10 output-gradient dimensions are multiplied by a square Gaussian matrix too, as Captum does,
    // which alone adds a relative error of about 1/√10: correlations near 0.9, not 0.99.)
    expect(correlation(a, exact)).toBeGreaterThan(0.8);
    expect(correlation(other, exact)).toBeGreaterThan(0.8);
    // Unbiased: E[P Pᵀ] = I, so the mean over seeds converges to the exact scores; smaller projections (10 × 4) are noisier.
    const mean = new Array<number>(exact.length).fill(0);
    let small = 0;
    let large = 0;
    const seeds = [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14];
    for (const seed of seeds) {
      const p = await projected(seed);
      p.forEach((v, i) => (mean[i] = (mean[i] as number) + v / seeds.length));
      large += correlation(p, exact) / seeds.length;
      small += correlation(await projected(seed, 16), exact) / seeds.length;
    }
    expect(correlation(mean, exact)).toBeGreaterThan(0.97);
    expect(large).toBeGreaterThan(small);
    console.log(`random projections: correlation with TracInCPFast, one seed: ${large.toFixed(3)} (projectionDim 625), ${small.toFixed(3)} (16); mean of ${seeds.length} seeds: ${correlation(mean, exact).toFixed(4)}`);
    // Top-k from the exact search over the kept embeddings agrees with the projected scores.
    const rp = new TracInCPFastRandProj(m.model, [m.x, m.y], { ...options, projectionDim: 400, seed: 1 });
    const top = await rp.influence(m.xt, m.yt, { k: 5 });
    const scores = await rp.influence(m.xt, m.yt);
    top.indices.forEach((row, i) => expect(row).toEqual([...(scores[i] as number[]).keys()].sort((p, q) => (scores[i] as number[])[q]! - (scores[i] as number[])[p]!).slice(0, 5)));
    await expect(rp.selfInfluence()).rejects.toThrow(ArgumentError);
    tf.dispose([m.x, m.xt, ...m.vars]);
  });
});

describe('datasets, loaders and losses', () => {
  it('a checkpoint loader opening one ONNX file at a time and an async dataset of batches give the list results', async () => {
    const c = fixture.models.mlp as (typeof fixture.models)[string];
    const loaded: number[] = [];
    let open = 0;
    const base = await fromOnnx(ort, fixturePath(c.checkpoints[0]!.file));
    const loader = {
      count: c.checkpoints.length,
      async load(i: number) {
        loaded.push(i);
        open++;
        return { model: await fromOnnx(ort, fixturePath(c.checkpoints[i]!.file)), learningRate: c.checkpoints[i]!.learningRate };
      },
      release(_i: number, ck: { model?: OnnxModel }) {
        open--;
        ck.model?.dispose();
      },
    };
    const t = (rows: number[][]): HostTensor => new HostTensor(Float32Array.from(rows.flat()), [rows.length, 4], 'float32');
    async function* batches(): AsyncGenerator<[HostTensor, number[]]> {
      for (let i = 0; i < c.train.x.length; i += 7) yield [t(c.train.x.slice(i, i + 7)), c.train.y.slice(i, i + 7)];
    }
    const tr = new TracInCP(base, () => batches(), { checkpoints: loader, lossFunc: 'cross-entropy' });
    const scores = await tr.influence(t(c.test.x), c.test.y);
    const want = c.tracincp.scores.flat();
    const scale = Math.max(...want.map(Math.abs));
    scores.flat().forEach((v, i) => expect(Math.abs(v - (want[i] as number))).toBeLessThanOrEqual(1e-4 * scale));
    expect(loaded).toEqual([0, 1]);
    expect(open).toBe(0);
    // The loader alone, as the first argument: every checkpoint brings its model; the backend comes from the first.
    const alone = new TracInCP(loader, () => batches(), { lossFunc: 'cross-entropy' });
    expect(await alone.selfInfluence()).toHaveLength(c.train.x.length);
    const fastAlone = await new TracInCPFast(loader, () => batches(), { lossFunc: 'cross-entropy' }).influence(t(c.test.x), c.test.y);
    const fastWithModel = await new TracInCPFast(base, () => batches(), { checkpoints: loader, lossFunc: 'cross-entropy' }).influence(t(c.test.x), c.test.y);
    expect(fastAlone).toEqual(fastWithModel);
    expect(open).toBe(0);
    expect(() => new TracInCP(loader, () => batches(), { checkpoints: loader, lossFunc: 'cross-entropy' })).toThrow(/options\.checkpoints: expected no value when the checkpoints are the first argument/);
    await expect(new TracInCP([{ learningRate: 1 }], () => batches(), { lossFunc: 'cross-entropy' }).selfInfluence()).rejects.toThrow(/checkpoints\[0\]\.model: expected a Model .*without a model to fall back on/);
    // A generator object can be read once only: refused.
    expect(() => new TracInCP(base, batches(), { checkpoints: loader, lossFunc: 'cross-entropy' })).toThrow(/traversed several times/);
    base.dispose();
  });

  it('a user loss with its gradient equals the built-in cross-entropy; without it, central differences come close', async () => {
    const c = fixture.models.linear as (typeof fixture.models)[string];
    const model = await fromOnnx(ort, fixturePath(c.checkpoints[2]!.file));
    const x = new HostTensor(Float32Array.from(c.train.x.flat()), [c.train.x.length, 4], 'float32');
    const xt = new HostTensor(Float32Array.from(c.test.x.flat()), [c.test.x.length, 4], 'float32');
    const ce = (row: readonly number[], y: unknown): number => {
      const m = Math.max(...row);
      return Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0)) + m - (row[y as number] as number);
    };
    const ceGrad = (row: readonly number[], y: unknown): number[] => {
      const m = Math.max(...row);
      const z = row.reduce((s, v) => s + Math.exp(v - m), 0);
      return row.map((v, j) => Math.exp(v - m) / z - (j === y ? 1 : 0));
    };
    const run = async (lossFunc: unknown): Promise<number[][]> => new TracInCP(model, [x, c.train.y], { checkpoints: [{ learningRate: 0.25 }], lossFunc: lossFunc as 'mse' }).influence(xt, c.test.y);
    const builtin = (await run('cross-entropy')).flat();
    const withGradient = (await run({ loss: ce, gradient: ceGrad })).flat();
    const scale = Math.max(...builtin.map(Math.abs));
    withGradient.forEach((v, i) => expect(Math.abs(v - (builtin[i] as number))).toBeLessThanOrEqual(1e-6 * scale));
    const naive = async (lossFunc: unknown): Promise<number[]> => (await new NaiveInfluenceFunction(model, [x, c.train.y], { lossFunc: lossFunc as 'mse', hessianReg: 1e-3 }).influence(xt, c.test.y)).flat();
    const exact = await naive('cross-entropy');
    const fd = await naive(ce);
    const s2 = Math.max(...exact.map(Math.abs));
    fd.forEach((v, i) => expect(Math.abs(v - (exact[i] as number))).toBeLessThanOrEqual(1e-3 * s2));
    model.dispose();
  });

  it('cosine similarity flags zero activation vectors and follows Captum’s replace_nan construction', async () => {
    const w = tf.variable(tf.tensor([[1, 0], [0, 1], [1, 1]]));
    const fn = (x: tf.Tensor, tap: (n: string, t: tf.Tensor) => tf.Tensor): tf.Tensor => tap('h', tf.matMul(x, w, false, true));
    const model = fromTfjs(fn, { parameters: { 'h/weight': w } });
    const train = tf.tensor([[1, 0], [0, 0], [1, 2]]);
    const test = tf.tensor([[1, 1]]);
    const r = (await new SimilarityInfluence(model, 'h', train).influence(test, { topK: 3 })).h!;
    // Train activations [1,0,1], [0,0,0], [1,2,3]; test [1,1,2]. The zero row becomes [−2,−2,−2] before the dot product.
    const unit = [1, 1, 2].map((v) => v / Math.sqrt(6));
    expect(r.indices[0]).toEqual([2, 0, 1]);
    expect(r.similarities[0]![2]).toBeCloseTo(-2 * (unit[0]! + unit[1]! + unit[2]!), 6);
    expect(r.zeroActivations).toEqual([[0, 1]]);
    const e = (await new SimilarityInfluence(model, ['h'], train, { similarityMetric: 'euclidean', similarityDirection: 'min' }).influence(test, { topK: 1 })).h!;
    expect(e.indices).toEqual([[0]]);
    expect(e.similarities[0]![0]).toBeCloseTo(Math.sqrt(0 + 1 + 1), 6);
    // additionalForwardArgs reach the test examples' forward pass only (as Captum's LayerActivation call).
    const scaledFn = (x: tf.Tensor, ...rest: unknown[]): tf.Tensor => {
      const tap = rest.at(-1) as (n: string, t: tf.Tensor) => tf.Tensor;
      const s = rest.length > 1 ? (rest[0] as number) : 1;
      return tap('h', tf.mul(tf.matMul(x, w, false, true), s));
    };
    const scaled = fromTfjs(scaledFn, { parameters: { 'h/weight': w } });
    const plain = (await new SimilarityInfluence(scaled, 'h', train, { similarityMetric: 'euclidean', similarityDirection: 'min' }).influence(test, { topK: 1 })).h!;
    const tripled = (await new SimilarityInfluence(scaled, 'h', train, { similarityMetric: 'euclidean', similarityDirection: 'min' }).influence(test, { topK: 1, additionalForwardArgs: [3] })).h!;
    expect(plain.similarities[0]![0]).toBeCloseTo(Math.sqrt(2), 6);
    // Test activations [3,3,6]: nearest is [1,2,3] at √(4 + 1 + 9).
    expect(tripled.indices).toEqual([[2]]);
    expect(tripled.similarities[0]![0]).toBeCloseTo(Math.sqrt(14), 5);
    tf.dispose([w, train, test]);
  });
});

describe('symmetricEigen', () => {
  it('diagonalises a symmetric matrix: A v = λ v, ascending', () => {
    const r = createRandom(5);
    const n = 7;
    const b = Array.from({ length: n * n }, () => r.normal());
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] = (b[i * n + j]! + b[j * n + i]!) / 2;
    const { values, vectors } = symmetricEigen(a, n);
    for (let k = 1; k < n; k++) expect(values[k]!).toBeGreaterThanOrEqual(values[k - 1]!);
    for (let k = 0; k < n; k++) {
      for (let i = 0; i < n; i++) {
        let av = 0;
        for (let j = 0; j < n; j++) av += a[i * n + j]! * vectors[j * n + k]!;
        expect(Math.abs(av - values[k]! * vectors[i * n + k]!)).toBeLessThan(1e-10);
      }
    }
  });
});

describe('bad input', () => {
  it('names the argument, what was expected and what was given', async () => {
    const m = wideClassifier(1);
    const data = [m.x, m.y];
    const ck = [{ learningRate: 1 }];
    expect(() => new TracInCP(m.model, data, { checkpoints: ck } as never)).toThrow(ArgumentError);
    expect(() => new TracInCP(m.model, data, { checkpoints: ck } as never)).toThrow(/options\.lossFunc.*'cross-entropy'/);
    expect(() => new TracInCP(m.model, data, { checkpoints: [], lossFunc: 'cross-entropy' })).toThrow(/options\.checkpoints: expected at least one checkpoint/);
    expect(() => new TracInCP(m.model, data, { checkpoints: ck, lossFunc: 'cross-entropy', batchSize: 0 })).toThrow(/options\.batchSize: expected a positive integer/);
    expect(() => new TracInCP(m.model, data, { checkpoints: ck, lossFunc: 'cross-entropy', batchsize: 4 } as never)).toThrow(/batchSize/);
    expect(() => new TracInCP(m.model, data, { checkpoints: ck, lossFunc: 'hinge' as never })).toThrow(ArgumentError);
    expect(() => new TracInCP(m.model, 42, { checkpoints: ck, lossFunc: 'cross-entropy' })).toThrow(/trainDataset/);
    const bad = new TracInCP(m.model, data, { checkpoints: ck, lossFunc: 'cross-entropy', layers: ['outt'] });
    await expect(bad.influence(m.xt, m.yt)).rejects.toThrow(/options\.layers: expected .*'out'/);
    const tr = new TracInCP(m.model, data, { checkpoints: ck, lossFunc: 'cross-entropy' });
    await expect(tr.influence(m.xt, m.yt, { k: 0 })).rejects.toThrow(/options\.k: expected a positive integer/);
    await expect(tr.influence(m.xt, m.yt, { proponents: 'yes' as never })).rejects.toThrow(/options\.proponents/);
    await expect(tr.influence('x' as never, m.yt)).rejects.toThrow(/inputs: expected a tfjs-cpu tensor/);
    await expect(tr.influence(m.xt, [1, 2])).rejects.toThrow(ArgumentError);
    const lr = new TracInCP(m.model, data, { checkpoints: [{ learningRate: Number.NaN }], lossFunc: 'cross-entropy' });
    await expect(lr.selfInfluence()).rejects.toThrow(/checkpoints\[0\]\.learningRate: expected a finite number/);
    const aborted = new AbortController();
    aborted.abort();
    await expect(tr.influence(m.xt, m.yt, { signal: aborted.signal })).rejects.toThrow(AbortError);
    const neg = new TracInCPFastRandProj(m.model, data, { checkpoints: [{ learningRate: -1 }], lossFunc: 'cross-entropy', finalLayer: { layer: 'features' } });
    await expect(neg.influence(m.xt, m.yt)).rejects.toThrow(/learningRate: expected a non-negative learning rate/);
    expect(() => new TracInCPFast(m.model, data, { checkpoints: ck, lossFunc: 'cross-entropy', finalLayer: 3 as never })).toThrow(/options\.finalLayer/);
    // A function model has no layer inputs to read: the final layer's input must be tapped.
    await expect(new TracInCPFast(m.model, data, { checkpoints: ck, lossFunc: 'cross-entropy' }).influence(m.xt, m.yt)).rejects.toThrow(/the output of a tapped layer/);
    expect(() => new TracInCPFastRandProj(m.model, data, { checkpoints: ck, lossFunc: 'cross-entropy', projectionDim: 0 })).toThrow(/projectionDim/);
    const big = new NaiveInfluenceFunction(m.model, data, { lossFunc: 'cross-entropy', maxParameters: 100 });
    await expect(big.influence(m.xt, m.yt)).rejects.toThrow(/at most 100 values .*650 values/);
    const none = new NaiveInfluenceFunction(m.model, data, { lossFunc: 'cross-entropy', layers: ['out/bias'], hessianReg: 0, hessianInverseTol: 1e9 });
    await expect(none.selfInfluence()).rejects.toThrow(ModelError);
    expect(() => new SimilarityInfluence(m.model, 'out', m.x, { similarityDirection: 'up' as never })).toThrow(/similarityDirection: expected 'max' or 'min'/);
    expect(() => new SimilarityInfluence(m.model, [], m.x)).toThrow(/layers/);
    expect(() => new SimilarityInfluence(m.model, 'out', m.x, { similarityMetric: 'euclidean', replaceNan: 1 })).toThrow(/replaceNan/);
    const wrong = new SimilarityInfluence(m.model, 'out', m.x, { similarityMetric: () => [[1]] });
    await expect(wrong.influence(m.xt)).rejects.toThrow(/similarityMetric: expected a function returning 6 rows/);
    const ctor = new Function('m', 'return new m()') as (m: unknown) => unknown;
    expect(() => ctor(class extends TracInCP<tf.Tensor> { constructor() { super(null as never, data, { checkpoints: ck, lossFunc: 'mse' }); } })).toThrow(/model: expected a Model/);
    expect(BackendError).toBeDefined();
    tf.dispose([m.x, m.xt, ...m.vars]);
  });
});

describe('tensor ownership', () => {
  it('leaks no tfjs tensor in any method, success or failure', async () => {
    const m = wideClassifier(2);
    const data = [m.x, m.y];
    const before = tf.memory().numTensors;
    const ck = [{ learningRate: 0.5 }, { learningRate: 1 }];
    const opts = { checkpoints: ck, lossFunc: 'cross-entropy' as const, batchSize: 7 };
    const tr = new TracInCP(m.model, data, { ...opts, layers: ['out'] });
    await tr.influence(m.xt, m.yt);
    await tr.influence(m.xt, m.yt, { k: 2 });
    await tr.selfInfluence();
    await new TracInCPFast(m.model, data, { ...opts, finalLayer: { layer: 'features' } }).influence(m.xt, m.yt, { k: 3 });
    await new TracInCPFast(m.model, data, { ...opts, finalLayer: { layer: 'features' } }).selfInfluence([m.xt, m.yt]);
    await new TracInCPFastRandProj(m.model, data, { ...opts, finalLayer: { layer: 'features' }, projectionDim: 64 }).influence(m.xt, m.yt);
    const nif = new NaiveInfluenceFunction(m.model, data, { lossFunc: 'cross-entropy', layers: ['out/bias'], batchSize: 9 });
    await nif.influence(m.xt, m.yt, { k: 2 });
    await nif.selfInfluence();
    await new SimilarityInfluence(m.model, ['features', 'out'], m.x, { batchSize: 6 }).influence(m.xt, { topK: 2 });
    await expect(tr.influence(m.xt, [1, 2])).rejects.toThrow();
    await expect(new TracInCP(m.model, data, { ...opts, layers: ['nope'] }).influence(m.xt, m.yt)).rejects.toThrow();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([m.x, m.xt, ...m.vars]);
  });
});
