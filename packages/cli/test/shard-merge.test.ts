import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dump } from 'npyjs';
import { describe, expect, it } from 'vitest';
import { parseShard } from '../src/index.js';
import { run } from './run.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const digits = path.join(here, '../../conformance/fixtures/real/digits_cnn.onnx');
const bin = path.join(here, '../dist/bin.js');
const samples = JSON.parse(fs.readFileSync(path.join(here, '../../conformance/fixtures/real/digits_cnn.samples.json'), 'utf8')) as { images: number[][] };

function stack(): { file: string; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attribution-shards-'));
  const file = path.join(dir, 'digits.npy');
  fs.writeFileSync(file, new Uint8Array(dump(Float32Array.from(samples.images.flat()), [40, 1, 8, 8])));
  return { file, dir };
}

/** Runs the CLI in its own process with `env` added to this one's; resolves to its exit code and output. */
function cli(args: readonly string[], env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

/** Every result file of a run folder (batch records and arrays), by name. */
function results(out: string): Map<string, Buffer> {
  return new Map(fs.readdirSync(out).filter((f) => f.startsWith('batch-')).sort().map((f) => [f, fs.readFileSync(path.join(out, f))]));
}

// Every scheduler's variables for shard k of n (Slurm: an array --array=3-9:2, ids 3, 5, 7, 9 for n = 4).
const SCHEDULERS: Record<string, (k: number, n: number) => Record<string, string>> = {
  'Slurm job array (--array=3-9:2)': (k, n) => ({ SLURM_ARRAY_TASK_ID: String(3 + 2 * k), SLURM_ARRAY_TASK_MIN: '3', SLURM_ARRAY_TASK_STEP: '2', SLURM_ARRAY_TASK_COUNT: String(n) }),
  'AWS Batch array job': (k, n) => ({ AWS_BATCH_JOB_ARRAY_INDEX: String(k), AWS_BATCH_JOB_ARRAY_SIZE: String(n) }),
  'Kubernetes Indexed Job (count from ATTRIBUTION_SHARD_COUNT)': (k, n) => ({ JOB_COMPLETION_INDEX: String(k), ATTRIBUTION_SHARD_COUNT: String(n) }),
  'GitHub Actions matrix (strategy.job-index / job-total)': (k, n) => ({ ATTRIBUTION_SHARD_INDEX: String(k), ATTRIBUTION_SHARD_COUNT: String(n) }),
};

const SMOOTH = ['--method', 'noise-tunnel', '--target', '3', '--batch-size', '4', '--options', '{"nSamples":3,"seed":7}'];

describe('explain-dataset --shard auto and attribution merge', () => {
  it('parses each scheduler\'s variables, and says what is missing', () => {
    for (const [name, env] of Object.entries(SCHEDULERS)) {
      for (const k of [0, 3]) expect(parseShard('auto', env(k, 4)), name).toMatchObject({ index: k, count: 4 });
    }
    expect(parseShard('auto/6', { JOB_COMPLETION_INDEX: '5' })).toEqual({ index: 5, count: 6, source: 'JOB_COMPLETION_INDEX=5' });
    expect(() => parseShard('auto', { JOB_COMPLETION_INDEX: '5' })).toThrow(/--shard auto: expected the number of shards: Kubernetes Indexed Job sets only JOB_COMPLETION_INDEX, got JOB_COMPLETION_INDEX=5.*--shard auto\/N or in ATTRIBUTION_SHARD_COUNT/);
    expect(() => parseShard('auto', {})).toThrow(/--shard auto: expected the shard index in the environment: ATTRIBUTION_SHARD_INDEX and ATTRIBUTION_SHARD_COUNT .*SLURM_ARRAY_TASK_ID.*AWS_BATCH_JOB_ARRAY_INDEX.*JOB_COMPLETION_INDEX.*got none of them set.*--shard k\/n/);
    expect(() => parseShard('auto/3', { AWS_BATCH_JOB_ARRAY_INDEX: '1', AWS_BATCH_JOB_ARRAY_SIZE: '4' })).toThrow(/--shard: expected the count of --shard auto\/3 to agree with AWS_BATCH_JOB_ARRAY_SIZE, got 4/);
    expect(() => parseShard('auto', { AWS_BATCH_JOB_ARRAY_INDEX: '4', AWS_BATCH_JOB_ARRAY_SIZE: '4' })).toThrow(/an index below the number of shards \(4\)/);
    expect(() => parseShard('auto', { SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_MIN: '3', SLURM_ARRAY_TASK_STEP: '2', SLURM_ARRAY_TASK_COUNT: '4' })).toThrow(/SLURM_ARRAY_TASK_MIN \+ a multiple of SLURM_ARRAY_TASK_STEP/);
    expect(() => parseShard('auto', { ATTRIBUTION_SHARD_INDEX: 'one', ATTRIBUTION_SHARD_COUNT: '2' })).toThrow(/ATTRIBUTION_SHARD_INDEX \(set by hand, or a GitHub Actions matrix\) to be an integer ≥ 0, got 'one'/);
    expect(() => parseShard('some')).toThrow(/--shard: expected k\/n with 0 ≤ k < n \(e.g. 0\/4\), or auto/);
  });

  // One run in one process, to compare the merged shards with (computed once).
  let reference: { file: string; whole: string } | undefined;
  const referenceRun = async (): Promise<{ file: string; whole: string }> => {
    if (!reference) {
      const { file, dir } = stack();
      const whole = path.join(dir, 'whole');
      expect((await run('explain-dataset', digits, '--inputs', file, '--out', whole, ...SMOOTH)).code).toBe(0);
      reference = { file, whole };
    }
    return reference;
  };

  // Four shards for Slurm (its task ids run 3, 5, 7, 9), two for the others.
  for (const [name, env] of Object.entries(SCHEDULERS)) {
    const n = name.startsWith('Slurm') ? 4 : 2;
    it(`${name}: ${n} processes into ${n} folders, merged, equal the one-process run`, async () => {
      const { file, whole } = await referenceRun();
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attribution-shards-'));
      const parts = Array.from({ length: n }, (_, k) => path.join(dir, `shard-${k}`));
      const runs = await Promise.all(parts.map((out, k) => cli(['explain-dataset', digits, '--inputs', file, '--out', out, ...SMOOTH, '--shard', 'auto'], env(k, n))));
      runs.forEach((r, k) => {
        expect(r.err, `shard ${k}`).toBe('');
        expect(r.code).toBe(0);
        expect(r.out).toMatch(new RegExp(`shard ${k}/${n} \\(.+\\) has \\d+, 0 already done`));
      });
      const merged = path.join(dir, 'merged');
      const m = await run('merge', ...parts, '--out', merged);
      expect(m.err).toBe('');
      const counts = n === 4 ? '.*shard-0: 3, .*shard-1: 3, .*shard-2: 2, .*shard-3: 2' : '.*shard-0: 5, .*shard-1: 5';
      expect(m.out).toMatch(new RegExp(`^merged 10 batches \\(40 examples of noise-tunnel on digits_cnn.onnx\\) from ${n} folders into .*merged \\(${counts}\\)\\n$`));
      expect(results(merged)).toEqual(results(whole));
      expect((await run('verify', merged)).code).toBe(0);
    });
  }

  it('merge refuses folders that miss a batch, hold one twice, differ in their run or their drawn seed', async () => {
    const { file, dir } = stack();
    const at = (n: string): string => path.join(dir, n);
    const explain = (out: string, ...extra: string[]) => run('explain-dataset', digits, '--inputs', file, '--out', at(out), '--method', 'saliency', '--target', '3', '--batch-size', '8', ...extra);
    for (const k of [0, 1, 2]) expect((await explain(`s${k}`, '--shard', `${k}/3`)).code).toBe(0);
    expect((await explain('again0', '--shard', '0/3')).code).toBe(0);
    expect((await explain('other', '--shard', '2/3', '--options', '{"abs":false}')).code).toBe(0);
    const cases: [string[], RegExp][] = [
      [[at('s0'), at('s1')], /batch 2 missing \(1\).*Run the shards that hold them/],
      [[at('s0'), at('s1'), at('s2'), at('again0')], /each batch in one folder only, got batch 0 in '.*s0' and '.*again0'; batch 3 in/],
      [[at('s0'), at('s1'), at('other')], /folders of one run .*whose run differs in options/],
      [[at('s0'), at('s1'), at('s2'), '--out', at('s0')], /--out: expected a folder other than the ones merged/],
      [[at('s0'), at('s1'), at('s2'), '--out', at('s1')], /--out: expected a folder other than the ones merged/],
      [[at('nowhere')], /a folder written by 'attribution explain-dataset'/],
    ];
    for (const [args, message] of cases) {
      const r = await run('merge', ...args, ...(args.includes('--out') ? [] : ['--out', at('merged')]));
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.err, args.join(' ')).toMatch(message);
      expect(fs.existsSync(at('merged')), 'nothing written').toBe(false);
    }
    fs.mkdirSync(at('full'));
    fs.writeFileSync(path.join(at('full'), 'x'), '');
    expect((await run('merge', at('s0'), at('s1'), at('s2'), '--out', at('full'))).err).toMatch(/--out: expected a new or empty folder/);
    // A damaged array in a shard folder: refused, naming the batch.
    const npy = fs.readdirSync(at('s1')).find((f) => f.endsWith('.npy')) as string;
    fs.appendFileSync(path.join(at('s1'), npy), 'x');
    expect((await run('merge', at('s0'), at('s1'), at('s2'), '--out', at('merged'))).err).toMatch(/folders whose finished batches all verify, got '.*s1': batch 1 .* bytes.*Rerun that shard/);
    // Stochastic methods: shards in separate folders draw their own seed unless one is given.
    const shap = ['--method', 'noise-tunnel', '--target', '3', '--batch-size', '20', '--options', '{"nSamples":2}'];
    for (const k of [0, 1]) expect((await run('explain-dataset', digits, '--inputs', file, '--out', at(`g${k}`), ...shap, '--shard', `${k}/2`)).code).toBe(0);
    expect((await run('merge', at('g0'), at('g1'), '--out', at('g'))).err).toMatch(/folders of one run, with one seed .*Each shard drew its own seed: give every shard the same one, --options '\{"seed": N\}'/);
  });
});
