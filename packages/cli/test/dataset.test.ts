import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dump } from 'npyjs';
import { describe, expect, it } from 'vitest';
import { readDatasetRun } from '../src/index.js';
import { run } from './run.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const digits = path.join(here, '../../conformance/fixtures/real/digits_cnn.onnx');
const bin = path.join(here, '../dist/bin.js');
const samples = JSON.parse(fs.readFileSync(path.join(here, '../../conformance/fixtures/real/digits_cnn.samples.json'), 'utf8')) as { images: number[][]; labels: number[] };


/** The 40 sample digits as a .npy stack, and the same split over three files of a folder. */
function dataset(): { stack: string; folder: string; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attribution-dataset-'));
  const stack = path.join(dir, 'digits.npy');
  fs.writeFileSync(stack, new Uint8Array(dump(Float32Array.from(samples.images.flat()), [40, 1, 8, 8])));
  const folder = path.join(dir, 'parts');
  fs.mkdirSync(folder);
  for (const [i, [s, e]] of ([[0, 15], [15, 16], [16, 40]] as const).entries()) {
    fs.writeFileSync(path.join(folder, `part-${i}.npy`), new Uint8Array(dump(Float32Array.from(samples.images.slice(s, e).flat()), [e - s, 1, 8, 8])));
  }
  return { stack, folder, dir };
}

/** Every result file of a run folder (batch records and arrays), by name. */
function results(out: string): Map<string, Buffer> {
  return new Map(fs.readdirSync(out).filter((f) => f.startsWith('batch-') && !f.endsWith('.tmp')).sort().map((f) => [f, fs.readFileSync(path.join(out, f))]));
}

const IG = ['--method', 'integrated-gradients', '--target', 'predicted', '--batch-size', '4', '--options', '{"nSteps":64}'];

describe('attribution explain-dataset', () => {
  it('resumes a killed run without recomputing, and ends with the results of an uninterrupted run', async () => {
    const { stack, dir } = dataset();
    const whole = path.join(dir, 'whole');
    const first = await run('explain-dataset', digits, '--inputs', stack, '--out', whole, ...IG);
    expect(first.err).toBe('');
    expect(first.out).toMatch(/40 examples in 10 batches of 4; shard 0\/1 has 10, 0 already done/);
    const { records } = readDatasetRun(whole);
    expect(records.map((r) => r.batch)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(records.flatMap((r) => r.targets)).toEqual(samples.labels); // the digits model predicts every sample right

    // A run killed (SIGKILL) after it finished a few batches, then resumed.
    const resumed = path.join(dir, 'resumed');
    const child = spawn(process.execPath, [bin, 'explain-dataset', digits, '--inputs', stack, '--out', resumed, ...IG.slice(0, -1), '{"nSteps":2000}'], { stdio: 'ignore' });
    // Same results need the same options: the killed run uses more steps, so it gets its own folder first.
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        const done = fs.existsSync(resumed) ? fs.readdirSync(resumed).filter((f) => /^batch-\d+\.json$/.test(f)).length : 0;
        if (done >= 2) {
          clearInterval(timer);
          child.kill('SIGKILL');
          resolve();
        }
      }, 20);
      child.on('exit', () => {
        clearInterval(timer);
        reject(new Error('the run finished before it could be killed'));
      });
    });
    await new Promise((r) => child.on('exit', r));
    const partial = readDatasetRun(resumed).records.length;
    expect(partial).toBeGreaterThanOrEqual(2);
    expect(partial).toBeLessThan(10);
    const before = results(resumed);
    const again = await run('explain-dataset', digits, '--inputs', stack, '--out', resumed, ...IG.slice(0, -1), '{"nSteps":2000}');
    expect(again.err).toBe('');
    expect(again.out).toContain(`${partial} already done`);
    const after = results(resumed);
    for (const [name, bytes] of before) expect(after.get(name)?.equals(bytes), `${name} kept as it was`).toBe(true);
    expect(readDatasetRun(resumed).records).toHaveLength(10);
    // The interrupted-and-resumed results equal an uninterrupted run with the same options.
    const reference = path.join(dir, 'reference');
    await run('explain-dataset', digits, '--inputs', stack, '--out', reference, ...IG.slice(0, -1), '{"nSteps":2000}');
    const want = results(reference);
    expect([...after.keys()]).toEqual([...want.keys()]);
    for (const [name, bytes] of want) expect(after.get(name)?.equals(bytes), name).toBe(true);
  }, 120_000);

  it('shards split the work with no coordination; folders read like stacks; seeded sampling is shard-independent', async () => {
    const { stack, folder, dir } = dataset();
    const whole = path.join(dir, 'whole');
    const shared = path.join(dir, 'sharded');
    const shap = ['--method', 'gradient-shap', '--target', 'predicted', '--batch-size', '6', '--baseline', stack, '--options', '{"nSamples":3,"seed":7}'];
    expect((await run('explain-dataset', digits, '--inputs', stack, '--out', whole, ...shap)).err).toBe('');
    for (const k of [2, 0, 1]) {
      const r = await run('explain-dataset', digits, '--inputs', folder, '--out', shared, ...shap, '--shard', `${k}/3`);
      expect(r.err).toBe('');
      expect(r.out).toMatch(new RegExp(`shard ${k}/3 has [23], 0 already done`));
    }
    const want = results(whole);
    const got = results(shared);
    expect([...got.keys()]).toEqual([...want.keys()]);
    for (const [name, bytes] of want) expect(got.get(name)?.equals(bytes), name).toBe(true);
  }, 120_000);

  it('refuses a folder holding another run, and bad flags, with one clear line', async () => {
    const { stack, dir } = dataset();
    const out = path.join(dir, 'run');
    await run('explain-dataset', digits, '--inputs', stack, '--out', out, '--method', 'saliency', '--target', '3', '--batch-size', '20');
    const cases: [string[], RegExp][] = [
      [['--method', 'saliency', '--target', '4', '--batch-size', '20'], /--out: expected an empty folder, or one holding the same run .*differs in target/],
      [['--method', 'saliency', '--target', '3', '--shard', '3/3'], /--shard: expected k\/n with 0 ≤ k < n/],
      [['--method', 'saliency', '--targets', path.join(dir, 'missing.json')], /--targets: expected a JSON array of integers/],
      [['--method', 'saliency', '--target', '3', '--batch-size', '0'], /--batch-size: expected a positive integer, got '0'/],
    ];
    for (const [flags, pattern] of cases) {
      const r = await run('explain-dataset', digits, '--inputs', stack, '--out', flags.includes('--shard') || flags.includes('--targets') || flags.includes('--batch-size') && flags.includes('0') ? path.join(dir, 'other') : out, ...flags);
      expect(r.code, flags.join(' ')).toBe(1);
      expect(r.err).toMatch(pattern);
    }
    const missing = await run('explain-dataset', digits, '--inputs', path.join(dir, 'nope.npy'), '--out', path.join(dir, 'x'), '--method', 'saliency', '--target', '3');
    expect(missing.err).toMatch(/--inputs #1: expected a .npy stack, a .json tensor or a folder of them/);
  }, 60_000);
});
