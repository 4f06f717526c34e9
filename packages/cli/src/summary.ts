import path from 'node:path';
import { ClassSummarizer, Count, Max, Mean, Min, StdDev, Var, type Summary } from '@attribution/core';
import type { HostTensor } from '@attribution/onnx';
import { toNumbers } from '@attribution/tensor';
import type { Limits } from './limits.js';
import { readNpyTensor } from './npy.js';
import { writeAtomic } from './output.js';
import { checkBatch, ranges, readManifest } from './results.js';

const fmt = (v: number): string => (v === 0 ? '0' : Math.abs(v) >= 1e-3 && Math.abs(v) < 1e4 ? v.toFixed(4) : v.toExponential(3));

function unravel(flat: number, dims: readonly number[]): number[] {
  const out: number[] = [];
  for (let d = dims.length - 1; d >= 0; d--) {
    out.unshift(flat % (dims[d] as number));
    flat = Math.floor(flat / (dims[d] as number));
  }
  return out;
}

/** The positions of the `top` largest |values|, largest first (ties: the earlier position), without sorting them all. */
function largest(values: ArrayLike<number>, top: number): number[] {
  const best: number[] = [];
  const size = (k: number): number => Math.abs(values[k] as number);
  for (let k = 0; k < values.length; k++) {
    if (best.length === top && size(k) <= size(best[top - 1] as number)) continue;
    let at = best.length;
    while (at > 0 && size(best[at - 1] as number) < size(k)) at--;
    best.splice(at, 0, k);
    if (best.length > top) best.pop();
  }
  return best;
}

/** A readable summary of attributions: per input its shape, sum, range and the largest entries. */
export function summarize(names: readonly string[], attributions: readonly HostTensor[], delta: HostTensor | undefined, top = 5): string {
  const lines: string[] = [];
  attributions.forEach((a, i) => {
    const values = toNumbers(a.data);
    let sum = 0;
    let min = Infinity;
    let max = -Infinity;
    for (const v of values) {
      sum += v;
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    lines.push(`${names[i] ?? `input ${i}`} [${a.dims.join(', ')}]: sum ${fmt(sum)}, min ${fmt(min)}, max ${fmt(max)}`);
    const order = largest(values, top);
    lines.push(`  largest |attribution|: ${order.map((k) => `[${unravel(k, a.dims).join(',')}] ${fmt(values[k] as number)}`).join(', ')}`);
  });
  if (delta) lines.push(`convergence delta: [${Array.from(toNumbers(delta.data), fmt).join(', ')}]`);
  return lines.join('\n');
}

/** The statistics `explain-dataset --summary` writes, per attribution tensor and position (Captum's names). */
export const DATASET_STATS = () => [Count(), Mean(), Var(), Var({ order: 1 }), StdDev(), StdDev({ order: 1 }), Min(), Max()];

/** Per attribution tensor: the shape of one row (example) and each statistic, one value per position. */
export interface SummaryOfTensor {
  readonly index: number;
  readonly shape: readonly number[];
  readonly stats: Readonly<Record<string, number | number[]>>;
}

/** What `explain-dataset --summary <file.json>` writes. */
export interface DatasetSummary {
  readonly format: 1;
  readonly method: string;
  /** The rows summarized: one per example (N·K for methods that return K rows per example). */
  readonly count: number;
  readonly attributions: readonly SummaryOfTensor[];
  /** Per target class (its --labels name or index), when each example has one target. */
  readonly classes?: Readonly<Record<string, readonly SummaryOfTensor[]>>;
}

const plain = (summaries: Summary | Summary[] | undefined, shapes: readonly (readonly number[])[]): SummaryOfTensor[] =>
  (Array.isArray(summaries) ? summaries : summaries ? [summaries] : []).map((s, index) => ({
    index,
    shape: shapes[index] ?? [],
    stats: Object.fromEntries(Object.entries(s).map(([k, v]) => [k, typeof v === 'number' ? v : Array.from(v)])),
  }));

/**
 * The statistics of the attributions of a finished `explain-dataset` run in `out`, streamed batch by batch
 * (memory: a few arrays of one example's size), element-wise over the examples, overall and per target class.
 * Returns the batches still missing instead when the run is not complete (e.g. other shards still running).
 */
export async function summarizeDatasetRun(out: string, limits: Limits): Promise<{ summary: DatasetSummary } | { missing: number[] }> {
  const manifest = readManifest(out);
  if (!manifest) return { missing: [] };
  const missing: number[] = [];
  const records = [];
  for (let b = 0; b < manifest.batches; b++) {
    const state = await checkBatch(out, b, manifest);
    if (state.state === 'done') records.push(state.record);
    else missing.push(b);
  }
  if (missing.length) return { missing };
  const summarizer = new ClassSummarizer(DATASET_STATS());
  let shapes: number[][] = [];
  for (const record of records) {
    const tensors = await Promise.all(record.files.map((f) => readNpyTensor(path.join(out, f.name), '--summary', limits)));
    shapes = tensors.map((t) => t.dims.slice(1));
    const rows = tensors[0]?.dims[0] ?? 0;
    const batches = tensors.map((t) => {
      const values = toNumbers(t.data);
      const size = values.length / Math.max(1, t.dims[0] ?? 1);
      return Array.from({ length: rows }, (_, r) => values.slice(r * size, (r + 1) * size));
    });
    const examples = record.end - record.start;
    const labels = rows === examples && record.targets?.every((t) => typeof t === 'number') ? record.targets.map((t, i) => record.targetLabels?.[i] ?? String(t)) : undefined;
    if (rows > 0) summarizer.update(batches, labels);
  }
  const classes = summarizer.classSummaries;
  return {
    summary: {
      format: 1,
      method: manifest.method,
      count: summarizer.count,
      attributions: plain(summarizer.summary, shapes),
      ...(classes.size ? { classes: Object.fromEntries([...classes].map(([k, v]) => [String(k), plain(v, shapes)])) } : {}),
    },
  };
}

/** `explain-dataset --summary`: writes the run's statistics to `file` once every batch is done; says what is missing otherwise. */
export async function writeDatasetSummary(out: string, file: string, limits: Limits, say: (text: string) => void): Promise<void> {
  const result = await summarizeDatasetRun(out, limits);
  if ('missing' in result) {
    say(`summary: not written yet, batches ${ranges(result.missing)} are not done (other shards?); rerun with --summary once they are\n`);
    return;
  }
  writeAtomic(file, `${JSON.stringify(result.summary)}\n`, { argument: '--summary' });
  say(`summary: statistics of ${result.summary.count} attribution rows written to ${file}\n`);
}
