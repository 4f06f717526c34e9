// Selected by the `node` condition of the `#node-fs` import (package.json `imports`): the only module of the
// package that imports a `node:` module. Browsers and their bundles get no-fs.ts instead.
import { readFile } from 'node:fs/promises';

/** Reads a whole file (a path or a `file:` URL); undefined outside Node. */
export const readFileBytes: ((file: string | URL) => Promise<Uint8Array>) | undefined = async (file) => new Uint8Array(await readFile(file));
