import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dump } from 'npyjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDatasetRun, readTensor } from '../src/index.js';
import { run } from './run.js';

// Hostile and broken input files, limits and process behaviour: every case ends in one typed line naming the
// file or flag (or, for a closed output pipe, quietly), never in an abort, a stack trace or silent zeros.

const here = path.dirname(fileURLToPath(import.meta.url));
const digits = path.join(here, '../../conformance/fixtures/real/digits_cnn.onnx');
const digit = path.join(here, '../examples/digit-3.npy');
const bin = path.join(here, '../dist/bin.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attribution-inputs-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const file = (name: string, bytes: string | Uint8Array): string => {
  const at = path.join(dir, name);
  fs.mkdirSync(path.dirname(at), { recursive: true });
  fs.writeFileSync(at, bytes);
  return at;
};
/** A `.npy` file with this header dictionary (format `version`), declared header length and data. */
const npy = (dict: string, data: Uint8Array, { version = 1, declared }: { version?: number; declared?: number } = {}): Uint8Array => {
  const text = Buffer.from(`${dict}\n`, 'latin1');
  const pre = Buffer.alloc(version === 1 ? 10 : 12);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = version;
  if (version === 1) pre.writeUInt16LE(declared ?? text.length, 8);
  else pre.writeUInt32LE(declared ?? text.length, 8);
  return Buffer.concat([pre, text, data]);
};
const stack = (rows: number, offset = 0): Uint8Array => new Uint8Array(dump(Float32Array.from({ length: rows * 64 }, (_, i) => ((i + offset) % 17) / 17), [rows, 1, 8, 8]));
/** Runs the built CLI. */
function spawnBin(args: string[]): Promise<{ code: number | null; err: string }> {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, err })));
}
const SALIENCY = ['--method', 'saliency', '--target', '3'];

/** Expects the CLI to fail with exit code 1 and one line on stderr matching `pattern`. */
async function fails(argv: string[], pattern: RegExp): Promise<void> {
  const r = await run(...argv);
  expect(r.err, argv.join(' ')).toMatch(pattern);
  expect(r.err).not.toMatch(/unexpected error|\n {4}at /);
  expect(r.err.trim().split('\n'), r.err).toHaveLength(1);
  expect(r.code).toBe(1);
}

describe('.npy files', () => {
  it('a header that declares 4 GB is refused without allocating it (the process used to abort)', async () => {
    const huge = file('huge-header.npy', npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 8, 8), }", new Uint8Array(256), { version: 2, declared: 0xfffffff0 }));
    await fails(['explain', digits, ...SALIENCY, '--input', huge], /--input #1: expected a complete \.npy file, got '.*huge-header\.npy', whose header declares 4,294,967,280 bytes of header/);
    // explain-dataset read it with Buffer.alloc + fs.read and aborted Node (exit 134): run the real binary.
    const r = await spawnBin(['explain-dataset', digits, ...SALIENCY, '--inputs', huge, '--out', path.join(dir, 'huge-out')]);
    expect(r.err).toMatch(/^attribution: --inputs #1: expected a complete \.npy file, got '.*huge-header\.npy', whose header declares 4,294,967,280 bytes/);
    expect(r.code).toBe(1);
    // A header within the file but over the limit: the limit is named, with how to raise it.
    const padded = file('padded-header.npy', npy(`{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 8, 8), }${' '.repeat(3000)}`, new Uint8Array(256), { version: 2 }));
    await fails(['explain', digits, ...SALIENCY, '--input', padded, '--limit', 'npy-header=2048'], /--input #1: expected at most 2,048 bytes of \.npy header \(limit 'npy-header'\), got '.*padded-header\.npy' with a header of 3,0\d\d bytes\. Raise the limit with --limit npy-header=30\d\d if this is intended\./);
    expect((await run('explain', digits, ...SALIENCY, '--input', padded)).code).toBe(0);
  }, 20_000);

  it('a header claiming more rows than the file holds is refused, not planned (10⁹ rows) or zero-filled (a truncated stack in a folder)', async () => {
    const claims = file('claims.npy', npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000, 1, 8, 8), }", new Uint8Array(256)));
    await fails(['explain-dataset', digits, ...SALIENCY, '--inputs', claims, '--out', path.join(dir, 'claims-out')], /--inputs #1: expected a complete \.npy file, got '.*claims\.npy', whose header declares shape \[1000000000, 1, 8, 8\] of float32 \(256,000,000,000 bytes of data\) but which holds 256 bytes/);
    expect(fs.existsSync(path.join(dir, 'claims-out'))).toBe(false);
    // A folder whose first file lost its last bytes: the later files' examples would shift; refused instead.
    const whole = stack(3);
    file('parts/a.npy', whole.subarray(0, whole.length - 100));
    file('parts/b.npy', stack(2, 5));
    await fails(['explain-dataset', digits, ...SALIENCY, '--inputs', path.join(dir, 'parts'), '--out', path.join(dir, 'parts-out')], /--inputs #1: expected a complete \.npy file, got '.*parts[/\\]a\.npy', whose header declares shape \[3, 1, 8, 8\] of float32 \(768 bytes of data\) but which holds 668 bytes/);
    await fails(['explain', digits, ...SALIENCY, '--input', path.join(dir, 'parts/a.npy')], /--input #1: expected a complete \.npy file, got '.*a\.npy'.*holds 668 bytes/);
  });

  it('limits on elements per input and rows planned, each naming how to raise it', async () => {
    await fails(['explain', digits, ...SALIENCY, '--input', digit, '--limit', 'elements=63'], /--input #1: expected at most 63 elements per tensor \(limit 'elements'\), got '.*digit-3\.npy' of shape \[1, 1, 8, 8\] \(64 elements\)\. Raise the limit with --limit elements=64 if this is intended\./);
    const rows = file('rows.npy', stack(12));
    const out = path.join(dir, 'rows-out');
    await fails(['explain-dataset', digits, ...SALIENCY, '--inputs', rows, '--out', out, '--limit', 'rows=10'], /--inputs #1: expected at most 10 examples \(limit 'rows'\), got 12 in '.*rows\.npy'\. Raise the limit with --limit rows=12/);
    await fails(['explain-dataset', digits, ...SALIENCY, '--inputs', rows, '--out', out, '--batch-size', '4', '--limit', 'elements=200'], /--inputs #1: expected at most 200 elements per batch \(limit 'elements'\), got 4 examples of \[1, 8, 8\] from '.*rows\.npy' \(256 elements\)\. Lower --batch-size, or raise the limit with --limit elements=256/);
    await fails(['explain', digits, ...SALIENCY, '--input', digit, '--limit', 'element=5'], /--limit: expected name=value with a name among npy-header, elements, rows, workers, gradient-nodes, gradient-constant .*got 'element=5'\. Did you mean elements\?/);
    const r = await run('explain-dataset', digits, ...SALIENCY, '--inputs', rows, '--out', out, '--batch-size', '4', '--limit', 'rows=12', '--limit', 'elements=256');
    expect(r.err).toBe('');
    expect(readDatasetRun(out).records).toHaveLength(3);
  });

  it('messages name the file: a folder of mismatched files, inputs of different lengths, not a .npy, big-endian, unsupported dtypes', async () => {
    file('mixed/a.npy', stack(2));
    file('mixed/b.npy', new Uint8Array(dump(new Float32Array(2 * 32), [2, 32])));
    await fails(['explain-dataset', digits, ...SALIENCY, '--inputs', path.join(dir, 'mixed'), '--out', path.join(dir, 'mixed-out')], /--inputs #1: expected files of examples of one shape and dtype, \[1, 8, 8\] float32 as in '.*a\.npy', got \[32\] float32 in '.*b\.npy'/);
    const three = file('three.npy', stack(3));
    await fails(['explain-dataset', digits, ...SALIENCY, '--inputs', three, '--inputs', file('two.npy', stack(2)), '--out', path.join(dir, 'lengths-out')], /--inputs #2: expected 3 examples, as --inputs #1 '.*three\.npy', got 2 in '.*two\.npy'/);
    await fails(['explain', digits, ...SALIENCY, '--input', file('text.npy', 'hello world')], /--input #1: expected a \.npy file \(as numpy\.save writes it\), got '.*text\.npy' \(no NUMPY magic/);
    await fails(['explain', digits, ...SALIENCY, '--input', file('big-endian.npy', npy("{'descr': '>f4', 'fortran_order': False, 'shape': (1, 1, 8, 8), }", new Uint8Array(256)))], /expected a little-endian \.npy array \(x\.astype\('<f4'\)\), got '.*big-endian\.npy' of big-endian dtype '>f4'/);
    await fails(['explain', digits, ...SALIENCY, '--input', file('u64.npy', npy("{'descr': '<u8', 'fortran_order': False, 'shape': (1, 1, 8, 8), }", new Uint8Array(512)))], /expected a \.npy array of float32, float64, float16, .* or bool values, got '.*u64\.npy' of dtype '<u8'/);
  });

  it('bool arrays are read as bool tensors (for bool model inputs and masks); gradient methods refuse them as inputs', async () => {
    const bits = [1, 0, 2, 0, 1, 1];
    const bool = file('mask.npy', npy("{'descr': '|b1', 'fortran_order': False, 'shape': (2, 3), }", Uint8Array.from(bits)));
    const t = await readTensor(bool, '--feature-mask #1');
    expect(t.type).toBe('bool');
    expect(Array.from(t.data as Uint8Array)).toEqual([1, 0, 1, 0, 1, 1]);
    const image = file('image-mask.npy', npy("{'descr': '|b1', 'fortran_order': False, 'shape': (1, 1, 8, 8), }", Uint8Array.from({ length: 64 }, (_, i) => (i < 32 ? 1 : 0))));
    const r = await run('explain', digits, '--method', 'feature-ablation', '--target', '3', '--input', digit, '--feature-mask', image);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    await fails(['explain', digits, ...SALIENCY, '--input', image], /inputs\[0\]: expected a float32 or float64 tensor \(gradients need real numbers\), got dtype bool/);
  });
});

describe('.json files and other flags', () => {
  it('null, deeply nested, ragged and wrongly nested JSON are refused with the index where the shape breaks', async () => {
    await fails(['explain', digits, ...SALIENCY, '--input', file('null.json', 'null')], /--input #1: expected JSON of the form \{"shape": \[\.\.\], "dtype": "float32", "data": \[\.\.\]\}, got '.*null\.json' holding null\./);
    const deep = file('deep.json', `{"shape": [1], "data": ${'['.repeat(200_000)}${']'.repeat(200_000)}}`);
    await fails(['explain', digits, ...SALIENCY, '--input', deep], /--input #1: expected "data" nested as the shape \[1\], or flat \(1 value\), got '.*deep\.json', whose data\[0\] is an array where shape \[1\] has a number/);
    await fails(['explain', digits, ...SALIENCY, '--input', file('ragged.json', '{"shape": [2, 2], "data": [[1, 2, 3], [4]]}')], /got '.*ragged\.json', whose data\[0\] has 3 items where dimension 1 of shape \[2, 2\] is 2/);
    await fails(['explain', digits, ...SALIENCY, '--input', file('nested.json', '{"shape": [3], "data": [[1], [2], [3]]}')], /got '.*nested\.json', whose data\[0\] is an array where shape \[3\] has a number/);
    await fails(['explain', digits, ...SALIENCY, '--input', file('shallow.json', '{"shape": [2, 2], "data": [[1, 2], 3]}')], /got '.*shallow\.json', whose data\[1\] is 3 where dimension 1 of shape \[2, 2\] needs an array/);
    await fails(['explain', digits, ...SALIENCY, '--input', file('words.json', '{"shape": [2], "dtype": "int32", "data": [1, "2"]}')], /--input #1: expected int32 values in "data", got '.*words\.json', whose data\[1\] is "2"/);
    // Flat and properly nested data both read.
    const flat = await readTensor(file('flat.json', '{"shape": [2, 2], "data": [1, 2, 3, 4]}'), 'x');
    const nested = await readTensor(file('nested-ok.json', '{"shape": [2, 2], "dtype": "int64", "data": [[1, 2], [3, 4]]}'), 'x');
    expect(Array.from(flat.data as Float32Array)).toEqual([1, 2, 3, 4]);
    expect(Array.from(nested.data as BigInt64Array)).toEqual([1n, 2n, 3n, 4n]);
  });

  it('a missing --feature-mask, a --baseline or --input naming a folder', async () => {
    const folder = path.join(dir, 'a-folder');
    fs.mkdirSync(folder, { recursive: true });
    const three = file('three-again.npy', stack(3));
    const missing = path.join(dir, 'no-such-mask.npy');
    await fails(['explain-dataset', digits, '--method', 'feature-ablation', '--target', '3', '--inputs', three, '--feature-mask', missing, '--out', path.join(dir, 'm-out')], /--feature-mask #1: expected a readable \.npy or \.json file, got '.*no-such-mask\.npy'/);
    await fails(['explain-dataset', digits, '--method', 'integrated-gradients', '--target', '3', '--inputs', three, '--baseline', folder, '--out', path.join(dir, 'b-out')], /--baseline #1: expected a readable \.npy or \.json file, got '.*a-folder', a folder/);
    await fails(['explain', digits, '--method', 'feature-ablation', '--target', '3', '--input', digit, '--feature-mask', missing], /--feature-mask #1: expected a readable \.npy or \.json file, got '.*no-such-mask\.npy' \(ENOENT/);
    await fails(['explain', digits, '--method', 'integrated-gradients', '--target', '3', '--input', digit, '--baseline', folder], /--baseline #1: expected a \.npy or \.json file, got '.*a-folder', a folder/);
    await fails(['explain', digits, ...SALIENCY, '--input', path.join(dir, 'parts')], /--input #1: expected a \.npy or \.json file, got '.*parts', a folder/);
  });
});

describe('processes', () => {
  beforeAll(() => {
    if (!fs.existsSync(bin)) throw new Error('build the CLI first: pnpm turbo run build --filter=@attribution/cli...');
  });

  it('--workers: at most one per core unless raised, and never more than batches to do', async () => {
    const ten = file('ten.npy', stack(10));
    const cores = os.availableParallelism();
    await fails(['explain-dataset', digits, ...SALIENCY, '--inputs', ten, '--out', path.join(dir, 'w-out'), '--workers', String(cores + 1)], new RegExp(`--workers: expected at most ${cores} worker processes \\(limit 'workers': by default the number of CPU cores\\), got ${cores + 1}\\. Raise the limit with --limit workers=${cores + 1}`));
    // 2 batches: 2 workers started of the 8 asked for.
    const out = path.join(dir, 'w-out');
    const r = await run('explain-dataset', digits, ...SALIENCY, '--inputs', ten, '--out', out, '--batch-size', '5', '--workers', '8', '--limit', 'workers=8');
    expect(r.err).toBe('');
    expect(new Set(r.out.match(/\[worker \d+\]/g))).toEqual(new Set(['[worker 0]', '[worker 1]']));
    expect(readDatasetRun(out).records).toHaveLength(2);
    const again = await run('explain-dataset', digits, ...SALIENCY, '--inputs', ten, '--out', out, '--batch-size', '5', '--workers', '8', '--limit', 'workers=8');
    expect(again.out).toBe('saliency: every batch of shard 0/1 is already done\n');
  }, 30_000);

  it('a reader that closes the pipe early (| head -1) ends the command quietly', async () => {
    // The read end closed before the CLI writes: its writes fail with EPIPE, as after `| head -1` has its line.
    const child = spawn(process.execPath, [bin, 'inspect', digits, '--layers'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])));
    expect(err).toBe('');
    expect(signal).toBeNull();
    expect(code).toBe(0);
  }, 20_000);
});
