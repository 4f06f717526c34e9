import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeImages } from './images.js';
import { benchModel } from './onnx-ig.js';
import { round, type BenchRecord } from './record.js';
import { median } from './stats.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.resolve(here, '../../packages/cli/dist/bin.js');

/**
 * `attribution explain-dataset --workers w` on 64 MobileNetV2-224 images (Saliency, batches of 8), start to exit:
 * `cores` workers (each with one ONNX Runtime thread) against one worker with one thread (how workers scale) and
 * against one worker with ONNX Runtime's default threads (what a user gets without `--workers`); alternating,
 * median of `runs`, each into a fresh folder with the gradient-model cache warm. Target: ≥ 1.7× on 2 cores.
 */
export async function workerScaling(runs: number): Promise<BenchRecord[]> {
  const model = benchModel('mobilenet_v2_224.onnx');
  if (!model || !fs.existsSync(bin)) {
    console.log('mobilenet_v2_224.onnx or the built CLI not found; skipping the workers case.');
    return [];
  }
  const cores = Math.max(2, os.availableParallelism());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attribution-workers-'));
  const input = path.join(dir, 'images.npy');
  writeImages(input, 64);
  const env = { ...process.env, XDG_CACHE_HOME: path.join(dir, 'cache') };
  let k = 0;
  const run = (workers: number, oneThread = false): number => {
    const out = path.join(dir, `run-${k++}`);
    const t = performance.now();
    execFileSync(process.execPath, [bin, 'explain-dataset', model, '--inputs', input, '--method', 'saliency', '--target', '1', '--batch-size', '8', '--workers', String(workers), '--out', out], {
      env: oneThread ? { ...env, ATTRIBUTION_THREADS: '1' } : env,
      stdio: 'ignore',
    });
    const ms = performance.now() - t;
    fs.rmSync(out, { recursive: true, force: true });
    return ms;
  };
  run(1); // fills the gradient-model cache (and warms the disk cache)
  run(cores);
  const one: number[] = [];
  const single: number[] = [];
  const many: number[] = [];
  for (let i = 0; i < runs; i++) {
    one.push(run(1));
    single.push(run(1, true));
    many.push(run(cores));
  }
  fs.rmSync(dir, { recursive: true, force: true });
  const [a, c, b] = [median(one), median(single), median(many)];
  return [
    {
      suite: 'workers',
      backend: 'onnxruntime-node (CLI processes)',
      model: 'mobilenet_v2_224',
      method: `explain-dataset --method saliency, 64 images in batches of 8, --workers ${cores} (one ONNX Runtime thread each)`,
      options: { workers: cores, cores: os.availableParallelism() },
      medianMs: round(b),
      reference: '--workers 1 with one ONNX Runtime thread (the scaling of workers)',
      referenceMs: round(c),
      ratio: round(b / c, 3),
      target: `speed-up ≥ 1.7× (ratio ≤ ${round(1 / 1.7, 3)})`,
      peakRssMb: 0,
      runs,
    },
    {
      suite: 'workers',
      backend: 'onnxruntime-node (CLI processes)',
      model: 'mobilenet_v2_224',
      method: `explain-dataset --method saliency, 64 images in batches of 8, --workers ${cores} against one multi-threaded process`,
      options: { workers: cores, cores: os.availableParallelism() },
      medianMs: round(b),
      reference: '--workers 1 (one process, ONNX Runtime on every core)',
      referenceMs: round(a),
      ratio: round(b / a, 3),
      target: `speed-up ≥ 1.7× (ratio ≤ ${round(1 / 1.7, 3)})`,
      peakRssMb: 0,
      runs,
    },
  ];
}
