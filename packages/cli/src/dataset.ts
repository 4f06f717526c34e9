import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromOnnx, type HostTensor } from '@attribution/onnx';
import { ArgumentError, toNumbers } from '@attribution/tensor';
import { dump } from 'npyjs';
import { chooseMethod, loadRuntime, methodOptions, modelOptions, type MethodFlags } from './methods.js';
import { openSource, type ExampleSource } from './stack.js';

/** The flags of `attribution explain-dataset`. */
export interface DatasetFlags extends MethodFlags {
  inputs: string[];
  out: string;
  targets?: string;
  batchSize?: string;
  shard?: string;
  workers?: string;
  output?: string;
  runtime: string;
}

/** What a dataset run writes to `<out>/manifest.json`; a resumed run or another shard must match it. */
interface Manifest {
  readonly format: 1;
  readonly model: { readonly file: string; readonly sha256: string };
  readonly method: string;
  readonly layer: string | null;
  readonly neuron: string | null;
  readonly target: string | null;
  readonly targets: string | null;
  /** The sha256 of `--target-mask`, when given (absent otherwise, so earlier runs still resume). */
  readonly targetMask?: string;
  /** 'finite-difference' when gradients are estimated (absent for the backward graph, as in earlier runs). */
  readonly gradient?: string;
  readonly options: string | null;
  readonly baselines: readonly string[];
  readonly featureMasks: readonly string[];
  readonly output: string | null;
  readonly batchSize: number;
  readonly examples: number;
  readonly batches: number;
  readonly inputs: readonly { readonly shape: readonly number[]; readonly dtype: string }[];
}

/** What `<out>/batch-NNNNNN.json` records; it is written last, so its presence means the batch is complete. */
export interface BatchRecord {
  readonly batch: number;
  /** Examples `[start, end)` of the dataset. */
  readonly start: number;
  readonly end: number;
  /** The target of each example, when there is one. */
  readonly targets?: readonly number[];
  /** One `.npy` per attribution tensor, `[end − start, …]`. */
  readonly files: readonly string[];
  readonly delta?: readonly number[];
}

const sha256 = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
/** `file`, checked to exist (a missing file is named as the flag's problem). */
const readable = (file: string, argument: string): string => {
  if (!fs.existsSync(file)) throw new ArgumentError(argument, 'a readable .npy or .json file', `'${file}'`);
  return file;
};
const batchName = (b: number): string => `batch-${String(b).padStart(6, '0')}`;

/** Parses `--shard k/n`. */
export function parseShard(text: string | undefined): { index: number; count: number } {
  if (text === undefined) return { index: 0, count: 1 };
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || count < 1 || index >= count) throw new ArgumentError('--shard', 'k/n with 0 ≤ k < n, e.g. 0/4', `'${text}'`);
  return { index, count };
}

function positiveInteger(argument: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const v = Number(text);
  if (!Number.isInteger(v) || v < 1) throw new ArgumentError(argument, 'a positive integer', `'${text}'`);
  return v;
}

/** Writes a file atomically: a killed process leaves either the whole file or none (a stray `.tmp` at most). */
function writeAtomic(file: string, bytes: string | Uint8Array): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, bytes);
  fs.renameSync(tmp, file);
}

/** Checks or creates `<out>/manifest.json`, so runs that resume or share a folder compute the same thing. */
function checkManifest(out: string, manifest: Manifest): void {
  fs.mkdirSync(out, { recursive: true });
  const file = path.join(out, 'manifest.json');
  const text = `${JSON.stringify(manifest, null, 2)}\n`;
  if (!fs.existsSync(file)) {
    writeAtomic(file, text);
    return;
  }
  const existing = JSON.parse(fs.readFileSync(file, 'utf8')) as Manifest;
  const keys = new Set([...Object.keys(manifest), ...Object.keys(existing)] as (keyof Manifest)[]);
  const differs = [...keys].filter((k) => JSON.stringify(existing[k]) !== JSON.stringify(manifest[k]));
  if (differs.length) {
    throw new ArgumentError('--out', `an empty folder, or one holding the same run (to resume or add shards)`, `'${out}', whose run differs in ${differs.join(', ')}`);
  }
}

/** Per-example targets: `--targets file.json` (an array, one per example), `--target n`, or `--target predicted`. */
function targetsFor(flags: DatasetFlags, examples: number): ((start: number, end: number, logits?: Float64Array) => number[] | undefined) | undefined {
  if (flags.targets !== undefined && flags.target !== undefined) throw new ArgumentError('--targets', 'either --target or --targets', 'both');
  if (flags.targets !== undefined && flags.targetMask !== undefined) throw new ArgumentError('--target-mask', 'either --targets or --target-mask', 'both');
  if (flags.targets !== undefined) {
    let list: unknown;
    try {
      list = JSON.parse(fs.readFileSync(flags.targets, 'utf8'));
    } catch (e) {
      throw new ArgumentError('--targets', 'a JSON array of integers, one per example', `'${flags.targets}' (${(e as Error).message})`);
    }
    if (!Array.isArray(list) || list.length !== examples || !list.every((v) => Number.isInteger(v))) {
      throw new ArgumentError('--targets', `a JSON array of ${examples} integers, one per example`, `'${flags.targets}'`);
    }
    return (start, end) => (list as number[]).slice(start, end);
  }
  if (flags.target === 'predicted') {
    return (start, end, logits) => {
      const rows = end - start;
      const k = (logits as Float64Array).length / rows;
      return Array.from({ length: rows }, (_, i) => {
        let best = 0;
        for (let j = 1; j < k; j++) if ((logits as Float64Array)[i * k + j]! > (logits as Float64Array)[i * k + best]!) best = j;
        return best;
      });
    };
  }
  return undefined;
}

/** The seed of batch `b` for stochastic methods: results do not depend on how batches are split across runs. */
const batchSeed = (seed: number, b: number): number => (seed + Math.imul(b + 1, 0x9e3779b1)) >>> 1;

/**
 * `attribution explain-dataset`: attributes every example of a dataset in batches and writes one result per
 * batch, so an interrupted run resumes where it stopped, `--shard k/n` lets n processes or machines share the
 * work with no coordination, and `--workers w` runs w processes here.
 */
export async function explainDataset(modelPath: string, flags: DatasetFlags, out: (text: string) => void): Promise<void> {
  const method = chooseMethod(flags);
  modelOptions(flags); // checks --gradient before anything is written
  if (flags.inputs.length === 0) throw new ArgumentError('--inputs', 'a .npy stack, a .json tensor or a folder of them, one per model input', 'none');
  const batchSize = positiveInteger('--batch-size', flags.batchSize, 16);
  const shard = parseShard(flags.shard);
  const workers = positiveInteger('--workers', flags.workers, 1);
  const sources: ExampleSource[] = await Promise.all(flags.inputs.map((f, i) => openSource(f, `--inputs #${i + 1}`)));
  const examples = (sources[0] as ExampleSource).count;
  sources.forEach((s, i) => {
    if (s.count !== examples) throw new ArgumentError(`--inputs #${i + 1}`, `${examples} examples, as --inputs #1`, `${s.count}`);
  });
  if (!fs.existsSync(modelPath)) throw new ArgumentError('model', 'a readable ONNX file', `'${modelPath}'`);
  const batches = Math.ceil(examples / batchSize);
  const targetOf = targetsFor(flags, examples);
  checkManifest(flags.out, {
    format: 1,
    model: { file: path.basename(modelPath), sha256: sha256(modelPath) },
    method: flags.method,
    layer: flags.layer ?? null,
    neuron: flags.neuron ?? null,
    target: flags.target ?? null,
    targets: flags.targets === undefined ? null : sha256(flags.targets),
    ...(flags.targetMask !== undefined ? { targetMask: sha256(readable(flags.targetMask, '--target-mask')) } : {}),
    ...(flags.gradient === 'finite-difference' ? { gradient: flags.gradient } : {}),
    options: flags.options ?? null,
    baselines: flags.baseline.map((b) => (fs.existsSync(b) ? sha256(b) : b)),
    featureMasks: flags.featureMask.map(sha256),
    output: flags.output ?? null,
    batchSize,
    examples,
    batches,
    inputs: sources.map((s) => ({ shape: s.shape, dtype: s.dtype })),
  });
  if (workers > 1) return runWorkers(modelPath, flags, shard, workers, out);

  const mine = Array.from({ length: batches }, (_, b) => b).filter((b) => b % shard.count === shard.index);
  const todo = mine.filter((b) => !fs.existsSync(path.join(flags.out, `${batchName(b)}.json`)));
  out(`${flags.method}: ${examples} examples in ${batches} batches of ${batchSize}; shard ${shard.index}/${shard.count} has ${mine.length}, ${mine.length - todo.length} already done\n`);
  if (!todo.length) return;
  const ort = await loadRuntime(flags.runtime);
  // Workers run one ONNX Runtime thread each (ATTRIBUTION_THREADS=1), so w processes use w cores.
  const threads = Number(process.env.ATTRIBUTION_THREADS ?? 0);
  const model = await fromOnnx(ort, modelPath, { ...modelOptions(flags), ...(threads > 0 ? { sessionOptions: { intraOpNumThreads: threads } } : {}) });
  try {
    const options = await methodOptions({ ...flags, target: flags.target === 'predicted' ? undefined : flags.target }, sources.length);
    const attribution = method.create(model, flags.layer);
    const stochastic = (attribution as { stochastic?: boolean }).stochastic === true;
    const seed = typeof options.seed === 'number' ? options.seed : 0;
    for (const [k, b] of todo.entries()) {
      const start = b * batchSize;
      const end = Math.min(examples, start + batchSize);
      const inputs = await Promise.all(sources.map((s) => s.read(start, end)));
      let logits: Float64Array | undefined;
      if (flags.target === 'predicted') logits = Float64Array.from(toNumbers(((await model.forward({ inputs })).output as HostTensor).data as never));
      const targets = targetOf?.(start, end, logits);
      const batchOptions = { ...options, ...(targets ? { target: targets } : {}), ...(stochastic ? { seed: batchSeed(seed, b) } : {}) };
      const result = await attribution.attribute(inputs, batchOptions);
      const tensors = (Array.isArray(result.attributions) ? result.attributions : [result.attributions]) as HostTensor[];
      const files = tensors.map((t, i) => {
        const name = `${batchName(b)}-${i}.npy`;
        writeAtomic(path.join(flags.out, name), new Uint8Array(dump(Float32Array.from(toNumbers(t.data as never)), [...t.dims])));
        return name;
      });
      const delta = result.delta ? Array.from(toNumbers((result.delta as HostTensor).data as never)) : undefined;
      const record: BatchRecord = { batch: b, start, end, ...(targets ? { targets } : {}), files, ...(delta ? { delta } : {}) };
      writeAtomic(path.join(flags.out, `${batchName(b)}.json`), `${JSON.stringify(record)}\n`);
      out(`batch ${b} (${k + 1}/${todo.length} of this run): examples ${start}–${end - 1}\n`);
    }
  } finally {
    model.dispose();
  }
}

/** Runs `workers` processes of this CLI, each on a sub-shard of `shard`; batch b goes to worker ⌊b / n⌋ mod w. */
async function runWorkers(modelPath: string, flags: DatasetFlags, shard: { index: number; count: number }, workers: number, out: (text: string) => void): Promise<void> {
  const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
  if (!fs.existsSync(bin)) throw new ArgumentError('--workers', 'a built CLI (packages/cli/dist/bin.js) to start workers from', 'none');
  const args = datasetArgs(modelPath, flags);
  const codes = await Promise.all(
    Array.from({ length: workers }, (_, j) => {
      const sub = `${shard.index + shard.count * j}/${shard.count * workers}`;
      const child = fork(bin, [...args, '--shard', sub], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env: { ...process.env, ATTRIBUTION_THREADS: '1' } });
      child.stdout?.on('data', (d: Buffer) => out(`[worker ${j}] ${d.toString()}`));
      let err = '';
      child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
      return new Promise<number>((resolve) => child.on('exit', (code) => {
        if (code !== 0) out(`[worker ${j}] failed: ${err.trim()}\n`);
        resolve(code ?? 1);
      }));
    }),
  );
  const failed = codes.filter((c) => c !== 0).length;
  if (failed) throw new ArgumentError('--workers', `${workers} workers that finish`, `${failed} that failed (see above); rerun to resume`);
}

/** The command line that reproduces `flags` (without --shard and --workers), for worker processes. */
function datasetArgs(modelPath: string, f: DatasetFlags): string[] {
  const args = ['explain-dataset', modelPath, '--method', f.method, '--out', f.out, '--runtime', f.runtime];
  for (const i of f.inputs) args.push('--inputs', i);
  for (const b of f.baseline) args.push('--baseline', b);
  for (const m of f.featureMask) args.push('--feature-mask', m);
  const optional: [string, string | undefined][] = [
    ['--target', f.target],
    ['--targets', f.targets],
    ['--target-mask', f.targetMask],
    ['--layer', f.layer],
    ['--neuron', f.neuron],
    ['--options', f.options],
    ['--output', f.output],
    ['--gradient', f.gradient],
    ['--batch-size', f.batchSize],
  ];
  for (const [flag, value] of optional) if (value !== undefined) args.push(flag, value);
  return args;
}

/** Reads the finished batches of a dataset run back, in example order (for tests and small datasets). */
export function readDatasetRun(out: string): { records: BatchRecord[]; manifest: Manifest } {
  const manifest = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')) as Manifest;
  const records = fs
    .readdirSync(out)
    .filter((f) => /^batch-\d+\.json$/.test(f))
    .sort()
    .map((f) => JSON.parse(fs.readFileSync(path.join(out, f), 'utf8')) as BatchRecord);
  return { records, manifest };
}

