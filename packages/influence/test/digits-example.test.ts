import fs from 'node:fs';
import { fromOnnx, HostTensor } from '@attribution/onnx';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { NaiveInfluenceFunction, SimilarityInfluence, TracInCP, TracInCPFast } from '../src/index.js';

// The worked example of docs/influence.md: the repository's digits CNN (scikit-learn 8×8 digits), its 40 sample
// digits split into 32 "training" digits and 8 queries. Which training digits are most responsible for each query's
// prediction? The model has one checkpoint (its final weights), so TracIn here is the gradient similarity at the end
// of training (learning rate 1).
const real = (f: string): string => new URL(`../../conformance/fixtures/real/${f}`, import.meta.url).pathname;
const samples = JSON.parse(fs.readFileSync(real('digits_cnn.samples.json'), 'utf8')) as { images: number[][]; labels: number[] };

describe('worked example: the training digits most responsible for a prediction', () => {
  it('finds proponents of the predicted class and opponents of other classes, on the digits CNN', async () => {
    const model = await fromOnnx(ort, real('digits_cnn.onnx'));
    const images = (rows: number[][]): HostTensor => new HostTensor(Float32Array.from(rows.flat()), [rows.length, 1, 8, 8], 'float32');
    const xTrain = images(samples.images.slice(0, 32));
    const yTrain = samples.labels.slice(0, 32);
    const xTest = images(samples.images.slice(32));
    const yTest = samples.labels.slice(32);

    const t0 = performance.now();
    const tracin = new TracInCP(model, [xTrain, yTrain], { checkpoints: [{ learningRate: 1 }], lossFunc: 'cross-entropy', batchSize: 16 });
    const pro = await tracin.influence(xTest, yTest, { k: 3 });
    const opp = await tracin.influence(xTest, yTest, { k: 3, proponents: false });
    const t1 = performance.now();
    // The class score instead of the loss: −logit[label] (gradient −1 at the label), which does not vanish once fit.
    const logit = { loss: (row: readonly number[], y: unknown) => -(row[y as number] as number), gradient: (row: readonly number[], y: unknown) => row.map((_, j) => (j === y ? -1 : 0)) };
    const tracinLogit = new TracInCP(model, [xTrain, yTrain], { checkpoints: [{ learningRate: 1 }], lossFunc: logit, batchSize: 16 });
    const proLogit = await tracinLogit.influence(xTest, yTest, { k: 3 });
    const selfInf = await tracin.selfInfluence();
    const hardest = selfInf.map((v, j) => [v, j] as const).sort((a, b) => b[0] - a[0]).slice(0, 4);
    console.log('highest self influence (cross-entropy):', hardest.map(([v, j]) => `#${j} (label ${yTrain[j]}): ${v.toExponential(2)}`).join(', '));
    const fast = await new TracInCPFast(model, [xTrain, yTrain], { checkpoints: [{ learningRate: 1 }], lossFunc: 'cross-entropy' }).influence(xTest, yTest, { k: 3 });
    const t2 = performance.now();
    const sim = await new SimilarityInfluence(model, '/3/Relu_output_0', xTrain).influence(xTest, { topK: 3 });
    const t3 = performance.now();
    const nif = await new NaiveInfluenceFunction(model, [xTrain, yTrain], { layers: ['8.bias'], lossFunc: 'cross-entropy', hessianReg: 1e-3 }).influence(xTest, yTest, { k: 3 });
    const t4 = performance.now();

    const rows = yTest.map((y, i) => ({
      query: `#${32 + i} (label ${y})`,
      tracinProponents: (pro.indices[i] as number[]).map((j) => `${j}:${yTrain[j]}`).join(' '),
      logitProponents: (proLogit.indices[i] as number[]).map((j) => `${j}:${yTrain[j]}`).join(' '),
      tracinOpponents: (opp.indices[i] as number[]).map((j) => `${j}:${yTrain[j]}`).join(' '),
      fastProponents: (fast.indices[i] as number[]).map((j) => `${j}:${yTrain[j]}`).join(' '),
      similar: (sim['/3/Relu_output_0']?.indices[i] as number[]).map((j) => `${j}:${yTrain[j]}`).join(' '),
      influenceFunction: (nif.indices[i] as number[]).map((j) => `${j}:${yTrain[j]}`).join(' '),
    }));
    console.table(rows);
    console.log(`TracInCP (all ${(await model.parameters()).reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0)} parameters): ${(t1 - t0).toFixed(0)} ms for scores twice; TracInCPFast ${(t2 - t1).toFixed(0)} ms; SimilarityInfluence ${(t3 - t2).toFixed(0)} ms; NaiveInfluenceFunction (8.bias) ${(t4 - t3).toFixed(0)} ms`);
    console.log('logit proponent scores', proLogit.influenceScores.map((r) => r.map((v) => v.toFixed(2)).join('/')).join(' '));
    console.log('top TracInCP proponent scores', pro.influenceScores.map((r) => r[0]?.toFixed(3)).join(' '), 'opponents', opp.influenceScores.map((r) => r[0]?.toFixed(3)).join(' '));

    // Every query whose class appears among the training digits has a same-class top proponent; opponents never share it.
    yTest.forEach((y, i) => {
      if (yTrain.includes(y)) expect(yTrain[(proLogit.indices[i] as number[])[0] as number], `query ${i} proponent`).toBe(y);
      expect((pro.influenceScores[i] as number[])[0]).toBeGreaterThan(0);
    });
    model.dispose();
  });
});
