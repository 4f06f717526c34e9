import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { toNumbers } from '@attribution/tensor';
import { dump } from 'npyjs';
import { describe, expect, it } from 'vitest';
import { readDatasetRun } from '../src/index.js';
import { DEFAULT_LIMITS } from '../src/limits.js';
import { readNpyTensor } from '../src/npy.js';
import type { DatasetSummary } from '../src/summary.js';
import { run } from './run.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const digits = path.join(here, '../../conformance/fixtures/real/digits_cnn.onnx');
const samples = JSON.parse(fs.readFileSync(path.join(here, '../../conformance/fixtures/real/digits_cnn.samples.json'), 'utf8')) as { images: number[][]; labels: number[] };

function stack(n: number): { file: string; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attribution-summary-'));
  const file = path.join(dir, 'digits.npy');
  fs.writeFileSync(file, new Uint8Array(dump(Float32Array.from(samples.images.slice(0, n).flat()), [n, 1, 8, 8])));
  return { file, dir };
}

/** Every example's attribution row, read back from the run's .npy files. */
async function rowsOf(out: string): Promise<{ rows: number[][]; targets: number[] }> {
  const { records } = readDatasetRun(out);
  const rows: number[][] = [];
  const targets: number[] = [];
  for (const r of records) {
    const t = await readNpyTensor(path.join(out, r.files[0]?.name as string), 'test', DEFAULT_LIMITS);
    const data = Array.from(toNumbers(t.data));
    const size = data.length / (t.dims[0] as number);
    for (let i = 0; i < (t.dims[0] as number); i++) rows.push(data.slice(i * size, (i + 1) * size));
    targets.push(...((r.targets ?? []) as number[]));
  }
  return { rows, targets };
}

/** Two-pass statistics of a column set. */
function twoPass(rows: number[][]): { mean: number[]; variance: number[]; sample_variance: number[]; min: number[]; max: number[] } {
  const n = rows.length;
  const width = rows[0]?.length ?? 0;
  const col = (j: number): number[] => rows.map((r) => r[j] as number);
  const mean = Array.from({ length: width }, (_, j) => col(j).reduce((a, b) => a + b, 0) / n);
  const ss = Array.from({ length: width }, (_, j) => col(j).reduce((a, b) => a + (b - (mean[j] as number)) ** 2, 0));
  return { mean, variance: ss.map((s) => s / n), sample_variance: ss.map((s) => (n > 1 ? s / (n - 1) : 0)), min: Array.from({ length: width }, (_, j) => Math.min(...col(j))), max: Array.from({ length: width }, (_, j) => Math.max(...col(j))) };
}

const close = (got: unknown, want: number[]): void => {
  const g = got as number[];
  expect(g).toHaveLength(want.length);
  g.forEach((v, i) => expect(Math.abs(v - (want[i] as number))).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(want[i] as number))));
};

const SAL = ['--method', 'saliency', '--target', 'predicted', '--batch-size', '4'];

describe('attribution explain-dataset --summary', () => {
  it('writes per-position statistics over the dataset, overall and per target class', async () => {
    const { file, dir } = stack(10);
    const out = path.join(dir, 'run');
    const summaryFile = path.join(dir, 'summary.json');
    const r = await run('explain-dataset', digits, '--inputs', file, '--out', out, ...SAL, '--summary', summaryFile);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/summary: statistics of 10 attribution rows written/);
    const summary = JSON.parse(fs.readFileSync(summaryFile, 'utf8')) as DatasetSummary;
    expect(summary.format).toBe(1);
    expect(summary.method).toBe('saliency');
    expect(summary.count).toBe(10);
    const a = summary.attributions[0];
    expect(a?.shape).toEqual([1, 8, 8]);
    expect(Object.keys(a?.stats ?? {})).toEqual(['count', 'mean', 'variance', 'sample_variance', 'std_dev', 'sample_std_dev', 'min', 'max']);
    const { rows, targets } = await rowsOf(out);
    const want = twoPass(rows);
    close(a?.stats.mean, want.mean);
    close(a?.stats.variance, want.variance);
    close(a?.stats.sample_variance, want.sample_variance);
    close(a?.stats.std_dev, want.variance.map(Math.sqrt));
    close(a?.stats.min, want.min);
    close(a?.stats.max, want.max);
    expect(a?.stats.count).toBe(10);
    // per class: the predicted digit of each example
    const classes = [...new Set(targets)];
    expect(Object.keys(summary.classes ?? {}).sort()).toEqual(classes.map(String).sort());
    for (const c of classes) {
      const own = twoPass(rows.filter((_, i) => targets[i] === c));
      const s = summary.classes?.[String(c)]?.[0];
      expect(s?.stats.count).toBe(targets.filter((t) => t === c).length);
      close(s?.stats.mean, own.mean);
      close(s?.stats.variance, own.variance);
    }
  });

  it('waits for every shard: written by the run that completes the folder', async () => {
    const { file, dir } = stack(10);
    const out = path.join(dir, 'run');
    const summaryFile = path.join(dir, 'summary.json');
    const first = await run('explain-dataset', digits, '--inputs', file, '--out', out, ...SAL, '--shard', '0/2', '--summary', summaryFile);
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/summary: not written yet, batches 1 are not done/);
    expect(fs.existsSync(summaryFile)).toBe(false);
    const second = await run('explain-dataset', digits, '--inputs', file, '--out', out, ...SAL, '--shard', '1/2', '--summary', summaryFile);
    expect(second.code).toBe(0);
    expect(second.out).toMatch(/summary: statistics of 10 attribution rows/);
    expect((JSON.parse(fs.readFileSync(summaryFile, 'utf8')) as DatasetSummary).count).toBe(10);
  });

  it('rejects a --summary that is an input or a folder', async () => {
    const { file, dir } = stack(4);
    const clash = await run('explain-dataset', digits, '--inputs', file, '--out', path.join(dir, 'run'), ...SAL, '--summary', file);
    expect(clash.code).not.toBe(0);
    expect(clash.err).toMatch(/--summary: expected a file that is not one of the inputs/);
    const folder = await run('explain-dataset', digits, '--inputs', file, '--out', path.join(dir, 'run2'), ...SAL, '--summary', dir);
    expect(folder.err).toMatch(/--summary: expected a .json file to write/);
  });
});
