import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { transformModel } from '@attribution/onnx-grad';
import { createRandom } from '@attribution/tensor';
import * as ort from 'onnxruntime-node';
import { benchModel } from './onnx-ig.js';
import { peakRssMb, round, type BenchRecord } from './record.js';
import { median } from './stats.js';

const OPTIONS = { graphOptimizationLevel: 'all' as const, intraOpNumThreads: 2 };

/** Median run time of a fresh session of `model` on `feeds`, alone in the process (created, warmed, timed, released). */
async function sessionTime(model: Uint8Array, feeds: (s: ort.InferenceSession) => Record<string, ort.Tensor>, calls: number): Promise<number> {
  const session = await ort.InferenceSession.create(model, OPTIONS);
  try {
    const f = feeds(session);
    for (let i = 0; i < 3; i++) await session.run(f);
    const times: number[] = [];
    for (let i = 0; i < calls; i++) {
      const t = performance.now();
      await session.run(f);
      times.push(performance.now() - t);
    }
    return median(times);
  } finally {
    await session.release();
  }
}

/**
 * Kernel time per run of the gradient model by operator, split into the forward part (the model's own nodes), the
 * backward part (`__grad/…`) and ONNX Runtime's NCHWc layout conversions (ReorderInput/ReorderOutput it inserts),
 * from ONNX Runtime's profiler.
 */
async function profile(model: Uint8Array, feeds: (s: ort.InferenceSession) => Record<string, ort.Tensor>, calls: number): Promise<Record<string, number>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attribution-profile-'));
  const session = await ort.InferenceSession.create(model, { ...OPTIONS, enableProfiling: true, profileFilePrefix: path.join(dir, 'p') });
  const f = feeds(session);
  for (let i = 0; i < calls; i++) await session.run(f);
  session.endProfiling();
  await session.release();
  const file = fs.readdirSync(dir).find((n) => n.endsWith('.json'));
  const events = file ? (JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as { cat?: string; name: string; dur: number; args?: { op_name?: string } }[]) : [];
  fs.rmSync(dir, { recursive: true, force: true });
  const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').length || 1;
  const byOp: Record<string, number> = {};
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const op = e.args?.op_name ?? '?';
    const part = op.startsWith('Reorder') ? 'layout' : e.name.startsWith('__grad') ? 'backward' : 'forward';
    const key = `${part} ${op}`;
    byOp[key] = (byOp[key] ?? 0) + e.dur / 1000 / runs;
  }
  return Object.fromEntries(Object.entries(byOp).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, round(v, 2)]));
}

/**
 * Issue 20's gradient cost: MobileNetV2-224's gradient model (the input gradient of one class, what Saliency runs)
 * against the model's forward pass on onnxruntime-node, batch 1 and 8 (target ≤ 3). Each session runs alone in
 * its block (created, warmed, timed, released; forward and gradient blocks alternate `runs` times): two live
 * sessions would each keep ONNX Runtime's spinning worker threads, which slows whichever runs next by up to 2×
 * on 2 cores and made earlier interleaved measurements read ~4× where the cost is ~6×. The record's options hold
 * the gradient model's kernel time by operator (ms per run, batch 1).
 */
export async function gradientCost(runs: number): Promise<BenchRecord[]> {
  const file = benchModel('mobilenet_v2_224.onnx');
  if (!file) {
    console.log('mobilenet_v2_224.onnx not found: set ATTRIBUTION_BENCH_MODELS to its folder; skipping the gradient-cost case.');
    return [];
  }
  const bytes = new Uint8Array(fs.readFileSync(file));
  const probe = await ort.InferenceSession.create(bytes, OPTIONS);
  const input = probe.inputNames[0] as string;
  await probe.release();
  const built = transformModel(bytes, { wrt: [input] });
  const records: BenchRecord[] = [];
  for (const batch of [1, 8]) {
    const rng = createRandom(11);
    const x = new ort.Tensor('float32', Float32Array.from({ length: batch * 3 * 224 * 224 }, () => rng.normal()), [batch, 3, 224, 224]);
    const w = new ort.Tensor('float32', Float32Array.from({ length: batch * 1000 }, (_, i) => (i % 1000 === 7 ? 1 : 0)), [batch, 1000]);
    const forwardFeeds = (): Record<string, ort.Tensor> => ({ [input]: x });
    const gradientFeeds = (): Record<string, ort.Tensor> => ({ [input]: x, [built.weights as string]: w });
    const calls = batch === 1 ? 30 : 8;
    const forward: number[] = [];
    const gradient: number[] = [];
    for (let r = 0; r < runs; r++) {
      forward.push(await sessionTime(bytes, forwardFeeds, calls));
      gradient.push(await sessionTime(built.bytes, gradientFeeds, calls));
    }
    const [f, g] = [median(forward), median(gradient)];
    const kernels = batch === 1 ? await profile(built.bytes, gradientFeeds, 20) : undefined;
    records.push({
      suite: 'gradient-cost',
      backend: 'onnxruntime-node',
      model: 'mobilenet_v2_224',
      method: 'gradient model run (input gradient of one class)',
      options: { batch, ...(kernels ? { kernelMsPerRun: kernels } : {}) },
      medianMs: round(g),
      reference: 'forward pass of the model file, its session alone',
      referenceMs: round(f),
      ratio: round(g / f),
      target: '≤ 3',
      peakRssMb: peakRssMb(),
      runs,
    });
    console.log(`batch ${batch}: gradient ${round(g)} ms, forward ${round(f)} ms, ratio ${round(g / f)}`);
    if (kernels) console.log(kernels);
  }
  return records;
}
