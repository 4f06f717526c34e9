import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchModel } from './onnx-ig.js';
import { round, type BenchRecord } from './record.js';
import { timePair } from './stats.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.resolve(here, '../../packages/cli/dist/bin.js');

/** A float32 .npy of shape [1, 3, 224, 224] (a fixed pattern). */
function image(file: string): void {
  const values = Float32Array.from({ length: 3 * 224 * 224 }, (_, i) => ((i * 7919) % 1000) / 1000);
  let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 224, 224), }";
  header += `${' '.repeat(63 - ((10 + header.length) % 64))}\n`;
  const out = Buffer.alloc(10 + header.length + values.byteLength);
  out.write('\x93NUMPY', 0, 'latin1');
  out.writeUInt8(1, 6);
  out.writeUInt16LE(header.length, 8);
  out.write(header, 10, 'latin1');
  Buffer.from(values.buffer).copy(out, 10 + header.length);
  fs.writeFileSync(file, out);
}

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
  image(input);
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
