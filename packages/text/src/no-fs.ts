// Selected outside Node by the `#node-fs` import (package.json `imports`): no file system, so model folders
// are read over fetch or given as files.

/** Reads a whole file (a path or a `file:` URL); undefined outside Node. */
export const readFileBytes: ((file: string | URL) => Promise<Uint8Array>) | undefined = undefined;
