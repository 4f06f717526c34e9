import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dump } from 'npyjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { readDatasetRun } from '../src/index.js';
import { run } from './run.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = path.join(here, '../../conformance/fixtures/real/digits_cnn.onnx');
const samples = JSON.parse(fs.readFileSync(path.join(here, '../../conformance/fixtures/real/digits_cnn.samples.json'), 'utf8')) as { images: number[][] };

const sha256 = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const npy = (file: string, rows: number[][]): string => {
  fs.writeFileSync(file, new Uint8Array(dump(Float32Array.from(rows.flat()), [rows.length, 1, 8, 8])));
  return file;
};

/** A model copy, six digits as a stack and as a folder of two files, a baseline and a feature mask. */
function workspace(): { dir: string; model: string; stack: string; folder: string; baseline: string; mask: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attribution-integrity-'));
  const model = path.join(dir, 'digits.onnx');
  fs.copyFileSync(fixture, model);
  const stack = npy(path.join(dir, 'six.npy'), samples.images.slice(0, 6));
  const folder = path.join(dir, 'parts');
  fs.mkdirSync(folder);
  npy(path.join(folder, 'a.npy'), samples.images.slice(0, 4));
  npy(path.join(folder, 'b.npy'), samples.images.slice(4, 6));
  const baseline = npy(path.join(dir, 'baseline.npy'), [Array.from({ length: 64 }, () => 0.25)]);
  const mask = path.join(dir, 'mask.json');
  fs.writeFileSync(mask, JSON.stringify({ shape: [1, 1, 8, 8], dtype: 'int32', data: Array.from({ length: 64 }, (_, i) => Math.floor(i / 16)) }));
  return { dir, model, stack, folder, baseline, mask };
}

const SALIENCY = ['--method', 'saliency', '--target', '3', '--batch-size', '2'];

afterEach(() => {
  vi.restoreAllMocks();
});

describe('explain-dataset records what it computed from, and checks it on resume', () => {
  it('the manifest holds the sha256 of the model, every input file or folder, baseline and mask; a changed one is refused by name', async () => {
    const w = workspace();
    const out = path.join(w.dir, 'run');
    const flags = ['--inputs', w.folder, '--method', 'feature-ablation', '--target', '3', '--batch-size', '2', '--baseline', w.baseline, '--feature-mask', w.mask, '--out', out];
    const first = await run('explain-dataset', w.model, ...flags);
    expect(first.err).toBe('');
    const { manifest } = readDatasetRun(out);
    expect(manifest.model.sha256).toBe(sha256(w.model));
    expect(manifest.inputs[0]?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(manifest.baselines).toEqual([sha256(w.baseline)]);
    expect(manifest.featureMasks).toEqual([sha256(w.mask)]);
    // The same files, spelt differently (a stack holding the same examples is another input: other bytes).
    expect((await run('explain-dataset', w.model, ...flags)).out).toMatch(/3 already done/);

    const changes: [string, () => () => void, RegExp][] = [
      [
        'one file of the input folder, same shape',
        () => {
          const file = path.join(w.folder, 'b.npy');
          const before = fs.readFileSync(file);
          npy(file, [samples.images[7]!, samples.images[8]!]);
          return () => fs.writeFileSync(file, before);
        },
        /differs in --inputs #1 \(its content changed: sha256 [0-9a-f]{12}… here, [0-9a-f]{12}… in the manifest\)/,
      ],
      [
        'a file added to the input folder',
        () => {
          const extra = npy(path.join(w.folder, 'c.npy'), [samples.images[9]!]);
          return () => fs.unlinkSync(extra);
        },
        /differs in --inputs #1 \(its content changed: .*\); examples \(7 here, 6 in the manifest\)/,
      ],
      [
        'the feature mask',
        () => {
          const before = fs.readFileSync(w.mask);
          fs.writeFileSync(w.mask, JSON.stringify({ shape: [1, 1, 8, 8], dtype: 'int32', data: Array.from({ length: 64 }, (_, i) => Math.floor(i / 32)) }));
          return () => fs.writeFileSync(w.mask, before);
        },
        /differs in --feature-mask #1 \(sha256 [0-9a-f]{12}… here, sha256 [0-9a-f]{12}… in the manifest\)/,
      ],
      [
        'the baseline',
        () => {
          const before = fs.readFileSync(w.baseline);
          npy(w.baseline, [Array.from({ length: 64 }, () => 0.5)]);
          return () => fs.writeFileSync(w.baseline, before);
        },
        /differs in --baseline #1 \(sha256/,
      ],
      [
        'the model',
        () => {
          const before = fs.readFileSync(w.model);
          fs.appendFileSync(w.model, Buffer.from([0]));
          return () => fs.writeFileSync(w.model, before);
        },
        /differs in the model \(sha256 [0-9a-f]{12}… here, [0-9a-f]{12}… in the manifest: a different or changed file\)/,
      ],
    ];
    for (const [what, change, message] of changes) {
      const restore = change();
      const r = await run('explain-dataset', w.model, ...flags, '--shard', '1/2');
      restore();
      expect(r.code, what).toBe(1);
      expect(r.err, what).toMatch(message);
      expect(r.err.trim().split('\n'), what).toHaveLength(1);
    }
  });

  it('hashes by streaming: the model and inputs are never read whole', async () => {
    const w = workspace();
    const reads = vi.spyOn(fs, 'readFileSync');
    const r = await run('explain-dataset', w.model, '--inputs', w.stack, ...SALIENCY, '--out', path.join(w.dir, 'run'));
    expect(r.err).toBe('');
    const whole = reads.mock.calls.map(([file]) => String(file)).filter((f) => f === w.model || f === w.stack);
    expect(whole).toEqual([]);
  });

  it('a batch counts as done only when its record and array files validate; damaged ones are computed again', async () => {
    const w = workspace();
    const out = path.join(w.dir, 'run');
    expect((await run('explain-dataset', w.model, '--inputs', w.stack, ...SALIENCY, '--out', out)).err).toBe('');
    const { records } = readDatasetRun(out);
    expect(records).toHaveLength(3);
    for (const record of records) {
      expect(record.files).toHaveLength(1);
      const [file] = record.files;
      const bytes = fs.readFileSync(path.join(out, file!.name));
      expect(file).toEqual({ name: `batch-00000${record.batch}-0.npy`, bytes: bytes.length, sha256: sha256(path.join(out, file!.name)) });
    }
    const reference = new Map(fs.readdirSync(out).map((f) => [f, fs.readFileSync(path.join(out, f))]));
    const size = reference.get('batch-000001-0.npy')!.length;
    // Damage: a flipped byte (same size), a truncated file, a missing file.
    const flipped = Buffer.from(reference.get('batch-000000-0.npy')!);
    flipped[flipped.length - 1] = (flipped[flipped.length - 1] as number) ^ 0xff;
    fs.writeFileSync(path.join(out, 'batch-000000-0.npy'), flipped);
    fs.truncateSync(path.join(out, 'batch-000001-0.npy'), 100);
    fs.unlinkSync(path.join(out, 'batch-000002-0.npy'));
    const again = await run('explain-dataset', w.model, '--inputs', w.stack, ...SALIENCY, '--out', out);
    expect(again.err).toBe('');
    expect(again.out).toContain('batch 0: batch-000000-0.npy does not match the sha256 in its record (changed or damaged); computing it again\n');
    expect(again.out).toContain(`batch 1: batch-000001-0.npy is 100 bytes, its record says ${size}; computing it again\n`);
    expect(again.out).toContain('batch 2: batch-000002-0.npy is missing; computing it again\n');
    expect(again.out).toMatch(/shard 0\/1 has 3, 0 already done/);
    for (const [name, bytes] of reference) expect(fs.readFileSync(path.join(out, name)).equals(bytes), name).toBe(true);
  });
});

describe('attribution verify', () => {
  it('checks a finished folder (exit 0), a damaged or partial one (exit 1, naming the batches), and refuses what is not a results folder', async () => {
    const w = workspace();
    const out = path.join(w.dir, 'run');
    expect((await run('explain-dataset', w.model, '--inputs', w.stack, ...SALIENCY, '--out', out)).err).toBe('');
    const ok = await run('verify', out);
    expect(ok.err).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.out).toBe(`${out}: saliency on digits.onnx, 6 examples in 3 batches of 2\n3 of 3 batches done and valid\n`);

    fs.truncateSync(path.join(out, 'batch-000001-0.npy'), 10);
    fs.unlinkSync(path.join(out, 'batch-000002.json'));
    const bad = await run('verify', out);
    expect(bad.code).toBe(1);
    expect(bad.out).toContain('batch 1: invalid: batch-000001-0.npy is 10 bytes, its record says');
    expect(bad.out).toContain('missing: batch 2\n');
    expect(bad.out).toContain('1 of 3 batches done and valid, 1 invalid, 1 missing\n');
    expect(bad.err).toBe(`attribution: verify: '${out}' is not complete: 1 invalid and 1 missing of 3 batches (rerun the explain-dataset command to compute them)\n`);

    const partial = path.join(w.dir, 'partial');
    expect((await run('explain-dataset', w.model, '--inputs', w.stack, ...SALIENCY, '--out', partial, '--shard', '1/3')).err).toBe('');
    const some = await run('verify', partial);
    expect(some.code).toBe(1);
    expect(some.out).toContain('missing: batches 0, 2\n');

    const notResults = await run('verify', w.dir);
    expect(notResults.code).toBe(1);
    expect(notResults.err).toBe(`attribution: folder: expected a folder written by 'attribution explain-dataset', with a manifest.json, got '${w.dir}' (no manifest.json).\n`);
  });
});
