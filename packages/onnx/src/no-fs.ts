// Selected outside Node by the `#node-fs` import (package.json `imports`): no file system, so paths and
// `file:` URLs are refused and models come from http(s) URLs or bytes.
import type { FileSystem } from './file-system.js';

export const fileSystem: FileSystem | undefined = undefined;
