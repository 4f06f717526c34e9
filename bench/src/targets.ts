import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { fixturePath } from '@attribution/conformance';
import { LayerIntegratedGradients } from '@attribution/layer';
import { fromOnnx, hostBackend, tensor, type OrtModule } from '@attribution/onnx';
import { transformModel } from '@attribution/onnx-grad';
import { DeepLift, IntegratedGradients, KernelShap, Occlusion } from '@attribution/primary';
import { createRandom } from '@attribution/tensor';
import { fromTfjs } from '@attribution/tfjs';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { benchModel } from './onnx-ig.js';
import { onnxToTfjs } from './onnx-tfjs.js';
import { peakRssMb, round, type BenchRecord } from './record.js';
import { timeInterleaved } from './stats.js';

type OrtTensor = InstanceType<OrtModule['Tensor']>;
const SESSION = { graphOptimizationLevel: 'all' as const, intraOpNumThreads: 2 };

function runtimes(): [string, OrtModule][] {
  ortWeb.env.wasm.numThreads = 2;
  return [
    ['onnxruntime-node', ortNode as unknown as OrtModule],
    ['onnxruntime-web', ortWeb as unknown as OrtModule],
  ];
}

const image = (seed: number): Float32Array => {
  const rng = createRandom(seed);
  return Float32Array.from({ length: 3 * 224 * 224 }, () => rng.normal());
};
const repeat = (data: Float32Array, rows: number): Float32Array => {
  const out = new Float32Array(rows * data.length);
  for (let r = 0; r < rows; r++) out.set(data, r * data.length);
  return out;
};
/** A record with the process's peak RSS so far, also printed at once (a long suite shows progress). */
const record = (r: Omit<BenchRecord, 'peakRssMb'>): BenchRecord => {
  const full = { ...r, peakRssMb: peakRssMb() };
  console.log(`${full.backend} ${full.model} ${full.method}: ${full.medianMs} ms vs ${full.referenceMs} (${full.reference}) = ${full.ratio}${full.target ? ` (target ${full.target})` : ''}`);
  return full;
};

/** Case 1 and 5: IG (50 steps, batch 1) on MobileNetV2-224 against 50 plain forward passes of the model, per runtime. */
export async function igMobilenet(bytes: Uint8Array, runs: number): Promise<BenchRecord[]> {
  const records: BenchRecord[] = [];
  const pixels = image(3);
  for (const [name, ort] of runtimes()) {
    const model = await fromOnnx(ort, bytes, { sessionOptions: { intraOpNumThreads: 2 } });
    const forward = await ort.InferenceSession.create(bytes, SESSION);
    const feeds = { [model.inputNames[0] as string]: new ort.Tensor('float32', pixels, [1, 3, 224, 224]) as OrtTensor };
    const x = tensor(pixels, [1, 3, 224, 224]);
    const ig = new IntegratedGradients(model);
    for (const batch of [1, 10, 50]) {
      const [igMs, fwdMs] = (await timeInterleaved(
        [
          async () => hostBackend.dispose((await ig.attribute(x, { target: 7, nSteps: 50, internalBatchSize: batch })).attributions),
          async () => {
            for (let i = 0; i < 50; i++) await forward.run(feeds);
          },
        ],
        runs,
      )) as [number, number];
      records.push(record({ suite: 'targets', backend: name, model: 'mobilenet_v2_224', method: 'IntegratedGradients', options: { nSteps: 50, examples: 1, internalBatchSize: batch }, medianMs: round(igMs), reference: '50 forward passes of the original model (batch 1)', referenceMs: round(fwdMs), ratio: round(igMs / fwdMs, 3), target: '≤ 2.5', runs }));
    }
    await forward.release();
    model.dispose();
  }
  // tfjs: the same network converted to a tfjs function. tfjs-wasm 4.22 has no DepthwiseConv2dNativeBackpropInput
  // kernel; @attribution/tfjs registers one (JavaScript on the wasm backend's data), so IG runs there too.
  await tf.setBackend('wasm');
  const converted = onnxToTfjs(bytes);
  const model = fromTfjs(converted.fn);
  const x = tf.tensor(pixels, [1, 3, 224, 224]);
  const ig = new IntegratedGradients(model);
  const fifty = async (): Promise<void> => {
    for (let i = 0; i < 50; i++) tf.tidy(() => converted.fn(x)).dataSync();
  };
  for (const batch of [1, 10]) {
    const [wasmIg, wasmForward] = (await timeInterleaved([async () => (await ig.attribute(x, { target: 7, nSteps: 50, internalBatchSize: batch })).attributions.dispose(), fifty], 1, 1)) as [number, number];
    records.push(record({ suite: 'targets', backend: 'tfjs-wasm', model: 'mobilenet_v2_224', method: 'IntegratedGradients', options: { nSteps: 50, examples: 1, internalBatchSize: batch }, medianMs: round(wasmIg), reference: '50 forward passes of the same tfjs model (batch 1)', referenceMs: round(wasmForward), ratio: round(wasmIg / wasmForward, 3), target: '≤ 2.5', runs: 1 }));
  }
  await tf.setBackend('cpu');
  const [cpuIg, cpuForward] = (await timeInterleaved([async () => (await ig.attribute(x, { target: 7, nSteps: 50, internalBatchSize: 10 })).attributions.dispose(), fifty], 1, 0)) as [number, number];
  records.push(record({ suite: 'targets', backend: 'tfjs-cpu', model: 'mobilenet_v2_224', method: 'IntegratedGradients', options: { nSteps: 50, examples: 1, internalBatchSize: 10 }, medianMs: round(cpuIg), reference: '50 forward passes of the same tfjs model (batch 1)', referenceMs: round(cpuForward), ratio: round(cpuIg / cpuForward, 3), target: '≤ 2.5', runs: 1 }));
  const node = records.find((r) => r.backend === 'onnxruntime-node' && (r.options as { internalBatchSize?: number }).internalBatchSize === 10);
  const wasm = records.find((r) => r.backend === 'tfjs-wasm' && (r.options as { internalBatchSize?: number }).internalBatchSize === 10);
  // Case 5: the same IG on tfjs-wasm against onnxruntime-node (no target: reported and explained).
  if (node && wasm) records.push(record({ suite: 'targets', backend: 'tfjs-wasm vs onnxruntime-node', model: 'mobilenet_v2_224', method: 'IntegratedGradients', options: { nSteps: 50, examples: 1, internalBatchSize: 10 }, medianMs: wasm.medianMs, reference: 'the same IG on onnxruntime-node', referenceMs: node.medianMs, ratio: round(wasm.medianMs / node.medianMs, 3), runs: 1 }));
  if (node) records.push(record({ suite: 'targets', backend: 'tfjs-cpu vs onnxruntime-node', model: 'mobilenet_v2_224', method: 'IntegratedGradients', options: { nSteps: 50, examples: 1, internalBatchSize: 10 }, medianMs: round(cpuIg), reference: 'the same IG on onnxruntime-node', referenceMs: node.medianMs, ratio: round(cpuIg / node.medianMs, 3), runs: 1 }));
  x.dispose();
  converted.dispose();
  return records;
}

/** Case 2: Occlusion (window 3×15×15, stride 3×8×8) on MobileNetV2-224 against (windows + 1) forward passes. */
export async function occlusionMobilenet(bytes: Uint8Array, runs: number): Promise<BenchRecord[]> {
  const records: BenchRecord[] = [];
  const pixels = image(4);
  // Captum's window count per dimension: ⌈(size − window) / stride⌉ + 1 (28 × 28 here).
  const windows = [[224, 15, 8], [224, 15, 8]].reduce((count, [size, window, stride]) => count * (Math.ceil(((size as number) - (window as number)) / (stride as number)) + 1), 1);
  const perEval = 16;
  const model = await fromOnnx(ortNode as unknown as OrtModule, bytes, { sessionOptions: { intraOpNumThreads: 2 } });
  const forward = await ortNode.InferenceSession.create(bytes, SESSION);
  const x = tensor(pixels, [1, 3, 224, 224]);
  const batchFeeds = { x: new ortNode.Tensor('float32', repeat(pixels, perEval), [perEval, 3, 224, 224]) };
  const lastRows = windows % perEval;
  const lastFeeds = { x: new ortNode.Tensor('float32', repeat(pixels, lastRows), [lastRows, 3, 224, 224]) };
  const oneFeeds = { x: new ortNode.Tensor('float32', pixels, [1, 3, 224, 224]) };
  const occlusion = new Occlusion(model);
  const [occMs, sameMs] = (await timeInterleaved(
    [
      async () => hostBackend.dispose((await occlusion.attribute(x, { target: 7, slidingWindowShapes: [3, 15, 15], strides: [3, 8, 8], perturbationsPerEval: perEval })).attributions),
      async () => {
        await forward.run(oneFeeds);
        for (let i = 0; i < Math.floor(windows / perEval); i++) await forward.run(batchFeeds);
        if (lastRows) await forward.run(lastFeeds);
      },
    ],
    Math.max(3, runs),
  )) as [number, number];
  records.push(record({ suite: 'targets', backend: 'onnxruntime-node', model: 'mobilenet_v2_224', method: 'Occlusion', options: { slidingWindowShapes: [3, 15, 15], strides: [3, 8, 8], perturbationsPerEval: perEval }, medianMs: round(occMs), reference: `${windows + 1} forward passes in the same batches (1 + ${Math.ceil(windows / perEval)} calls)`, referenceMs: round(sameMs), ratio: round(occMs / sameMs, 3), target: '≤ 1.1', runs: Math.max(3, runs) }));
  await forward.release();
  model.dispose();
  return records;
}

/** Case 3: KernelShap (1000 samples) on breast_cancer, LayerIG on tiny_bert's embeddings, DeepLift on MobileNetV2-224. */
export async function others(mobilenet: Uint8Array, runs: number): Promise<BenchRecord[]> {
  const records: BenchRecord[] = [];
  const ort = ortNode as unknown as OrtModule;

  // KernelShap: 1000 coalitions of 30 features, 100 per call, against the same forward calls.
  const cancerBytes = fs.readFileSync(fixturePath('real/breast_cancer.onnx'));
  const cancer = await fromOnnx(ort, cancerBytes);
  const rng = createRandom(5);
  const row = Float32Array.from({ length: 30 }, () => rng.normal());
  const cancerForward = await ortNode.InferenceSession.create(cancerBytes, SESSION);
  const cancerFeeds = { [cancer.inputNames[0] as string]: new ortNode.Tensor('float32', repeat(row, 100), [100, 30]) };
  const cancerOne = { [cancer.inputNames[0] as string]: new ortNode.Tensor('float32', row, [1, 30]) };
  const kernel = new KernelShap(cancer);
  const x = tensor(row, [1, 30]);
  const [ksMs, ksRef] = (await timeInterleaved(
    [
      async () => hostBackend.dispose((await kernel.attribute(x, { target: 0, nSamples: 1000, perturbationsPerEval: 100, seed: 1 })).attributions),
      async () => {
        await cancerForward.run(cancerOne);
        for (let i = 0; i < 10; i++) await cancerForward.run(cancerFeeds);
      },
    ],
    Math.max(runs * 4, 21),
    1,
    10,
  )) as [number, number];
  records.push(record({ suite: 'targets', backend: 'onnxruntime-node', model: 'breast_cancer', method: 'KernelShap', options: { nSamples: 1000, perturbationsPerEval: 100 }, medianMs: round(ksMs), reference: '1 + 10 forward calls of 100 rows', referenceMs: round(ksRef), ratio: round(ksMs / ksRef, 3), target: '≤ 1.2', runs: Math.max(runs * 4, 21) * 10 }));
  await cancerForward.release();
  cancer.dispose();

  // LayerIntegratedGradients on tiny_bert's embedding output: 50 steps, one batch, against the gradient model run on it.
  const bertBytes = fs.readFileSync(fixturePath('real/tiny_bert.onnx'));
  const bert = await fromOnnx(ort, bertBytes);
  const layer = '/Add_output_0';
  const ids = tensor(BigInt64Array.from({ length: 12 }, (_, i) => BigInt((i * 7 + 3) % 100)), [1, 12]);
  const pads = tensor(new BigInt64Array(12), [1, 12]);
  const lig = new LayerIntegratedGradients(bert, layer);
  const grad = transformModel(bertBytes, { wrt: [layer], replace: [layer] });
  const gradSession = await ortNode.InferenceSession.create(grad.bytes, SESSION);
  const replaced = new Float32Array(50 * 12 * 32);
  const w = new Float32Array(50 * 3);
  for (let r = 0; r < 50; r++) w[r * 3 + 1] = 1;
  const gradFeeds: Record<string, OrtTensor> = {};
  for (const input of grad.inputs) {
    if (input.name === grad.weights) gradFeeds[input.name] = new ortNode.Tensor('float32', w, [50, 3]);
    else if (input.name === layer) gradFeeds[input.name] = new ortNode.Tensor('float32', replaced, [50, 12, 32]);
    else gradFeeds[input.name] = new ortNode.Tensor('int64', BigInt64Array.from({ length: 50 * 12 }, (_, i) => BigInt((i * 7 + 3) % 100)), [50, 12]);
  }
  const bertForward = await ortNode.InferenceSession.create(bertBytes, SESSION);
  // The layer at the inputs and at the baselines, [x; x′] in one call of 2 rows (as LayerIntegratedGradients does).
  const bertEnds = { [bert.inputNames[0] as string]: new ortNode.Tensor('int64', BigInt64Array.from([...(ids.data as BigInt64Array), ...new BigInt64Array(12)]), [2, 12]) };
  const [ligMs, ligRef] = (await timeInterleaved(
    [
      async () => hostBackend.dispose((await lig.attribute(ids, { baselines: pads, target: 1, nSteps: 50 })).attributions),
      async () => {
        // A(x) and A(x′) (one forward pass of two rows), then the 50 interpolated rows through the gradient model.
        await bertForward.run(bertEnds);
        await gradSession.run(gradFeeds);
      },
    ],
    Math.max(runs * 4, 21),
    1,
    10,
  )) as [number, number];
  records.push(record({ suite: 'targets', backend: 'onnxruntime-node', model: 'tiny_bert', method: 'LayerIntegratedGradients', options: { layer, nSteps: 50 }, medianMs: round(ligMs), reference: '1 forward pass of [x; x′] + 1 gradient-model run of the 50 steps', referenceMs: round(ligRef), ratio: round(ligMs / ligRef, 3), target: '≤ 1.2', runs: Math.max(runs * 4, 21) * 10 }));
  await Promise.all([gradSession.release(), bertForward.release()]);
  bert.dispose();

  // DeepLift on MobileNetV2-224, one image: one run of the DeepLift gradient model on [x; x′].
  const mobile = await fromOnnx(ort, mobilenet, { sessionOptions: { intraOpNumThreads: 2 } });
  const deepLiftModel = transformModel(mobilenet, { wrt: ['x'], rules: 'deeplift' });
  const dlSession = await ortNode.InferenceSession.create(deepLiftModel.bytes, SESSION);
  const pixels = image(6);
  const pair = new Float32Array(2 * pixels.length);
  pair.set(pixels);
  const dw = new Float32Array(2 * 1000);
  dw[7] = 1;
  const dlFeeds = { x: new ortNode.Tensor('float32', pair, [2, 3, 224, 224]), [deepLiftModel.weights as string]: new ortNode.Tensor('float32', dw, [2, 1000]) };
  const img = tensor(pixels, [1, 3, 224, 224]);
  const dl = new DeepLift(mobile);
  const [dlMs, dlRef] = (await timeInterleaved(
    [async () => hostBackend.dispose((await dl.attribute(img, { target: 7 })).attributions), async () => void (await dlSession.run(dlFeeds))],
    Math.max(runs * 3, 15),
    2,
  )) as [number, number];
  records.push(record({ suite: 'targets', backend: 'onnxruntime-node', model: 'mobilenet_v2_224', method: 'DeepLift', options: { examples: 1 }, medianMs: round(dlMs), reference: 'one run of the DeepLift gradient model on [x; x′]', referenceMs: round(dlRef), ratio: round(dlMs / dlRef, 3), target: '≤ 1.2', runs: Math.max(runs * 3, 15) }));
  await dlSession.release();
  mobile.dispose();
  return records;
}

/** Case 4: peak RSS of IG with nSteps 50 and 500 at internalBatchSize 10, each in a fresh process. */
export function memory(): BenchRecord[] {
  const script = fileURLToPath(new URL('./memory-child.js', import.meta.url));
  const peaks = [50, 500].map((nSteps) => {
    const r = spawnSync(process.execPath, [script, String(nSteps)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`memory child failed: ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split('\n').pop() as string) as { nSteps: number; peakRssMb: number; ms: number };
  });
  const [small, large] = peaks as unknown as [{ peakRssMb: number; ms: number }, { peakRssMb: number; ms: number }];
  return [
    { suite: 'targets', backend: 'onnxruntime-node', model: 'mobilenet_v2_224', method: 'IntegratedGradients (peak RSS)', options: { nSteps: 500, internalBatchSize: 10 }, medianMs: round(large.ms), reference: 'peak RSS with nSteps 50 (MB)', referenceMs: small.peakRssMb, ratio: round(large.peakRssMb / small.peakRssMb, 3), target: '≤ 1.10 (within 10%)', peakRssMb: large.peakRssMb, runs: 1 },
  ];
}

/** `pnpm bench targets`: the cases of the performance issue, each with its reference measured in the same run. */
export async function targets(runs: number): Promise<BenchRecord[]> {
  const file = benchModel('mobilenet_v2_224.onnx');
  if (!file) {
    console.log('mobilenet_v2_224.onnx not found: set ATTRIBUTION_BENCH_MODELS to its folder; skipping the target cases.');
    return [];
  }
  const bytes = fs.readFileSync(file);
  return [...(await igMobilenet(bytes, runs)), ...(await occlusionMobilenet(bytes, runs)), ...(await others(bytes, runs)), ...memory()];
}
