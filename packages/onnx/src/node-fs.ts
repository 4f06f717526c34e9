// Selected by the `node` condition of the `#node-fs` import (package.json `imports`): the only module of the
// package that imports `node:` modules. Browsers and their bundles get no-fs.ts instead.
import { open, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FileSystem } from './file-system.js';

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
};
