import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeImages } from './images.js';
import { benchModel } from './onnx-ig.js';
import { round, type BenchRecord } from './record.js';
import { timePair } from './stats.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.resolve(here, '../../packages/cli/dist/bin.js');

/**
 * The one-shot command-line call of issue 20: `attribution explain mobilenet_v2_224.onnx --method saliency` from
 * the shell, start to exit, with the gradient-model cache warm (filled by an untimed first run) against the same
 * call with `--no-cache` (building the gradient model and ONNX Runtime's optimisation every time). Target: ≤ 600 ms
 * warm. Interleaved, median of `runs`.
 */
export async function coldStart(runs: number): Promise<BenchRecord[]> {
  const model = benchModel('mobilenet_v2_224.onnx');
  if (!model) {
    console.log('mobilenet_v2_224.onnx not found: set ATTRIBUTION_BENCH_MODELS to its folder; skipping the cold-start case.');
    return [];
  }
  if (!fs.existsSync(bin)) {
    console.log(`${bin} not built: run pnpm build first; skipping the cold-start case.`);
    return [];
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attribution-cold-start-'));
  const input = path.join(dir, 'image.npy');
  writeImages(input, 1);
  const env = { ...process.env, XDG_CACHE_HOME: path.join(dir, 'cache') };
  const call = (...extra: string[]) => async (): Promise<void> => {
    execFileSync(process.execPath, [bin, 'explain', model, '--method', 'saliency', '--input', input, '--target', '1', ...extra], { env, stdio: 'ignore' });
  };
  await call()(); // fills the cache
  const t = await timePair(call(), call('--no-cache'), runs, 1);
  fs.rmSync(dir, { recursive: true, force: true });
  return [
    {
      suite: 'cold-start',
      backend: 'onnxruntime-node (CLI process)',
      model: 'mobilenet_v2_224',
      method: 'attribution explain --method saliency, one image, start to exit, warm gradient-model cache',
      options: {},
      medianMs: round(t.subject),
      reference: 'the same call with --no-cache',
      referenceMs: round(t.reference),
      ratio: round(t.ratio, 3),
      target: '≤ 600 ms warm',
      peakRssMb: 0,
      runs,
    },
  ];
}
