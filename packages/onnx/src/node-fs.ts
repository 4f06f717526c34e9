// Selected by the `node` condition of the `#node-fs` import (package.json `imports`): the only module of the
// package that imports `node:` modules. Browsers and their bundles get no-fs.ts instead.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, realpath, rename, rm, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CacheStore } from './cache-store.js';
import type { FileSystem } from './file-system.js';

const ENTRY = /^[0-9a-f]{64}\.(json|onnx|opt\.onnx)$/;

/** Reads a file, or undefined when it does not exist. */
async function maybeRead(file: string): Promise<Uint8Array | undefined> {
  try {
    return new Uint8Array(await readFile(file));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Writes through a temporary file renamed into place: readers see the old file or the new one, never a part. */
async function writeAtomically(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** The entries' files, oldest use first (reads touch them). */
async function entries(folder: string): Promise<{ name: string; bytes: number; used: number }[]> {
  let names: string[];
  try {
    names = await readdir(folder);
  } catch {
    return [];
  }
  const files = await Promise.all(
    names.filter((n) => ENTRY.test(n)).map(async (name) => {
      const s = await stat(path.join(folder, name)).catch(() => undefined);
      return s ? { name, bytes: s.size, used: s.mtimeMs } : undefined;
    }),
  );
  return files.filter((f): f is { name: string; bytes: number; used: number } => f !== undefined).sort((a, b) => a.used - b.used);
}

let builderPrint: Promise<string> | undefined;

/**
 * The builder's fingerprint, set by a bundler (the command line's bundle defines it from the `@attribution/onnx-grad`
 * build it inlines, so that the key names the code that builds, not whichever copy is installed next to it).
 */
declare const __ATTRIBUTION_BUILDER__: string | undefined;

/** Path, size and modification time of every file under `dir`, hashed. */
async function fingerprint(dir: string): Promise<string> {
  const hash = createHash('sha256');
  const walk = async (at: string): Promise<void> => {
    const names = (await readdir(at, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const d of names) {
      const full = path.join(at, d.name);
      if (d.isDirectory()) await walk(full);
      else if (/\.(js|ts|json)$/.test(d.name)) {
        const s = await stat(full);
        hash.update(`${path.relative(dir, full)}:${s.size}:${s.mtimeMs}\n`);
      }
    }
  };
  await walk(dir);
  return hash.digest('hex');
}

const cache: CacheStore = {
  folder(given) {
    if (given) return path.resolve(given);
    const base = process.env.XDG_CACHE_HOME || (process.platform === 'win32' ? process.env.LOCALAPPDATA : undefined) || path.join(os.homedir(), '.cache');
    return path.join(base, 'attribution');
  },
  sha256: (bytes) => createHash('sha256').update(bytes).digest('hex'),
  machine: () => `${process.platform}/${process.arch}/${os.cpus()[0]?.model ?? 'unknown'}`,
  builder() {
    builderPrint ??= (async () => {
      if (typeof __ATTRIBUTION_BUILDER__ === 'string') return __ATTRIBUTION_BUILDER__;
      // The package folder of @attribution/onnx-grad: its build writes the fingerprint of the sources it compiled;
      // when tests run the sources themselves, their files are fingerprinted here.
      const dir = path.dirname(fileURLToPath(import.meta.resolve('@attribution/onnx-grad')));
      const built = await readFile(path.join(dir, 'build-fingerprint.txt'), 'utf8').catch(() => undefined);
      return built ? `build:${built.trim()}` : fingerprint(dir);
    })();
    return builderPrint;
  },
  async read(folder, key) {
    const base = path.join(folder, key);
    const meta = await maybeRead(`${base}.json`);
    if (!meta) return undefined;
    const optimized = (await stat(`${base}.opt.onnx`).catch(() => undefined))?.isFile() ? `${base}.opt.onnx` : undefined;
    // Mark the entry used (eviction goes by last use); a failure here only affects eviction order.
    const now = new Date();
    await utimes(`${base}.json`, now, now).catch(() => undefined);
    return { meta: new TextDecoder().decode(meta), model: () => maybeRead(`${base}.onnx`), ...(optimized ? { optimized } : {}) };
  },
  async write(folder, key, meta, model, maxBytes) {
    await mkdir(folder, { recursive: true });
    const base = path.join(folder, key);
    // The model first: an entry counts once its metadata exists. (The model as given is not copied: its entry
    // holds ONNX Runtime's optimised form only.)
    if (model.length > 0) await writeAtomically(`${base}.onnx`, model);
    await writeAtomically(`${base}.json`, meta);
    const all = await entries(folder);
    let total = all.reduce((n, f) => n + f.bytes, 0);
    for (const f of all) {
      if (total <= maxBytes) break;
      if (f.name.startsWith(key)) continue;
      await unlink(path.join(folder, f.name)).catch(() => undefined);
      total -= f.bytes;
    }
  },
  optimizedPaths(folder, key) {
    const final = path.join(folder, `${key}.opt.onnx`);
    return { temporary: `${final}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`, final };
  },
  async commit(temporary, final) {
    try {
      await rename(temporary, final);
      return true;
    } catch {
      await rm(temporary, { force: true });
      return false;
    }
  },
  async clear(folder) {
    let files = 0;
    let bytes = 0;
    for (const f of await entries(folder)) {
      await unlink(path.join(folder, f.name)).catch(() => undefined);
      files++;
      bytes += f.bytes;
    }
    for (const name of await readdir(folder).catch(() => [] as string[])) if (name.endsWith('.tmp')) await rm(path.join(folder, name), { force: true });
    return { files, bytes };
  },
  async size(folder) {
    const all = await entries(folder);
    return { entries: all.filter((f) => f.name.endsWith('.json')).length, bytes: all.reduce((n, f) => n + f.bytes, 0) };
  },
};

export const fileSystem: FileSystem | undefined = {
  readFile: async (file) => new Uint8Array(await readFile(file)),
  realpath: (file) => realpath(file),
  isDirectory: async (file) => (await stat(file)).isDirectory(),
  async open(file) {
    const handle = await open(file, 'r');
    return {
      size: async () => (await handle.stat()).size,
      read: async (into, offset, length, position) => (await handle.read(into, offset, length, position)).bytesRead,
      close: () => handle.close(),
    };
  },
  resolve: (...paths) => path.resolve(...paths),
  relative: (from, to) => path.relative(from, to),
  isAbsolute: (file) => path.isAbsolute(file),
  fileURLToPath: (url) => fileURLToPath(url),
  cache,
};
