// Selected by the `node` condition of the `#node-fs` import (package.json `imports`): the only module of the
// package that imports a `node:` module. Browsers and their bundles get no-fs.ts instead.
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** File access for CAV folders and `.npy` concept folders; undefined outside Node. */
export const nodeFs:
  | {
      readonly readBytes: (file: string) => Promise<Uint8Array>;
      readonly readText: (file: string) => Promise<string>;
      readonly writeText: (file: string, text: string) => Promise<void>;
      readonly list: (folder: string) => Promise<string[]>;
      readonly exists: (file: string) => Promise<boolean>;
    }
  | undefined = {
  readBytes: async (file) => new Uint8Array(await readFile(file)),
  readText: (file) => readFile(file, 'utf8'),
  writeText: async (file, text) => {
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, text, 'utf8');
  },
  list: async (folder) => (await readdir(folder)).sort(),
  exists: async (file) => {
    try {
      await stat(file);
      return true;
    } catch {
      return false;
    }
  },
};
