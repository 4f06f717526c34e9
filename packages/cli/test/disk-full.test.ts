import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dump } from 'npyjs';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { readDatasetRun, verifyFolder } from '../src/index.js';
import { run } from './run.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const digits = path.join(here, '../../conformance/fixtures/real/digits_cnn.onnx');
const samples = JSON.parse(fs.readFileSync(path.join(here, '../../conformance/fixtures/real/digits_cnn.samples.json'), 'utf8')) as { images: number[][] };
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attribution-disk-'));
const stack = path.join(dir, 'six.npy');
fs.writeFileSync(stack, new Uint8Array(dump(Float32Array.from(samples.images.slice(0, 6).flat()), [6, 1, 8, 8])));

const FLAGS = ['--inputs', stack, '--method', 'gradient-shap', '--baseline', stack, '--target', '3', '--batch-size', '2', '--options', '{"nSamples":2,"seed":3}'];
const dataset = (out: string, ...more: string[]): ReturnType<typeof run> => run('explain-dataset', digits, ...FLAGS, '--out', out, ...more);
const files = (out: string): Map<string, Buffer> => new Map(fs.readdirSync(out).filter((f) => f.startsWith('batch-')).map((f) => [f, fs.readFileSync(path.join(out, f))]));
const failure = (code: string): Error => Object.assign(new Error(`${code}: simulated`), { code });

/** Makes the system call `call` fail with `code` for files whose name contains `name` (write stubs: no real full disk needed). */
function failFor(name: string, code: string, call: 'write' | 'rename'): void {
  if (call === 'rename') {
    const rename = fs.renameSync;
    vi.spyOn(fs, 'renameSync').mockImplementation((from, to) => {
      if (String(to).includes(name)) throw failure(code);
      rename(from, to);
    });
    return;
  }
  const open = fs.openSync;
  const write = fs.writeSync;
  const doomed = new Set<number>();
  vi.spyOn(fs, 'openSync').mockImplementation(((file: fs.PathLike, ...rest: unknown[]) => {
    const fd = (open as (...a: unknown[]) => number)(file, ...rest);
    if (String(file).includes(name)) doomed.add(fd);
    return fd;
  }) as typeof fs.openSync);
  vi.spyOn(fs, 'writeSync').mockImplementation(((fd: number, ...rest: unknown[]) => {
    if (doomed.has(fd)) throw failure(code);
    return (write as (...a: unknown[]) => number)(fd, ...rest);
  }) as typeof fs.writeSync);
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('a full or read-only disk during a dataset run (simulated with write stubs)', () => {
  it('is a typed error naming the folder; no partial batch counts as done; a rerun resumes to the uninterrupted results', async () => {
    const reference = path.join(dir, 'reference');
    expect((await dataset(reference)).err).toBe('');

    const out = path.join(dir, 'full');
    failFor('batch-000002-0.npy', 'ENOSPC', 'write');
    const full = await dataset(out);
    vi.restoreAllMocks();
    expect(full.code).toBe(1);
    expect(full.err).toBe(`attribution: --out: could not write 'batch-000002-0.npy' in the folder '${out}' (ENOSPC: no space left on the device). Batch 2 is not recorded as done; fix this and rerun the same command to resume.\n`);
    expect(fs.readdirSync(out).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const after = await verifyFolder(out);
    expect([after.done, after.missing, after.invalid]).toEqual([[0, 1], [2], []]);

    // Read-only when the record is renamed into place: the arrays are there, the record is not, so batch 1 is redone.
    fs.unlinkSync(path.join(out, 'batch-000001.json'));
    failFor('batch-000001.json', 'EROFS', 'rename');
    const readOnly = await dataset(out);
    vi.restoreAllMocks();
    expect(readOnly.err).toBe(`attribution: --out: could not write 'batch-000001.json' in the folder '${out}' (EROFS: read-only file system). Batch 1 is not recorded as done; fix this and rerun the same command to resume.\n`);
    expect(fs.existsSync(path.join(out, 'batch-000001.json'))).toBe(false);

    const resumed = await dataset(out);
    expect(resumed.err).toBe('');
    expect(resumed.out).toMatch(/shard 0\/1 has 3, 1 already done/);
    expect(files(out)).toEqual(files(reference));
  });
});

/** A small tmpfs, where this process may mount one (root on Linux): a real full and read-only file system. */
const mountPoint = path.join(dir, 'tmpfs');
const mounted = ((): boolean => {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
  try {
    fs.mkdirSync(mountPoint);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', mountPoint], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

afterAll(() => {
  if (mounted) execFileSync('umount', ['-l', mountPoint], { stdio: 'ignore' });
});

describe.runIf(mounted)('a real full and read-only tmpfs', () => {
  it('ENOSPC and EROFS end the run with a typed error naming the folder; after freeing space a rerun completes it', async () => {
    const reference = path.join(dir, 'reference-tmpfs');
    expect((await dataset(reference)).err).toBe('');
    const out = path.join(mountPoint, 'run');
    fs.mkdirSync(out);
    // Fill the file system but for a few pages: the manifest and a batch or two fit, the rest does not.
    const { bavail, bsize } = fs.statfsSync(mountPoint);
    const filler = path.join(mountPoint, 'filler');
    fs.writeFileSync(filler, Buffer.alloc(Math.max(0, (bavail - 4) * bsize)));
    const full = await dataset(out);
    expect(full.code).toBe(1);
    expect(full.err).toMatch(new RegExp(`^attribution: --out: could not write '[^']+' in the folder '${out}' \\(ENOSPC: no space left on the device\\)\\.`));
    expect(full.err.trim().split('\n')).toHaveLength(1);
    const partial = await verifyFolder(out);
    expect(partial.invalid).toEqual([]);
    expect(partial.missing.length).toBeGreaterThan(0);
    expect(partial.temporary).toEqual([]);
    fs.unlinkSync(filler);

    // Read-only: refused before any work, naming the folder; writable again, the run completes.
    execFileSync('mount', ['-o', 'remount,ro', mountPoint], { stdio: 'ignore' });
    let readOnly: Awaited<ReturnType<typeof run>>;
    try {
      readOnly = await dataset(out);
    } finally {
      execFileSync('mount', ['-o', 'remount,rw', mountPoint], { stdio: 'ignore' });
    }
    expect(readOnly.err).toBe(`attribution: --out: expected a writable folder, got '${out}' (the folder '${out}' is not writable: EROFS).\n`);
    const resumed = await dataset(out);
    expect(resumed.err).toBe('');
    expect(resumed.out).toContain(`${partial.done.length} already done`);
    expect(readDatasetRun(out).records).toHaveLength(3);
    expect(files(out)).toEqual(files(reference));
  });
});
