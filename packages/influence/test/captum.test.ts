import fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { fromOnnx, HostTensor, type OnnxTensor } from '@attribution/onnx';
import type { Model } from '@attribution/tensor';
import { fromTfjs } from '@attribution/tfjs';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NaiveInfluenceFunction, SimilarityInfluence, TracInCP, TracInCPFast, TracInCPFastRandProj, type Checkpoints, type KMostInfluential } from '../src/index.js';

// Captum 0.8's captum.influence on three small models (fixtures/make_influence_cases.py): every class, every case,
// on TensorFlow.js (cpu; function models whose weights are swapped per checkpoint by a loader), onnxruntime-node
// and onnxruntime-web (one ONNX file per checkpoint).

interface TopK {
  indices: number[][];
  scores: number[][];
}
interface Case {
  loss: 'cross-entropy' | 'mse';
  nIn: number;
  nOut: number;
  batchSize: number;
  finalLayer: string;
  checkpoints: { file: string; learningRate: number; weights: Record<string, number[] | number[][]> }[];
  train: { x: number[][]; y: number[] | number[][] };
  test: { x: number[][]; y: number[] | number[][] };
  tracincp: { layers: string[] | null; scores: number[][]; proponents: TopK; opponents: TopK; selfInfluence: number[]; testSelfInfluence: number[] };
  tracincpFinal: Case['tracincp'];
  tracincpFast: { scores: number[][]; proponents: TopK; opponents: TopK; selfInfluence: number[] };
  tracincpFastRandProj: { scores: number[][]; proponents: TopK; opponents: TopK };
  naive: Record<string, { projectionDim: number; hessianReg: number; scores: number[][]; proponents: TopK; selfInfluence: number[] }>;
  testLoss?: { tracincp: number[][]; tracincpFast: number[][] };
  naiveAllParameters?: { captum: number[][]; gaussNewton: number[][] };
  similarity: { layers: string[]; batchSize: number; topK: number; results: Record<string, Record<string, { indices: number[][]; similarities: number[][] }>> };
}
const fixture = JSON.parse(fs.readFileSync(new URL('./fixtures/influence_cases.json', import.meta.url), 'utf8')) as { models: Record<string, Case> };
const fixturePath = (file: string): string => new URL(`./fixtures/${file}`, import.meta.url).pathname;

let worst = 0;
/** |got − want| ≤ 1e-4 · max |want| over the whole result (float32 runs against float64 Captum). */
function expectClose(got: readonly (readonly number[])[] | readonly number[], want: readonly (readonly number[])[] | readonly number[], what: string, tol = 1e-4): void {
  const g = (got as unknown[]).flat() as number[];
  const w = (want as unknown[]).flat() as number[];
  expect(g.length, `${what}: length`).toBe(w.length);
  const scale = Math.max(1e-12, ...w.map(Math.abs));
  let max = 0;
  g.forEach((v, i) => {
    expect(Number.isFinite(v), `${what}[${i}] finite`).toBe(true);
    max = Math.max(max, Math.abs(v - (w[i] as number)));
  });
  worst = Math.max(worst, max / scale);
  expect(max / scale, `${what}: max relative difference`).toBeLessThanOrEqual(tol);
}

function expectTopK(got: KMostInfluential, want: TopK, what: string): void {
  expectClose(got.influenceScores, want.scores, `${what} scores`);
  // Indices equal, except where Captum's scores tie (then either order is right).
  got.indices.forEach((row, i) =>
    row.forEach((j, r) => {
      const w = (want.indices[i] as number[])[r] as number;
      if (j !== w) expect(Math.abs(((want.scores[i] as number[])[r] as number) - ((got.influenceScores[i] as number[])[r] as number)), `${what} [${i}][${r}] ${j} vs ${w}`).toBeLessThan(1e-6);
    }),
  );
}

/** What a backend brings: tensors, and the checkpoints of a case. */
interface Harness<T> {
  readonly name: string;
  tensor(values: number[] | number[][], shape: number[], dtype?: 'float32' | 'int32'): T;
  checkpoints(name: string, c: Case): Promise<{ model: Model<T>; checkpoints: Checkpoints<T>; last: Model<T>; dispose(): void }>;
  readonly finalLayer: (c: Case) => string | { layer: string } | undefined;
  readonly simLayer: (layer: string) => string;
  readonly paramLayer: (layer: string) => string;
  dispose(ts: T[]): void;
}

function onnxHarness(ort: typeof ortNode, name: string): Harness<OnnxTensor> {
  return {
    name,
    tensor: (values, shape) => new HostTensor(Float32Array.from((values as number[][]).flat()), shape, 'float32'),
    async checkpoints(_n, c) {
      const models = await Promise.all(c.checkpoints.map((k) => fromOnnx(ort, fixturePath(k.file))));
      return {
        model: models[0] as Model<OnnxTensor>,
        // One ONNX file per checkpoint (behaviour.test.ts opens them one at a time with a loader).
        checkpoints: models.map((m, i) => ({ model: m, learningRate: (c.checkpoints[i] as { learningRate: number }).learningRate })),
        last: models.at(-1) as Model<OnnxTensor>,
        dispose: () => models.forEach((m) => m.dispose()),
      };
    },
    finalLayer: () => undefined,
    simLayer: (layer) => `/${layer}/Gemm`,
    paramLayer: (layer) => layer,
    dispose: () => undefined,
  };
}

/** The case's network as a tfjs function model reading tf.Variables, weights swapped in per checkpoint. */
function tfjsNet(c: Case): { fn: (x: tf.Tensor, tap: (n: string, t: tf.Tensor) => tf.Tensor) => tf.Tensor; vars: Record<string, tf.Variable>; set(i: number): void } {
  const first = (c.checkpoints[0] as Case['checkpoints'][number]).weights;
  const vars: Record<string, tf.Variable> = {};
  for (const [k, v] of Object.entries(first)) vars[k.replace('.', '/')] = tf.variable(tf.tensor(v as number[]));
  const mlp = 'fc2/weight' in vars;
  const fn = (x: tf.Tensor, tap: (n: string, t: tf.Tensor) => tf.Tensor): tf.Tensor => {
    const dense = (name: string, h: tf.Tensor): tf.Tensor => tf.add(tf.matMul(h, vars[`${name}/weight`] as tf.Tensor, false, true), vars[`${name}/bias`] as tf.Tensor);
    if (!mlp) return tap('fc', dense('fc', tap('x', tf.mul(x, 1))));
    const h = tap('fc1', dense('fc1', x));
    const a = tap('act', c.loss === 'mse' ? tf.tanh(h) : tf.relu(h));
    return tap('fc2', dense('fc2', a));
  };
  return {
    fn,
    vars,
    set(i) {
      for (const [k, v] of Object.entries((c.checkpoints[i] as Case['checkpoints'][number]).weights)) {
        const t = tf.tensor(v as number[]);
        (vars[k.replace('.', '/')] as tf.Variable).assign(t);
        t.dispose();
      }
    },
  };
}

const tfjsHarness: Harness<tf.Tensor> = {
  name: 'tfjs-cpu',
  tensor: (values, shape, dtype) => tf.tensor(values as number[], shape, dtype ?? 'float32'),
  async checkpoints(_n, c) {
    const net = tfjsNet(c);
    const model = fromTfjs(net.fn, { parameters: net.vars });
    return {
      model,
      // One model; the loader swaps each checkpoint's weights into its variables.
      checkpoints: {
        count: c.checkpoints.length,
        load: (i: number) => {
          net.set(i);
          return { learningRate: (c.checkpoints[i] as { learningRate: number }).learningRate };
        },
      },
      get last() {
        net.set(c.checkpoints.length - 1);
        return model;
      },
      dispose: () => Object.values(net.vars).forEach((v) => v.dispose()),
    };
  },
  finalLayer: (c) => ({ layer: c.finalLayer === 'fc' ? 'x' : 'act' }),
  simLayer: (layer) => layer,
  paramLayer: (layer) => layer,
  dispose: (ts) => tf.dispose(ts),
};

function suite<T>(h: Harness<T>): void {
  describe(`captum.influence cases on ${h.name}`, () => {
    for (const [name, c] of Object.entries(fixture.models)) {
      const loss = c.loss;
      const labels = (y: number[] | number[][]): unknown => (loss === 'mse' ? h.tensor(y as number[][], [y.length, c.nOut]) : y);

      it(`${name}: TracInCP (all parameters, final layer), TracInCPFast, TracInCPFastRandProj, NaiveInfluenceFunction, SimilarityInfluence`, async () => {
        const ck = await h.checkpoints(name, c);
        const xTrain = h.tensor(c.train.x, [c.train.x.length, c.nIn]);
        const yTrain = labels(c.train.y);
        const xTest = h.tensor(c.test.x, [c.test.x.length, c.nIn]);
        const yTest = labels(c.test.y);
        const owned = [xTrain, xTest, ...[yTrain, yTest].filter((y) => !Array.isArray(y))] as T[];
        try {
          const train = [xTrain, yTrain];
          for (const key of ['tracincp', 'tracincpFinal'] as const) {
            const want = c[key];
            const tr = new TracInCP(ck.model, train, {
              checkpoints: ck.checkpoints,
              lossFunc: loss,
              batchSize: c.batchSize,
              ...(want.layers ? { layers: want.layers.map(h.paramLayer) } : {}),
            });
            expectClose(await tr.influence(xTest, yTest), want.scores, `${name} ${key} scores`);
            expectTopK(await tr.influence(xTest, yTest, { k: 3 }), want.proponents, `${name} ${key} proponents`);
            expectTopK(await tr.influence(xTest, yTest, { k: 3, proponents: false }), want.opponents, `${name} ${key} opponents`);
            expectClose(await tr.selfInfluence(), want.selfInfluence, `${name} ${key} self influence`);
            expectClose(await tr.selfInfluence([xTest, yTest]), want.testSelfInfluence, `${name} ${key} test self influence`);
          }

          if (c.testLoss) {
            // Captum's test_loss_fn=NLLLoss on the raw outputs: −output[label], a user loss here.
            const score = { loss: (row: readonly number[], y: unknown) => -(row[y as number] as number), gradient: (row: readonly number[], y: unknown) => row.map((_, j) => (j === y ? -1 : 0)) };
            const tr = new TracInCP(ck.model, train, { checkpoints: ck.checkpoints, lossFunc: loss, testLossFunc: score, batchSize: c.batchSize });
            expectClose(await tr.influence(xTest, yTest), c.testLoss.tracincp, `${name} tracincp test loss`);
            const fl = h.finalLayer(c);
            const fast = new TracInCPFast(ck.model, train, { checkpoints: ck.checkpoints, lossFunc: loss, testLossFunc: score, batchSize: c.batchSize, ...(fl ? { finalLayer: fl } : {}) });
            expectClose(await fast.influence(xTest, yTest), c.testLoss.tracincpFast, `${name} fast test loss`);
          }

          const finalLayer = h.finalLayer(c);
          const fastOptions = { checkpoints: ck.checkpoints, lossFunc: loss, batchSize: c.batchSize, ...(finalLayer ? { finalLayer } : {}) };
          const fast = new TracInCPFast(ck.model, train, fastOptions);
          expectClose(await fast.influence(xTest, yTest), c.tracincpFast.scores, `${name} fast scores`);
          expectTopK(await fast.influence(xTest, yTest, { k: 4 }), c.tracincpFast.proponents, `${name} fast proponents`);
          expectTopK(await fast.influence(xTest, yTest, { k: 4, proponents: false }), c.tracincpFast.opponents, `${name} fast opponents`);
          expectClose(await fast.selfInfluence(), c.tracincpFast.selfInfluence, `${name} fast self influence`);

          const rp = new TracInCPFastRandProj(ck.model, train, fastOptions);
          expectClose(await rp.influence(xTest, yTest), c.tracincpFastRandProj.scores, `${name} rand-proj scores`);
          expectTopK(await rp.influence(xTest, yTest, { k: 3 }), c.tracincpFastRandProj.proponents, `${name} rand-proj proponents`);
          expectTopK(await rp.influence(xTest, yTest, { k: 3, proponents: false }), c.tracincpFastRandProj.opponents, `${name} rand-proj opponents`);

          const last = ck.last;
          for (const [key, want] of Object.entries(c.naive)) {
            const nif = new NaiveInfluenceFunction(last, train, {
              layers: [h.paramLayer(c.finalLayer)],
              lossFunc: loss,
              batchSize: c.batchSize,
              projectionDim: want.projectionDim,
              hessianReg: want.hessianReg,
            });
            expectClose(await nif.influence(xTest, yTest), want.scores, `${name} naive ${key} scores`);
            expectTopK(await nif.influence(xTest, yTest, { k: 3 }), want.proponents, `${name} naive ${key} proponents`);
            expectClose(await nif.selfInfluence(), want.selfInfluence, `${name} naive ${key} self influence`);
          }

          if (c.naiveAllParameters) {
            // Every parameter: refused by default (the assembled Hessian is not exact there); with hessian:
            // 'gauss-newton', the Gauss–Newton influence computed by PyTorch (not Captum's exact-Hessian numbers).
            const all = { lossFunc: loss, batchSize: c.batchSize, projectionDim: 100, hessianReg: 1e-3 } as const;
            await expect(new NaiveInfluenceFunction(last, train, { ...all, layers: ['fc1', 'fc2'].map(h.paramLayer) }).influence(xTest, yTest)).rejects.toThrow(/options\.layers: expected parameters of the model's last layer only.*gauss-newton/s);
            const ggn = await new NaiveInfluenceFunction(last, train, { ...all, hessian: 'gauss-newton' }).influence(xTest, yTest);
            expectClose(ggn, c.naiveAllParameters.gaussNewton, `${name} naive all parameters, Gauss–Newton`);
          }

          for (const [key, want] of Object.entries(c.similarity.results)) {
            const [metric, direction] = key.split('-') as ['cosine' | 'euclidean', 'max' | 'min'];
            const si = new SimilarityInfluence(last, c.similarity.layers.map(h.simLayer), xTrain, { similarityMetric: metric, similarityDirection: direction, batchSize: c.similarity.batchSize });
            const got = await si.influence(xTest, { topK: c.similarity.topK });
            for (const layer of c.similarity.layers) {
              const w = want[layer] as { indices: number[][]; similarities: number[][] };
              const g = got[h.simLayer(layer)];
              expect(g, `${name} similarity ${key} ${layer}`).toBeDefined();
              expectTopK({ indices: g?.indices ?? [], influenceScores: g?.similarities ?? [] }, { indices: w.indices, scores: w.similarities }, `${name} similarity ${key} ${layer}`);
            }
          }
        } finally {
          h.dispose(owned);
          ck.dispose();
        }
      });
    }
  });
}

suite(onnxHarness(ortNode, 'onnxruntime-node'));
suite(onnxHarness(ortWeb as unknown as typeof ortNode, 'onnxruntime-web'));
describe('tfjs', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });
  suite(tfjsHarness);
});

afterAll(() => {
  // The largest relative difference met, for the report.
  console.log(`influence: max |diff| / max |Captum| over every comparison: ${worst.toExponential(2)}`);
});

describe('captum.influence cases on a tf.LayersModel (weights set per checkpoint with setWeights)', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });
  for (const name of ['mlp', 'linear'] as const) {
    it(`${name}: TracInCP, TracInCPFast (final layer found from the model), NaiveInfluenceFunction, SimilarityInfluence`, async () => {
      const c = fixture.models[name] as Case;
      const mlp = name === 'mlp';
      const net = tf.sequential({
        layers: mlp
          ? [tf.layers.dense({ inputShape: [c.nIn], units: 6, name: 'fc1' }), tf.layers.activation({ activation: 'relu', name: 'act' }), tf.layers.dense({ units: c.nOut, name: 'fc2' })]
          : [tf.layers.dense({ inputShape: [c.nIn], units: c.nOut, name: 'fc' })],
      });
      // PyTorch's Linear weight is [out, in]; a Dense kernel is [in, out].
      const setCheckpoint = (i: number): void => {
        const w = (c.checkpoints[i] as Case['checkpoints'][number]).weights;
        const values = (mlp ? ['fc1', 'fc2'] : ['fc']).flatMap((l) => [tf.transpose(tf.tensor(w[`${l}.weight`] as number[][])), tf.tensor(w[`${l}.bias`] as number[])]);
        net.setWeights(values);
        tf.dispose(values);
      };
      const model = fromTfjs(net);
      const checkpoints = { count: c.checkpoints.length, load: (i: number) => (setCheckpoint(i), { learningRate: (c.checkpoints[i] as { learningRate: number }).learningRate }) };
      const xTrain = tf.tensor(c.train.x);
      const yTrain = tf.tensor(c.train.y as number[], undefined, 'int32');
      const xTest = tf.tensor(c.test.x);
      const yTest = tf.tensor(c.test.y as number[], undefined, 'int32');
      const train = [xTrain, yTrain];
      const tr = new TracInCP(model, train, { checkpoints, lossFunc: 'cross-entropy', batchSize: c.batchSize });
      expectClose(await tr.influence(xTest, yTest), c.tracincp.scores, `${name} LayersModel tracincp`);
      expectClose(await tr.selfInfluence(), c.tracincp.selfInfluence, `${name} LayersModel self influence`);
      const final = new TracInCP(model, train, { checkpoints, lossFunc: 'cross-entropy', batchSize: c.batchSize, layers: [c.finalLayer] });
      expectClose(await final.influence(xTest, yTest), c.tracincpFinal.scores, `${name} LayersModel tracincp final layer`);
      const fast = new TracInCPFast(model, train, { checkpoints, lossFunc: 'cross-entropy', batchSize: c.batchSize });
      expectTopK(await fast.influence(xTest, yTest, { k: 4 }), c.tracincpFast.proponents, `${name} LayersModel fast`);
      setCheckpoint(c.checkpoints.length - 1);
      const want = c.naive.full as Case['naive'][string];
      // No layers: the last layer's parameters by default.
      const nif = new NaiveInfluenceFunction(model, train, { lossFunc: 'cross-entropy', hessianReg: want.hessianReg });
      expectClose(await nif.influence(xTest, yTest), want.scores, `${name} LayersModel naive`);
      const sims = await new SimilarityInfluence(model, c.similarity.layers, xTrain, { batchSize: 5 }).influence(xTest, { topK: 4 });
      for (const layer of c.similarity.layers) {
        const w = (c.similarity.results['cosine-max'] as Record<string, { indices: number[][]; similarities: number[][] }>)[layer] as { indices: number[][]; similarities: number[][] };
        expectTopK({ indices: sims[layer]?.indices ?? [], influenceScores: sims[layer]?.similarities ?? [] }, { indices: w.indices, scores: w.similarities }, `${name} LayersModel similarity ${layer}`);
      }
      tf.dispose([xTrain, yTrain, xTest, yTest]);
      net.dispose();
    });
  }
});
