import fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { coldStart } from './cold-start.js';
import { gradientCost } from './gradient-cost.js';
import { workerScaling } from './workers.js';
import { mobilenetIg, onnxVersusTfjs } from './onnx-ig.js';
import { printTable, round, type BenchRecord } from './record.js';
import { tfjsIg } from './tfjs-ig.js';
import { pretrainedTfjs } from './pretrained-tfjs.js';
import { targets } from './targets.js';
import { textAttribution } from './text.js';
import { torchReference } from './torch.js';
import { transformerGradient } from './transformer.js';

/**
 * `pnpm bench [suite...]`: suites `targets`, `transformer`, `tfjs-ig`, `pretrained-tfjs`, `onnx-ig`, `onnx-vs-tfjs`, `text`, `gradient-cost`, `cold-start`, `workers`, `torch` (default: all). Prints
 * median times and ratios measured in this run and writes bench/results.json.
 */
async function main(): Promise<void> {
  tf.enableProdMode();
  const wanted = new Set(process.argv.slice(2).length ? process.argv.slice(2) : ['targets', 'transformer', 'tfjs-ig', 'pretrained-tfjs', 'onnx-ig', 'onnx-vs-tfjs', 'text', 'gradient-cost', 'cold-start', 'workers', 'torch']);
  const runs = Number(process.env.BENCH_RUNS ?? 5);
  const all: BenchRecord[] = [];
  if (wanted.has('targets')) {
    const r = await targets(runs);
    printTable('Performance targets: each case against the plain model calls it is made of, measured in the same run', r);
    all.push(...r);
  }
  if (wanted.has('transformer')) {
    const r = await transformerGradient(Math.max(runs, 5));
    printTable('Transformer encoder layer at sequence length 128: the gradient model against the forward pass (target ≤ 3)', r);
    all.push(...r);
  }
  if (wanted.has('tfjs-ig')) {
    const r = await tfjsIg(['cpu', 'wasm'], Math.max(runs, 11));
    printTable('Integrated Gradients on tfjs, 50 steps: IG time / plain gradient calls doing the same rows (target ≤ 1.10)', r);
    all.push(...r);
  }
  if (wanted.has('pretrained-tfjs')) {
    const r = await pretrainedTfjs(['wasm', 'cpu'], runs);
    printTable('Integrated Gradients, 32 steps, on converted MobileNetV2s from nsfwjs (one 224×224 example): IG time / one forward pass', r);
    all.push(...r);
  }
  if (wanted.has('onnx-ig')) {
    const r = await mobilenetIg(Math.max(3, Math.min(runs, 5)));
    printTable('Integrated Gradients on MobileNetV2-224, 50 steps, batch 1 (target ≤ 1.15 against 50 forward+backward evaluations)', r);
    all.push(...r);
  }
  if (wanted.has('onnx-vs-tfjs')) {
    const r = await onnxVersusTfjs(runs);
    printTable('Integrated Gradients, 50 steps: onnxruntime-node time / tfjs-cpu time (target ≤ 0.25)', r);
    all.push(...r);
  }
  if (wanted.has('text')) {
    const r = await textAttribution(Math.max(runs, 5));
    printTable('Explaining text generation (LLMAttribution, tiny-gpt): one pass per perturbed prompt / recomputing every prefix (target ≤ 0.33)', r);
    all.push(...r);
  }
  if (wanted.has('gradient-cost')) {
    const r = await gradientCost(Math.max(3, Math.min(runs, 5)));
    printTable('MobileNetV2-224 on onnxruntime-node: the gradient model against the forward pass, each session alone (target ≤ 3)', r);
    all.push(...r);
  }
  if (wanted.has('cold-start')) {
    const r = await coldStart(Math.max(runs, 5));
    printTable('One-shot CLI call (attribution explain … --method saliency on MobileNetV2-224), start to exit: warm gradient-model cache / --no-cache (target ≤ 600 ms warm)', r);
    all.push(...r);
  }
  if (wanted.has('workers')) {
    const r = await workerScaling(Math.max(3, Math.min(runs, 5)));
    printTable('explain-dataset on 64 MobileNetV2-224 images, start to exit: one worker per core / one worker (target: ≥ 1.7× faster on 2 cores)', r);
    all.push(...r);
  }
  if (wanted.has('torch')) {
    const t = torchReference();
    if (t) {
      console.log(`\nPyTorch ${'autograd'} reference, the same 50 MobileNetV2-224 gradients (2 threads): ${Object.entries(t).map(([b, ms]) => `${round(ms)} ms in batches of ${b}`).join(', ')}`);
      for (const [batch, ms] of Object.entries(t)) {
        all.push({ suite: 'torch', backend: 'pytorch (python3)', model: 'mobilenet_v2_224', method: '50 autograd gradients', options: { internalBatchSize: Number(batch) }, medianMs: round(ms), reference: 'none', referenceMs: 0, ratio: 0, peakRssMb: 0, runs: 3 });
      }
    }
  }
  // Suites not run this time keep their records from the previous results (each run's suites replace theirs).
  const file = new URL('../results.json', import.meta.url);
  const date = new Date().toISOString();
  const previous = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as { date?: string; records?: (BenchRecord & { date?: string })[] }) : {};
  const kept = (previous.records ?? []).filter((r) => !wanted.has(r.suite)).map((r) => ({ ...r, date: r.date ?? previous.date }));
  const records = [...kept, ...all.map((r) => ({ ...r, date }))];
  fs.writeFileSync(file, `${JSON.stringify({ date, node: process.version, records }, null, 2)}\n`);
  console.log(`\nwritten ${file.pathname}`);
}

await main();
