import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { buildTfjsModel, fixturePath, loadGraph } from '@attribution/conformance';
import { fromOnnx, hostBackend, tensor, type OrtModule } from '@attribution/onnx';
import { transformModel } from '@attribution/onnx-grad';
import { IntegratedGradients } from '@attribution/primary';
import { createRandom } from '@attribution/tensor';
import { fromTfjs } from '@attribution/tfjs';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { peakRssMb, round, type BenchRecord } from './record.js';
import { median, timeInterleaved, timeMedian } from './stats.js';
import { tfjsInputs } from './tfjs-ig.js';

const N_STEPS = 50;
const here = path.dirname(fileURLToPath(import.meta.url));

/** Where the large benchmark models are: $ATTRIBUTION_BENCH_MODELS, else the shared reference folder. */
export function benchModel(file: string): string | undefined {
  const dirs = [process.env.ATTRIBUTION_BENCH_MODELS, path.resolve(here, '../../../shared/models')].filter((d): d is string => Boolean(d));
  for (const dir of dirs) if (fs.existsSync(path.join(dir, file))) return path.join(dir, file);
  return undefined;
}

function tensorFor(ort: OrtModule, data: Float32Array, dims: number[]): InstanceType<OrtModule['Tensor']> {
  return new ort.Tensor('float32', data, dims);
}

function runtimes(): [string, OrtModule][] {
  ortWeb.env.wasm.numThreads = 2;
  return [
    ['onnxruntime-node', ortNode],
    ['onnxruntime-web', ortWeb as unknown as OrtModule],
  ];
}

/**
 * IG with 50 steps on MobileNetV2-224, batch 1, internalBatchSize 10 and 50, against 50 forward+backward
 * evaluations of the gradient model (target ≤ 1.15), on onnxruntime-node and onnxruntime-web.
 */
export async function mobilenetIg(runs: number): Promise<BenchRecord[]> {
  const file = benchModel('mobilenet_v2_224.onnx');
  if (!file) {
    console.log('mobilenet_v2_224.onnx not found: set ATTRIBUTION_BENCH_MODELS to its folder; skipping the MobileNetV2-224 cases.');
    return [];
  }
  const bytes = fs.readFileSync(file);
  const rng = createRandom(3);
  const pixels = Float32Array.from({ length: 3 * 224 * 224 }, () => rng.normal());
  const records: BenchRecord[] = [];
  for (const [name, ort] of runtimes()) {
    const options = { sessionOptions: { intraOpNumThreads: 2 } };
    const model = await fromOnnx(ort, bytes, options);
    const x = tensor(pixels, [1, 3, 224, 224]);
    // The reference: the gradient model itself, run on prepared batches.
    const grad = transformModel(bytes, { wrt: [model.inputNames[0] as string] });
    const session = await ort.InferenceSession.create(grad.bytes, { graphOptimizationLevel: 'all', intraOpNumThreads: 2 });
    const feedsFor = (rows: number): Record<string, ReturnType<typeof tensorFor>> => {
      const data = new Float32Array(rows * pixels.length);
      for (let r = 0; r < rows; r++) data.set(pixels, r * pixels.length);
      const w = new Float32Array(rows * 1000);
      for (let r = 0; r < rows; r++) w[r * 1000 + 7] = 1;
      return { [model.inputNames[0] as string]: tensorFor(ort, data, [rows, 3, 224, 224]), [grad.weights as string]: tensorFor(ort, w, [rows, 1000]) };
    };
    const evaluations = (rows: number, times: number) => {
      const feeds = feedsFor(rows);
      return async (): Promise<void> => {
        for (let i = 0; i < times; i++) await session.run(feeds);
      };
    };
    const forwardSession = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', intraOpNumThreads: 2 });
    const forwardFeeds = { [model.inputNames[0] as string]: tensorFor(ort, pixels, [1, 3, 224, 224]) };
    const [forwardMs, t1] = await timeInterleaved([async () => void (await forwardSession.run(forwardFeeds)), evaluations(1, 1)], 5);
    console.log(`${name}: MobileNetV2-224 forward ${round(forwardMs as number)} ms, forward+backward ${round(t1 as number)} ms (batch 1)`);
    const ig = new IntegratedGradients(model);
    for (const batch of [10, 50]) {
      const attribute = async (): Promise<void> => {
        const r = await ig.attribute(x, { target: 7, nSteps: N_STEPS, internalBatchSize: batch });
        hostBackend.dispose(r.attributions);
      };
      const [igMs, fiftySingles, sameBatches] = (await timeInterleaved([attribute, evaluations(1, N_STEPS), evaluations(batch, N_STEPS / batch)], runs)) as [number, number, number];
      const common = { suite: 'onnx-ig', backend: name, model: 'mobilenet_v2_224', method: 'IntegratedGradients', options: { nSteps: N_STEPS, examples: 1, internalBatchSize: batch }, medianMs: round(igMs), peakRssMb: peakRssMb(), runs };
      records.push({ ...common, reference: '50 × one forward+backward of the gradient model (batch 1)', referenceMs: round(fiftySingles), ratio: round(igMs / fiftySingles, 3), target: '≤ 1.15' });
      records.push({ ...common, reference: `${N_STEPS / batch} runs of the gradient model on the same ${batch}-row batches`, referenceMs: round(sameBatches), ratio: round(igMs / sameBatches, 3) });
    }
    await Promise.all([session.release(), forwardSession.release()]);
    model.dispose();
  }
  return records;
}

/** IG on onnxruntime-node against the same IG on tfjs-cpu, for the shared cnn and mlp at realistic batches. */
export async function onnxVersusTfjs(runs: number): Promise<BenchRecord[]> {
  await tf.setBackend('cpu');
  const records: BenchRecord[] = [];
  for (const [name, rows] of [['mlp', 256], ['cnn', 64]] as const) {
    const fn = buildTfjsModel(loadGraph(name));
    const tx = tfjsInputs(name, rows);
    const tfIg = new IntegratedGradients(fromTfjs(fn));
    const tfMs = await timeMedian(async () => {
      const r = await tfIg.attribute(tx, { target: 1, nSteps: N_STEPS });
      r.attributions.dispose();
    }, runs, 1);
    const model = await fromOnnx(ortNode, fixturePath(`models/${name}.onnx`));
    const ox = tensor(Float32Array.from(tx.dataSync()), tx.shape);
    const onnxIg = new IntegratedGradients(model);
    const onnxMs = await timeMedian(async () => {
      const r = await onnxIg.attribute(ox, { target: 1, nSteps: N_STEPS });
      hostBackend.dispose(r.attributions);
    }, runs, 1);
    records.push({
      suite: 'onnx-vs-tfjs',
      backend: 'onnxruntime-node',
      model: name,
      method: 'IntegratedGradients',
      options: { nSteps: N_STEPS, examples: rows },
      medianMs: round(onnxMs),
      reference: 'the same IG on tfjs-cpu',
      referenceMs: round(tfMs),
      ratio: round(onnxMs / tfMs, 3),
      target: '≤ 0.25 (4x faster)',
      peakRssMb: peakRssMb(),
      runs,
    });
    tx.dispose();
    fn.dispose();
    model.dispose();
  }
  return records;
}

export { median };
