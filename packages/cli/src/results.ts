import fs from 'node:fs';
import path from 'node:path';
import { ArgumentError, AttributionError } from '@attribution/tensor';
import { sha256Bytes, sha256File } from './hash.js';
import { createExclusive, isTemporary, outputError, syncFolder, writeAtomic } from './output.js';

/** What a dataset run writes to `<out>/manifest.json`; a resumed run or another shard must match it. */
export interface Manifest {
  readonly format: 2;
  /** The model file's name (for people) and the sha256 of its bytes (what is compared). */
  readonly model: { readonly file: string; readonly sha256: string };
  readonly method: string;
  readonly layer: string | null;
  readonly neuron: string | null;
  readonly target: string | null;
  /** The sha256 of `--targets`. */
  readonly targets: string | null;
  /** The sha256 of `--target-mask`, when given. */
  readonly targetMask?: string;
  /** The sha256 of `--labels`, when given. */
  readonly labels?: string;
  /** 'finite-difference' when gradients are estimated (absent for the backward graph). */
  readonly gradient?: string;
  /** The `--ep` providers, when given (results of different providers differ in rounding: not mixed in one run). */
  readonly executionProviders?: string;
  readonly options: string | null;
  /**
   * The run's seed, for methods that draw random numbers: the `seed` of `--options`, or one drawn by the run that
   * created the folder (resumed runs and other shards reuse it). Example i is seeded from it and i.
   */
  readonly seed: number | null;
  /** Per `--baseline`: the sha256 of its file, or the number given. */
  readonly baselines: readonly string[];
  /** Per `--feature-mask`: the sha256 of its file. */
  readonly featureMasks: readonly string[];
  readonly output: string | null;
  readonly batchSize: number;
  readonly examples: number;
  readonly batches: number;
  /** Per `--inputs`: example shape, dtype, and the sha256 of the file or folder (its example files in name order). */
  readonly inputs: readonly { readonly shape: readonly number[]; readonly dtype: string; readonly sha256: string }[];
}

/** An array file of a batch: its name, size in bytes and sha256, checked before the batch counts as done. */
export interface ArrayFile {
  readonly name: string;
  readonly bytes: number;
  readonly sha256: string;
}

/** What `<out>/batch-NNNNNN.json` records; it is written last, and the batch counts as done when it validates. */
export interface BatchRecord {
  readonly batch: number;
  /** Examples `[start, end)` of the dataset. */
  readonly start: number;
  readonly end: number;
  /** The target of each example, when there is one: a class index, or an index tuple for outputs of higher rank. */
  readonly targets?: readonly (number | readonly number[])[];
  /** The class name of each example's target, with `--labels`. */
  readonly targetLabels?: readonly string[];
  /** One `.npy` per attribution tensor, `[end − start, …]`, with its size and sha256. */
  readonly files: readonly ArrayFile[];
  readonly delta?: readonly number[];
}

export const MANIFEST = 'manifest.json';
export const batchName = (b: number): string => `batch-${String(b).padStart(6, '0')}`;
const short = (hash: string): string => `${hash.slice(0, 12)}…`;
const text = (v: unknown): string => (v === null || v === undefined ? 'none' : typeof v === 'string' ? `'${v}'` : JSON.stringify(v));

/** What differs between the run in a folder (`there`) and this one (`here`), in words; empty when they are the same run. */
export function manifestDifferences(there: Manifest, here: Manifest): string[] {
  if (there.format !== here.format) return [`format (${text(there.format)} in the folder, ${here.format} here: written by another version, use a new folder)`];
  const out: string[] = [];
  if (there.model?.sha256 !== here.model.sha256) out.push(`the model (sha256 ${short(here.model.sha256)} here, ${short(String(there.model?.sha256))} in the manifest: a different or changed file)`);
  const lists: [keyof Manifest, string][] = [
    ['inputs', '--inputs'],
    ['baselines', '--baseline'],
    ['featureMasks', '--feature-mask'],
  ];
  for (const [key, flag] of lists) {
    const a = (there[key] ?? []) as readonly unknown[];
    const b = here[key] as readonly unknown[];
    if (a.length !== b.length) {
      out.push(`the number of ${flag} (${b.length} here, ${a.length} in the manifest)`);
      continue;
    }
    b.forEach((v, i) => {
      const w = a[i];
      if (JSON.stringify(v) === JSON.stringify(w)) return;
      if (key === 'inputs') {
        const x = v as Manifest['inputs'][number];
        const y = w as Manifest['inputs'][number];
        if (x.sha256 !== y?.sha256 && JSON.stringify(x.shape) === JSON.stringify(y?.shape) && x.dtype === y?.dtype) {
          out.push(`${flag} #${i + 1} (its content changed: sha256 ${short(x.sha256)} here, ${short(String(y?.sha256))} in the manifest)`);
        } else out.push(`${flag} #${i + 1} (examples [${x.shape.join(', ')}] ${x.dtype} here, [${y?.shape?.join(', ')}] ${y?.dtype} in the manifest)`);
      } else out.push(`${flag} #${i + 1} (${/^[0-9a-f]{64}$/.test(String(v)) ? `sha256 ${short(String(v))}` : text(v)} here, ${/^[0-9a-f]{64}$/.test(String(w)) ? `sha256 ${short(String(w))}` : text(w)} in the manifest)`);
    });
  }
  const hashed: [keyof Manifest, string][] = [
    ['targets', '--targets'],
    ['targetMask', '--target-mask'],
    ['labels', '--labels'],
  ];
  for (const [key, flag] of hashed) {
    const a = there[key] as string | null | undefined;
    const b = here[key] as string | null | undefined;
    if ((a ?? null) !== (b ?? null)) out.push(`${flag} (${b ? `sha256 ${short(b)}` : 'none'} here, ${a ? `sha256 ${short(a)}` : 'none'} in the manifest)`);
  }
  // The seed is part of the options when given; a drawn seed is the folder's, and is reused.
  const plain: (keyof Manifest)[] = ['method', 'layer', 'neuron', 'target', 'gradient', 'executionProviders', 'options', 'output', 'batchSize', 'examples', 'batches'];
  for (const key of plain) {
    if (JSON.stringify(there[key] ?? null) !== JSON.stringify(here[key] ?? null)) out.push(`${key} (${text(here[key])} here, ${text(there[key])} in the manifest)`);
  }
  return out;
}

/** Reads and parses `<dir>/manifest.json` (undefined when it does not exist). */
export function readManifest(dir: string): Manifest | undefined {
  let content: string;
  try {
    content = fs.readFileSync(path.join(dir, MANIFEST), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  return JSON.parse(content) as Manifest;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Claims `out` for the run `manifest`, or joins the run already there: the manifest is created exclusively
 * (of several processes starting at once, exactly one creates it; the others read it), so two different runs
 * are never both accepted into one folder. Returns the manifest in effect, whose seed the run uses.
 */
export async function claimFolder(out: string, manifest: Manifest): Promise<Manifest> {
  const file = path.join(out, MANIFEST);
  try {
    fs.mkdirSync(out, { recursive: true });
  } catch (e) {
    throw outputError('--out', file, e);
  }
  if (createExclusive(file, `${JSON.stringify(manifest, null, 2)}\n`, { argument: '--out' })) return manifest;
  let existing: Manifest | undefined;
  // A manifest is complete once it has its name (hard link), except where links are unsupported and another
  // process may still be writing it: then it is read again for a moment.
  for (let attempt = 0; ; attempt++) {
    try {
      existing = readManifest(out);
      break;
    } catch (e) {
      if (attempt >= 40) throw new ArgumentError('--out', `a folder whose ${MANIFEST} is readable`, `'${out}' (${(e as Error).message})`);
      await sleep(25);
    }
  }
  if (!existing) throw new ArgumentError('--out', `a folder whose ${MANIFEST} stays in place`, `'${out}' (it was removed while this run started)`);
  const differs = manifestDifferences(existing, manifest);
  if (differs.length) {
    const started = fs.readdirSync(out).some((f) => /^batch-\d+\.json$/.test(f));
    throw new ArgumentError(
      '--out',
      'an empty folder, or one holding the same run (to resume or add shards)',
      `'${out}', whose run differs in ${differs.join('; ')}`,
      started ? undefined : `No batch of that run is finished: delete '${file}' to start this run there instead.`,
    );
  }
  return existing;
}

/** The state of batch b in a results folder. */
export type BatchState = { readonly state: 'done'; readonly record: BatchRecord } | { readonly state: 'missing' } | { readonly state: 'invalid'; readonly reason: string };

const isArrayFile = (f: unknown): f is ArrayFile =>
  typeof f === 'object' &&
  f !== null &&
  typeof (f as ArrayFile).name === 'string' &&
  /^batch-\d{6,}-\d+\.npy$/.test((f as ArrayFile).name) &&
  Number.isSafeInteger((f as ArrayFile).bytes) &&
  typeof (f as ArrayFile).sha256 === 'string';

/**
 * Checks batch `b`: its record exists and is for the batch's examples, and every array file it lists exists
 * with the recorded size and sha256. Only then does the batch count as done.
 */
export async function checkBatch(dir: string, b: number, manifest: Pick<Manifest, 'batchSize' | 'examples'>): Promise<BatchState> {
  const file = path.join(dir, `${batchName(b)}.json`);
  let content: string;
  try {
    content = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'missing' };
    return { state: 'invalid', reason: `its record cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` };
  }
  let record: BatchRecord;
  try {
    record = JSON.parse(content) as BatchRecord;
  } catch {
    return { state: 'invalid', reason: `its record ${batchName(b)}.json is not valid JSON` };
  }
  const start = b * manifest.batchSize;
  const end = Math.min(manifest.examples, start + manifest.batchSize);
  if (record?.batch !== b || record.start !== start || record.end !== end) return { state: 'invalid', reason: `its record is not that of examples ${start}–${end - 1}` };
  if (!Array.isArray(record.files) || record.files.length === 0 || !record.files.every(isArrayFile)) {
    return { state: 'invalid', reason: 'its record lists no array files with their sizes and sha256' };
  }
  for (const f of record.files) {
    const where = path.join(dir, f.name);
    let size: number;
    try {
      size = fs.statSync(where).size;
    } catch {
      return { state: 'invalid', reason: `${f.name} is missing` };
    }
    if (size !== f.bytes) return { state: 'invalid', reason: `${f.name} is ${size} bytes, its record says ${f.bytes}` };
    if ((await sha256File(where)) !== f.sha256) return { state: 'invalid', reason: `${f.name} does not match the sha256 in its record (changed or damaged)` };
  }
  return { state: 'done', record };
}

/**
 * Writes batch b: each array atomically (temporary file, fsync, rename), the folder fsynced, then the record
 * with every array's size and sha256, atomically and fsynced. A failure (full or read-only disk) leaves no
 * record, so the batch is not counted as done and a rerun computes it.
 */
export function writeBatch(dir: string, record: Omit<BatchRecord, 'files'>, arrays: readonly Uint8Array[]): BatchRecord {
  const hint = `Batch ${record.batch} is not recorded as done; fix this and rerun the same command to resume.`;
  const files = arrays.map((bytes, i): ArrayFile => {
    const name = `${batchName(record.batch)}-${i}.npy`;
    writeAtomic(path.join(dir, name), bytes, { argument: '--out', hint, syncFolder: false });
    return { name, bytes: bytes.length, sha256: sha256Bytes(bytes) };
  });
  syncFolder(dir, '--out');
  const full: BatchRecord = { batch: record.batch, start: record.start, end: record.end, ...(record.targets ? { targets: record.targets } : {}), ...(record.targetLabels ? { targetLabels: record.targetLabels } : {}), files, ...(record.delta ? { delta: record.delta } : {}) };
  writeAtomic(path.join(dir, `${batchName(record.batch)}.json`), `${JSON.stringify(full)}\n`, { argument: '--out', hint });
  return full;
}

/** Removes batch b's record, so that it no longer counts as done (before it is computed again). */
export function dropRecord(dir: string, b: number): void {
  try {
    fs.unlinkSync(path.join(dir, `${batchName(b)}.json`));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw outputError('--out', path.join(dir, `${batchName(b)}.json`), e);
  }
}

/** Reads the finished batches of a dataset run back, in example order (for tests and small datasets). */
export function readDatasetRun(out: string): { records: BatchRecord[]; manifest: Manifest } {
  const manifest = JSON.parse(fs.readFileSync(path.join(out, MANIFEST), 'utf8')) as Manifest;
  const records = fs
    .readdirSync(out)
    .filter((f) => /^batch-\d+\.json$/.test(f))
    .sort()
    .map((f) => JSON.parse(fs.readFileSync(path.join(out, f), 'utf8')) as BatchRecord);
  return { records, manifest };
}

/** What `attribution verify` found in a results folder. */
export interface VerifyReport {
  readonly manifest: Manifest;
  readonly done: readonly number[];
  readonly missing: readonly number[];
  readonly invalid: readonly { readonly batch: number; readonly reason: string }[];
  /** Temporary files left by interrupted writes (safe to delete). */
  readonly temporary: readonly string[];
}

/** Re-checks a results folder: its manifest, and every batch's record and array files. */
export async function verifyFolder(dir: string): Promise<VerifyReport> {
  let manifest: Manifest | undefined;
  try {
    manifest = readManifest(dir);
  } catch (e) {
    throw new ArgumentError('folder', `a folder written by 'attribution explain-dataset', with a readable ${MANIFEST}`, `'${dir}' (${(e as Error).message})`);
  }
  if (!manifest) throw new ArgumentError('folder', `a folder written by 'attribution explain-dataset', with a ${MANIFEST}`, `'${dir}' (no ${MANIFEST})`);
  if (manifest.format !== 2 || !Number.isSafeInteger(manifest.batches) || !Number.isSafeInteger(manifest.batchSize) || !Number.isSafeInteger(manifest.examples)) {
    throw new ArgumentError('folder', `a ${MANIFEST} of format 2 with batches, batchSize and examples`, `'${dir}' (format ${text(manifest.format)})`);
  }
  const done: number[] = [];
  const missing: number[] = [];
  const invalid: { batch: number; reason: string }[] = [];
  for (let b = 0; b < manifest.batches; b++) {
    const s = await checkBatch(dir, b, manifest);
    if (s.state === 'done') done.push(b);
    else if (s.state === 'missing') missing.push(b);
    else invalid.push({ batch: b, reason: s.reason });
  }
  return { manifest, done, missing, invalid, temporary: fs.readdirSync(dir).filter(isTemporary) };
}

/** `0, 2–5, 9`: a sorted list of batch numbers with runs collapsed. */
export function ranges(list: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < list.length; ) {
    let j = i;
    while (j + 1 < list.length && (list[j + 1] as number) === (list[j] as number) + 1) j++;
    parts.push(j === i ? `${list[i]}` : `${list[i]}–${list[j]}`);
    i = j + 1;
  }
  return parts.join(', ');
}

/** `attribution verify <dir>`: prints what it found; a folder with missing or invalid batches is an error (exit 1). */
export async function verifyCommand(dir: string, out: (text: string) => void): Promise<void> {
  const r = await verifyFolder(dir);
  const m = r.manifest;
  const lines = [`${dir}: ${m.method} on ${m.model.file}, ${m.examples} examples in ${m.batches} batches of ${m.batchSize}${m.seed !== null ? `, seed ${m.seed}` : ''}`];
  for (const { batch, reason } of r.invalid) lines.push(`batch ${batch}: invalid: ${reason}`);
  if (r.missing.length) lines.push(`missing: batch${r.missing.length === 1 ? '' : 'es'} ${ranges(r.missing)}`);
  if (r.temporary.length) lines.push(`${r.temporary.length} temporary file${r.temporary.length === 1 ? '' : 's'} left by interrupted writes (safe to delete): ${r.temporary.slice(0, 3).join(', ')}${r.temporary.length > 3 ? ', …' : ''}`);
  lines.push(`${r.done.length} of ${m.batches} batches done and valid${r.invalid.length ? `, ${r.invalid.length} invalid` : ''}${r.missing.length ? `, ${r.missing.length} missing` : ''}`);
  out(`${lines.join('\n')}\n`);
  if (r.invalid.length || r.missing.length) {
    throw new AttributionError(`verify: '${dir}' is not complete: ${[r.invalid.length ? `${r.invalid.length} invalid` : '', r.missing.length ? `${r.missing.length} missing` : ''].filter(Boolean).join(' and ')} of ${m.batches} batches (rerun the explain-dataset command to compute them)`, 'ERR_INCOMPLETE');
  }
}
