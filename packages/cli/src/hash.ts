import { createHash, type Hash } from 'node:crypto';
import { open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';

const CHUNK = 1 << 20;

async function streamInto(hash: Hash, file: string): Promise<void> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, CHUNK, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
    }
  } finally {
    await handle.close();
  }
}

/** The sha256 of a file's bytes (hex), read in 1 MiB chunks: memory does not grow with the file. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  await streamInto(hash, file);
  return hash.digest('hex');
}

/** The sha256 of bytes in memory (hex). */
export const sha256Bytes = (bytes: string | Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Folder entries that hold examples (as `explain-dataset` reads them), in name order. */
export const exampleFiles = (names: readonly string[]): string[] => names.filter((f) => /\.(npy|json)$/i.test(f)).sort();

async function folderInto(hash: Hash, folder: string): Promise<void> {
  for (const name of exampleFiles(await readdir(folder))) {
    const file = path.join(folder, name);
    const info = await stat(file);
    hash.update(`${name}\0${info.isDirectory() ? 'folder' : info.size}\0`);
    if (info.isDirectory()) await folderInto(hash, file);
    else await streamInto(hash, file);
  }
}

/**
 * The sha256 of a file, or of a folder of example files: over each `.npy`/`.json` entry in name order, its
 * name and size then its bytes (so renaming, reordering or changing any file changes the hash). Streamed.
 */
export async function sha256Path(location: string): Promise<string> {
  if (!(await stat(location)).isDirectory()) return sha256File(location);
  const hash = createHash('sha256');
  await folderInto(hash, location);
  return hash.digest('hex');
}
