import { fork } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { normalizeArgs, resolveTarget, targetRowLimit, withScope } from '@attribution/core';
import { fromOnnx, hostBackend, type HostTensor, type OnnxModel } from '@attribution/onnx';
import { ArgumentError, describeChoices, toNumbers } from '@attribution/tensor';
import { dump } from 'npyjs';
import { chooseMethod, labelsOf, loadRuntime, methodOptions, modelOptions, parseProviders, type MethodFlags } from './methods.js';
import { LimitError, parseLimits } from './limits.js';
import { sha256Path } from './hash.js';
import { checkOutputFolder, type ReadPath } from './output.js';
import { parseOptions } from './read.js';
import { checkBatch, claimFolder, dropRecord, writeBatch, type Manifest } from './results.js';
import { runSeed, seedOption, seedingOf } from './seeding.js';
import { parseShard } from './shard.js';
import { openSource, type ExampleSource } from './stack.js';
import { writeDatasetSummary } from './summary.js';

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
  /** Write the statistics of the attributions over the dataset (mean, variance, std dev, min, max, count) here. */
  summary?: string;
}

/**
 * The sha256 of files and folders (streamed; see {@link sha256Path}), by resolved path. A worker starts with the
 * hashes its parent computed moments before (passed in ATTRIBUTION_HASHES), so that w workers do not each read
 * the whole dataset again.
 */
function hasher(): { hashes: Map<string, string>; sha256(location: string): Promise<string> } {
  const hashes = new Map<string, string>(process.env.ATTRIBUTION_WORKER === '1' ? Object.entries(JSON.parse(process.env.ATTRIBUTION_HASHES ?? '{}') as Record<string, string>) : []);
  return {
    hashes,
    async sha256(location) {
      const key = path.resolve(location);
      const known = hashes.get(key);
      if (known) return known;
      const hash = await sha256Path(location);
      hashes.set(key, hash);
      return hash;
    },
  };
}
/** `file`, checked to exist (a missing file is named as the flag's problem). */
const readable = (file: string, argument: string): string => {
  if (!fs.existsSync(file)) throw new ArgumentError(argument, 'a readable .npy or .json file', `'${file}'`);
  if (!fs.statSync(file).isFile()) throw new ArgumentError(argument, 'a readable .npy or .json file', `'${file}', ${fs.statSync(file).isDirectory() ? 'a folder' : 'not a regular file'}`);
  return file;
};

function positiveInteger(argument: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const v = Number(text);
  if (!Number.isInteger(v) || v < 1) throw new ArgumentError(argument, 'a positive integer', `'${text}'`);
  return v;
}

/** The targets of a batch's examples, as recorded: one index (or index tuple) per example. */
type BatchTargets = (start: number, end: number, model: OnnxModel, inputs: readonly HostTensor[], options: Record<string, unknown>) => Promise<(number | number[])[]>;

/**
 * Per-example targets: `--targets file.json` (an array of indices or class names of `--labels`, one per
 * example), or `--target predicted` (each example's predicted class, resolved per batch as the library does).
 */
function targetsFor(flags: DatasetFlags, examples: number, labels: readonly string[] | undefined): BatchTargets | undefined {
  if (flags.targets !== undefined && flags.target !== undefined) throw new ArgumentError('--targets', 'either --target or --targets', 'both');
  if (flags.targets !== undefined && flags.targetMask !== undefined) throw new ArgumentError('--target-mask', 'either --targets or --target-mask', 'both');
  if (flags.targets !== undefined) {
    const expected = `a JSON array of ${examples} integers${labels ? ' or class names of --labels' : ''}, one per example`;
    let list: unknown;
    try {
      list = JSON.parse(fs.readFileSync(flags.targets, 'utf8'));
    } catch (e) {
      throw new ArgumentError('--targets', `a JSON array of integers${labels ? ' or class names of --labels' : ''}, one per example`, `'${flags.targets}' (${(e as Error).message})`);
    }
    if (!Array.isArray(list) || list.length !== examples || !list.every((v) => Number.isInteger(v) || (labels !== undefined && typeof v === 'string'))) {
      const named = Array.isArray(list) && list.some((v) => typeof v === 'string');
      throw new ArgumentError('--targets', expected, `'${flags.targets}'`, named && !labels ? 'Name the classes with --labels <file> to give targets by name.' : undefined);
    }
    const indices = (list as (number | string)[]).map((v, i) => {
      if (typeof v === 'number') return v;
      const k = (labels as readonly string[]).indexOf(v);
      if (k < 0) throw new ArgumentError('--targets', describeChoices('the class names of --labels', v, labels as readonly string[]), `'${v}' at index ${i} of '${flags.targets}'`);
      return k;
    });
    return async (start, end) => indices.slice(start, end);
  }
  if (flags.target === 'predicted') {
    return async (_start, _end, model, inputs, options) =>
      (await withScope(hostBackend, (scope) => resolveTarget(model, 'predicted', inputs, normalizeArgs(options.additionalForwardArgs), scope, { maxRows: targetRowLimit(options) }))) as (number | number[])[];
  }
  return undefined;
}

/**
 * `attribution explain-dataset`: attributes every example of a dataset in batches and writes one result per
 * batch, so an interrupted run resumes where it stopped, `--shard k/n` lets n processes or machines share the
 * work with no coordination, and `--workers w` runs w processes here.
 */
export async function explainDataset(modelPath: string, flags: DatasetFlags, out: (text: string) => void): Promise<void> {
  await computeDataset(modelPath, flags, out);
  // Once every batch of the run is done (this shard's and the others'), its statistics; workers leave it to their parent.
  if (flags.summary !== undefined && process.env.ATTRIBUTION_WORKER !== '1') await writeDatasetSummary(flags.out, flags.summary, parseLimits(flags.limit), out);
}

async function computeDataset(modelPath: string, flags: DatasetFlags, out: (text: string) => void): Promise<void> {
  const method = chooseMethod(flags);
  modelOptions(flags); // checks --gradient before anything is written
  if (flags.inputs.length === 0) throw new ArgumentError('--inputs', 'a .npy stack, a .json tensor or a folder of them, one per model input', 'none');
  const batchSize = positiveInteger('--batch-size', flags.batchSize, 16);
  const shard = parseShard(flags.shard);
  const workers = positiveInteger('--workers', flags.workers, 1);
  const limits = parseLimits(flags.limit);
  if (workers > limits.workers) throw new LimitError('--workers', 'workers', limits, 'worker processes', `${workers}`, workers, undefined, 'by default the number of CPU cores');
  const sources: ExampleSource[] = await Promise.all(flags.inputs.map((f, i) => openSource(f, `--inputs #${i + 1}`, { limits, batchSize })));
  const examples = (sources[0] as ExampleSource).count;
  sources.forEach((s, i) => {
    if (s.count !== examples) throw new ArgumentError(`--inputs #${i + 1}`, `${examples} examples, as --inputs #1 '${flags.inputs[0]}'`, `${s.count} in '${flags.inputs[i]}'`);
  });
  if (!fs.existsSync(modelPath)) throw new ArgumentError('model', 'a readable ONNX file', `'${modelPath}'`);
  const batches = Math.ceil(examples / batchSize);
  const labels = await labelsOf(flags);
  const targetOf = targetsFor(flags, examples, labels);
  // The run's seed (given, or drawn here; a folder that holds the run already keeps its own).
  const parsed = parseOptions(flags.options);
  const runSeedOf = seedingOf(flags.method, parsed) === 'none' ? null : runSeed(parsed).seed;
  const isFile = (b: string): boolean => !(b.trim() !== '' && Number.isFinite(Number(b)));
  // Before anything is hashed, computed or written: the results folder is one this run may write, not an input.
  const reads: ReadPath[] = [
    { path: modelPath, what: 'the model' },
    ...flags.inputs.map((f, i) => ({ path: f, what: `the --inputs #${i + 1} ${fs.statSync(f).isDirectory() ? 'folder' : 'file'}` })),
    ...flags.baseline.flatMap((b, i) => (isFile(b) ? [{ path: b, what: `the --baseline #${i + 1} file` }] : [])),
    ...flags.featureMask.map((m, i) => ({ path: m, what: `the --feature-mask #${i + 1} file` })),
    ...(flags.targets !== undefined ? [{ path: flags.targets, what: 'the --targets file' }] : []),
    ...(flags.targetMask !== undefined ? [{ path: flags.targetMask, what: 'the --target-mask file' }] : []),
    ...(flags.labels !== undefined ? [{ path: flags.labels, what: 'the --labels file' }] : []),
  ];
  if (flags.summary !== undefined) {
    const target = path.resolve(flags.summary);
    const clash = reads.find((r) => path.resolve(r.path) === target);
    if (clash) throw new ArgumentError('--summary', 'a file that is not one of the inputs', `'${flags.summary}', ${clash.what}`);
    if (fs.existsSync(target) && fs.statSync(target).isDirectory()) throw new ArgumentError('--summary', 'a .json file to write', `'${flags.summary}', a folder`);
  }
  checkOutputFolder(flags.out, '--out', reads);
  const { hashes, sha256 } = hasher();
  const manifest: Manifest = {
    format: 2,
    model: { file: path.basename(modelPath), sha256: await sha256(modelPath) },
    method: flags.method,
    layer: flags.layer ?? null,
    neuron: flags.neuron ?? null,
    target: flags.target ?? null,
    targets: flags.targets === undefined ? null : await sha256(flags.targets),
    ...(flags.targetMask !== undefined ? { targetMask: await sha256(readable(flags.targetMask, '--target-mask')) } : {}),
    ...(flags.labels !== undefined ? { labels: await sha256(flags.labels) } : {}),
    ...(flags.gradient === 'finite-difference' ? { gradient: flags.gradient } : {}),
    ...(flags.ep !== undefined ? { executionProviders: (parseProviders(flags.ep) as string[]).join(',') } : {}),
    options: flags.options ?? null,
    seed: runSeedOf,
    baselines: await Promise.all(flags.baseline.map(async (b, i) => (isFile(b) ? sha256(readable(b, `--baseline #${i + 1}`)) : b))),
    featureMasks: await Promise.all(flags.featureMask.map((m, i) => sha256(readable(m, `--feature-mask #${i + 1}`)))),
    output: flags.output ?? null,
    batchSize,
    examples,
    batches,
    inputs: await Promise.all(sources.map(async (s, i) => ({ shape: s.shape, dtype: s.dtype, sha256: await sha256(flags.inputs[i] as string) }))),
  };
  // Of runs started at once into one folder, one creates the manifest; the others join it if they are the same run.
  const claimed = await claimFolder(flags.out, manifest);
  const mine = Array.from({ length: batches }, (_, b) => b).filter((b) => b % shard.count === shard.index);
  // A batch is done when its record validates (every array present with its recorded size and sha256).
  const todo: number[] = [];
  for (const b of mine) {
    const state = await checkBatch(flags.out, b, claimed);
    if (state.state === 'done') continue;
    if (state.state === 'invalid') {
      out(`batch ${b}: ${state.reason}; computing it again\n`);
      dropRecord(flags.out, b);
    }
    todo.push(b);
  }
  // Never more workers than batches: the sub-shards stay those of min(w, batches of this shard) workers.
  if (workers > 1) return runWorkers(modelPath, flags, shard, Math.min(workers, mine.length), todo, hashes, out);
  out(`${flags.method}: ${examples} examples in ${batches} batches of ${batchSize}; shard ${shard.index}/${shard.count}${flags.shard?.trim().startsWith('auto') ? ` (${shard.source})` : ''} has ${mine.length}, ${mine.length - todo.length} already done\n`);
  if (!todo.length) return;
  const ort = await loadRuntime(flags.runtime);
  // Workers run one ONNX Runtime thread each (ATTRIBUTION_THREADS=1), so w processes use w cores.
  const threads = Number(process.env.ATTRIBUTION_THREADS ?? 0);
  const model = await fromOnnx(ort, modelPath, { ...modelOptions(flags, limits, labels), ...(threads > 0 ? { sessionOptions: { intraOpNumThreads: threads } } : {}) });
  try {
    const options = await methodOptions({ ...flags, target: flags.target === 'predicted' ? undefined : flags.target }, sources.length, labels);
    const attribution = method.create(model, flags.layer);
    // Stochastic methods: example i's seed is derived from the run's seed and i (see seeding.ts), so results do
    // not depend on the batch size, the shards or how often the run was interrupted.
    const seeding = seedingOf(flags.method, options);
    const seed = claimed.seed ?? 0;
    for (const [k, b] of todo.entries()) {
      const start = b * batchSize;
      const end = Math.min(examples, start + batchSize);
      const inputs = await Promise.all(sources.map((s) => s.read(start, end)));
      const targets = await targetOf?.(start, end, model, inputs, options);
      // With --labels, a record names the class of each example whose target is one class index.
      const targetLabels = labels && targets?.every((t) => typeof t === 'number') ? targets.map((t) => labels.at(t as number) ?? String(t)) : undefined;
      const seeds = seedOption(seeding, seed, start, end);
      const batchOptions = { ...options, ...(targets ? { target: targets } : {}), ...(seeds !== undefined ? { seed: seeds } : {}) };
      const result = await attribution.attribute(inputs, batchOptions);
      const tensors = (Array.isArray(result.attributions) ? result.attributions : [result.attributions]) as HostTensor[];
      const arrays = tensors.map((t) => new Uint8Array(dump(Float32Array.from(toNumbers(t.data as never)), [...t.dims])));
      const delta = result.delta ? Array.from(toNumbers((result.delta as HostTensor).data as never)) : undefined;
      writeBatch(flags.out, { batch: b, start, end, ...(targets ? { targets } : {}), ...(targetLabels ? { targetLabels } : {}), ...(delta ? { delta } : {}) }, arrays);
      out(`batch ${b} (${k + 1}/${todo.length} of this run): examples ${start}–${end - 1}\n`);
    }
  } finally {
    model.dispose();
  }
}

/**
 * This process's Node flags less its export conditions (`--conditions`, `-C`): a worker runs the built CLI and
 * must load the built packages, also when this process runs on the sources (tests run with
 * `--conditions attribution-source`, which would point the worker's imports at `.ts` files).
 */
function workerExecArgv(): string[] {
  const kept: string[] = [];
  for (let i = 0; i < process.execArgv.length; i++) {
    const flag = process.execArgv[i] as string;
    if (flag === '--conditions' || flag === '-C') i++;
    else if (!flag.startsWith('--conditions=') && !flag.startsWith('-C=')) kept.push(flag);
  }
  return kept;
}

/**
 * Writes a worker's output to `out` with `prefix` before every line. Output arrives in chunks that may hold
 * several lines or end inside one; a partial line waits for its end (or for {@link end}).
 */
export function prefixLines(prefix: string, out: (text: string) => void): { write: (chunk: string) => void; end: () => void } {
  let pending = '';
  return {
    write: (chunk) => {
      const text = pending + chunk;
      const cut = text.lastIndexOf('\n') + 1;
      pending = text.slice(cut);
      if (cut) out(text.slice(0, cut - 1).split('\n').map((line) => `${prefix}${line}\n`).join(''));
    },
    end: () => {
      if (pending) out(`${prefix}${pending}\n`);
      pending = '';
    },
  };
}

/**
 * Runs `workers` processes of this CLI, each on a sub-shard of `shard`; batch b goes to worker ⌊b / n⌋ mod w.
 * Only the workers with batches `todo` are started.
 */
async function runWorkers(
  modelPath: string,
  flags: DatasetFlags,
  shard: { index: number; count: number },
  workers: number,
  todo: readonly number[],
  hashes: ReadonlyMap<string, string>,
  out: (text: string) => void,
): Promise<void> {
  const busy = [...new Set(todo.map((b) => Math.floor(b / shard.count) % workers))].sort((a, b) => a - b);
  if (!busy.length) {
    out(`${flags.method}: every batch of shard ${shard.index}/${shard.count} is already done\n`);
    return;
  }
  const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
  if (!fs.existsSync(bin)) throw new ArgumentError('--workers', 'a built CLI (packages/cli/dist/bin.js) to start workers from', 'none');
  const args = datasetArgs(modelPath, flags);
  // Workers end with this process (an exit, e.g. when its output pipe closes, or SIGINT/SIGTERM sent to it
  // alone); finished batches stay, and the same command resumes.
  const children = new Set<ReturnType<typeof fork>>();
  const stop = (): void => children.forEach((c) => c.kill());
  const interrupted = (signal: NodeJS.Signals): void => {
    stop();
    process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
  };
  process.once('exit', stop);
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  const codes = await Promise.all(
    busy.map((j) => {
      const sub = `${shard.index + shard.count * j}/${shard.count * workers}`;
      const env = { ...process.env, ATTRIBUTION_THREADS: '1', ATTRIBUTION_WORKER: '1', ATTRIBUTION_HASHES: JSON.stringify(Object.fromEntries(hashes)) };
      const child = fork(bin, [...args, '--shard', sub], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env, execArgv: workerExecArgv() });
      children.add(child);
      child.on('exit', () => children.delete(child));
      const lines = prefixLines(`[worker ${j}] `, out);
      child.stdout?.setEncoding('utf8').on('data', lines.write);
      let err = '';
      child.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
      // 'close', not 'exit': the worker's output pipes are read to their end first.
      return new Promise<number>((resolve) => child.on('close', (code) => {
        lines.end();
        if (code !== 0) lines.write(`failed: ${err.trim() || `exit code ${code}`}\n`);
        resolve(code ?? 1);
      }));
    }),
  );
  process.off('exit', stop);
  process.off('SIGINT', interrupted);
  process.off('SIGTERM', interrupted);
  const failed = codes.filter((c) => c !== 0).length;
  if (failed) throw new ArgumentError('--workers', `${busy.length} workers that finish`, `${failed} that failed (see above); rerun to resume`);
}

/** The command line that reproduces `flags` (without --shard and --workers), for worker processes. */
function datasetArgs(modelPath: string, f: DatasetFlags): string[] {
  const args = ['explain-dataset', modelPath, '--method', f.method, '--out', f.out, '--runtime', f.runtime];
  for (const i of f.inputs) args.push('--inputs', i);
  for (const b of f.baseline) args.push('--baseline', b);
  for (const m of f.featureMask) args.push('--feature-mask', m);
  for (const l of f.limit ?? []) args.push('--limit', l);
  const optional: [string, string | undefined][] = [
    ['--target', f.target],
    ['--targets', f.targets],
    ['--target-mask', f.targetMask],
    ['--labels', f.labels],
    ['--layer', f.layer],
    ['--neuron', f.neuron],
    ['--options', f.options],
    ['--output', f.output],
    ['--gradient', f.gradient],
    ['--ep', f.ep],
    ['--batch-size', f.batchSize],
  ];
  for (const [flag, value] of optional) if (value !== undefined) args.push(flag, value);
  if (f.cache === false) args.push('--no-cache');
  return args;
}
