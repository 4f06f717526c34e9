import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { inspectModel, transformModel } from '@attribution/onnx-grad';
import { AttributionError, createRandom } from '@attribution/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { fromOnnx, tensor, type OnnxTensor } from '../src/index.js';
import { fixture } from './fixtures.js';
import { mutations } from './mutations.js';

// Untrusted model files: seeded, deterministic mutations of the shared ONNX models (byte damage and targeted
// protobuf edits, see mutations.ts) fed to inspectModel, transformModel and fromOnnx → forward → gradient on
// onnxruntime-node. Each case must end in success or a typed error (an AttributionError: InvalidModelError,
// UnsupportedOperatorError, …) — never a raw TypeError/RangeError from our code, a crash or a hang — within
// 5 s, and memory must stay bounded.
//
// CI runs 1,000 cases (seed 20261129). `pnpm test:soak` (ATTRIBUTION_SOAK=1) runs 20,000; ATTRIBUTION_FUZZ_CASES
// and ATTRIBUTION_FUZZ_SEED override both. To chase a failure: ATTRIBUTION_FUZZ_TRACE=file names the case and
// stage in flight (a hang cannot be interrupted from inside), ATTRIBUTION_FUZZ_ONLY=id runs one case and
// ATTRIBUTION_FUZZ_DUMP=file writes its bytes, ATTRIBUTION_FUZZ_DEBUG=1 prints every typed error.

const SOAK = process.env.ATTRIBUTION_SOAK === '1';
const CASES = Number(process.env.ATTRIBUTION_FUZZ_CASES ?? (SOAK ? 20_000 : 1000));
const SEED = Number(process.env.ATTRIBUTION_FUZZ_SEED ?? 20261129);
const CASE_BUDGET_MS = 5000;

interface Base {
  readonly name: string;
  readonly bytes: Uint8Array;
  /** Inputs valid for the unmutated model (batch 2). */
  readonly feeds: OnnxTensor[];
  /** A float tensor to differentiate with respect to (a graph input or an early layer). */
  readonly wrt: string;
  /** An intermediate tensor to capture. */
  readonly capture?: string;
}

const FILES: readonly [string, string, 'float' | 'ids', number[], string, string?][] = [
  ['mlp', 'models/mlp.onnx', 'float', [2, 6], 'x', '/net/net.1/Tanh_output_0'],
  ['cnn', 'models/cnn.onnx', 'float', [2, 1, 8, 8], 'x', '/conv1/Conv_output_0'],
  ['two_input', 'models/two_input.onnx', 'float', [2, 4], 'a', '/Tanh_output_0'],
  ['text', 'models/text.onnx', 'ids', [2, 5], '/emb/Gather_output_0'],
  ['seed', 'models/seed.onnx', 'float', [2, 5], 'x'],
  ['digits_cnn', 'real/digits_cnn.onnx', 'float', [2, 1, 8, 8], 'x'],
  ['breast_cancer', 'real/breast_cancer.onnx', 'float', [2, 30], 'x'],
  ['tiny_bert', 'real/tiny_bert.onnx', 'ids', [2, 12], '/tok/Gather_output_0'],
];

const bases: Base[] = FILES.map(([name, file, kind, shape, wrt, capture]) => {
  const size = shape.reduce((a, b) => a * b, 1);
  const first = kind === 'ids' ? tensor(BigInt64Array.from({ length: size }, (_, i) => BigInt(i % 4)), shape) : tensor(Float32Array.from({ length: size }, (_, i) => Math.sin(i)), shape);
  const feeds = name === 'two_input' ? [first, tensor(Float32Array.from({ length: 6 }, (_, i) => Math.cos(i)), [2, 3])] : [first];
  return { name, bytes: new Uint8Array(fs.readFileSync(fixture(file))), feeds, wrt, capture };
});

/** The outcome of one stage: 'ok', or the error's class name. */
type Outcome = string;

interface Failure {
  readonly id: number;
  readonly stage: string;
  readonly what: string;
  readonly error: string;
}

async function stage(failures: Failure[], id: number, what: string, name: string, fn: () => unknown): Promise<Outcome> {
  if (process.env.ATTRIBUTION_FUZZ_TRACE) fs.appendFileSync(process.env.ATTRIBUTION_FUZZ_TRACE, `${name}\n`);
  try {
    await fn();
    return 'ok';
  } catch (e) {
    if (e instanceof AttributionError) {
      if (process.env.ATTRIBUTION_FUZZ_DEBUG) console.log(`${name} ${e.name}: ${e.message.slice(0, 200)}`);
      return e.name;
    }
    const error = e instanceof Error ? `${e.name}: ${e.message}\n${(e.stack ?? '').split('\n').slice(1, 6).join('\n')}` : String(e);
    failures.push({ id, stage: name, what, error });
    return 'untyped';
  }
}

/** Runs the loaded model the way an attribution does: a forward pass, then a gradient (or a layer gradient). */
async function exercise(bytes: Uint8Array, base: Base, externalDataFolder?: string): Promise<void> {
  const model = await fromOnnx(ort, bytes, { externalDataFolder });
  try {
    const forward = await model.forward({ inputs: base.feeds.slice(0, 1), args: base.feeds.slice(1) });
    const out = forward.output;
    if (out.type !== 'float32') return;
    const weights = tensor(new Float32Array(out.dims.reduce((a, b) => a * b, 1)).fill(1), out.dims);
    const wrt = model.inputs[0]?.type === 'float32' ? { input: 0 } : { layer: base.wrt };
    await model.gradient({ inputs: base.feeds.slice(0, 1), args: base.feeds.slice(1), outputWeights: weights, wrt: [wrt] });
  } finally {
    model.dispose();
  }
}

const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'attribution-fuzz-'));
fs.writeFileSync(path.join(folder, 'weights.bin'), Buffer.alloc(64, 0x3f));

describe(`untrusted ONNX files: ${CASES} mutated models (seed ${SEED})`, () => {
  const failures: Failure[] = [];
  const outcomes = new Map<string, number>();
  const slow: string[] = [];
  const count = (key: string): void => void outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
  let rssStart = 0;
  let heapStart = 0;

  afterAll(() => {
    fs.rmSync(folder, { recursive: true, force: true });
    const mb = (n: number): string => `${(n / 2 ** 20).toFixed(0)} MB`;
    const m = process.memoryUsage();
    console.log(
      `fuzz: ${CASES} cases, seed ${SEED}; outcomes ${JSON.stringify(Object.fromEntries([...outcomes].sort()))}; ` +
        `RSS ${mb(rssStart)} → ${mb(m.rss)}, heap ${mb(heapStart)} → ${mb(m.heapUsed)}`,
    );
  });

  it('every mutated model ends in success or a typed error, each within 5 s, memory bounded', async () => {
    const rng = createRandom(SEED);
    rssStart = process.memoryUsage().rss;
    heapStart = process.memoryUsage().heapUsed;
    let peakRss = rssStart;
    for (let id = 0; id < CASES; id++) {
      const base = bases[id % bases.length] as Base;
      // One to three mutations in a row; a protobuf edit of bytes that no longer decode is skipped.
      let bytes = base.bytes;
      const applied: string[] = [];
      const rounds = 1 + rng.int(3);
      for (let r = 0; r < rounds; r++) {
        const mutation = mutations[rng.int(mutations.length)]!;
        try {
          bytes = mutation.apply(bytes, rng);
          applied.push(mutation.name);
        } catch {
          // the previous bytes stay
        }
      }
      const what = `case ${id}: ${base.name} ← ${applied.join(' + ') || 'nothing'}`;
      if (process.env.ATTRIBUTION_FUZZ_ONLY && Number(process.env.ATTRIBUTION_FUZZ_ONLY) !== id) continue;
      if (process.env.ATTRIBUTION_FUZZ_DUMP) fs.writeFileSync(process.env.ATTRIBUTION_FUZZ_DUMP, bytes);
      const started = performance.now();
      if (process.env.ATTRIBUTION_FUZZ_TRACE) fs.writeFileSync(process.env.ATTRIBUTION_FUZZ_TRACE, `${what}\n`);
      count(`inspect:${await stage(failures, id, what, 'inspectModel', () => inspectModel(bytes))}`);
      count(
        `transform:${await stage(failures, id, what, 'transformModel', () =>
          transformModel(bytes, { wrt: [base.wrt], capture: base.capture ? [base.capture] : [] }),
        )}`,
      );
      // Every other case offers a folder for external data (holding one small file), so references get read.
      count(`onnx:${await stage(failures, id, what, 'fromOnnx', () => exercise(bytes, base, id % 2 ? folder : undefined))}`);
      const elapsed = performance.now() - started;
      if (elapsed > CASE_BUDGET_MS) slow.push(`${what} took ${elapsed.toFixed(0)} ms`);
      if (id % 25 === 0) peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }
    // One line per distinct failure (stage and first line of the error), with the first case that hit it.
    const distinct = new Map<string, string>();
    for (const f of failures) {
      const key = `${f.stage}: ${f.error.split('\n')[0]}`;
      if (!distinct.has(key)) distinct.set(key, `${f.what} — ${f.stage}: ${f.error}`);
    }
    expect([...distinct.values()]).toEqual([]);
    expect(slow).toEqual([]);
    // Mutated models must not leave memory behind (sessions released, no runaway allocations).
    expect(peakRss - rssStart).toBeLessThan(512 * 2 ** 20);
  }, SOAK ? 3_600_000 : 120_000);
});
