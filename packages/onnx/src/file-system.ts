import type { CacheStore } from './cache-store.js';

/**
 * The file access the package needs, and only in Node: `#node-fs` resolves to `node-fs.ts` under the `node`
 * condition and to `no-fs.ts` elsewhere (browsers, workers, bundles for them), so a browser bundle imports no
 * `node:` module. Paths are the platform's; URLs are `file:` URLs.
 */
export interface FileSystem {
  /** The whole file. */
  readFile(file: string | URL): Promise<Uint8Array>;
  /** The path with symbolic links resolved (throws when it does not exist). */
  realpath(file: string): Promise<string>;
  isDirectory(file: string): Promise<boolean>;
  /** Opens a file for reading byte ranges. */
  open(file: string): Promise<OpenFile>;
  resolve(...paths: string[]): string;
  relative(from: string, to: string): string;
  isAbsolute(file: string): boolean;
  fileURLToPath(url: URL): string;
  /** The cache of built gradient models (see cache-store.ts). */
  readonly cache: CacheStore;
}

/** A file open for reading. */
export interface OpenFile {
  size(): Promise<number>;
  /** Reads up to `length` bytes at `position` into `into[offset…]`; the number read (0 at the end). */
  read(into: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  close(): Promise<void>;
}
