/**
 * An on-disk cache of built gradient models (and ONNX Runtime's optimised form of them and of the models as given),
 * keyed by content: the
 * interface lives here, the Node implementation in node-fs.ts (browsers have none, so nothing is cached there).
 */
export interface CacheStore {
  /** The cache folder: `given`, or `$XDG_CACHE_HOME/attribution` (`~/.cache/attribution`; `%LOCALAPPDATA%\attribution` on Windows). */
  folder(given?: string): string;
  /** The sha256 of bytes, hex. */
  sha256(bytes: Uint8Array): string;
  /** What distinguishes this machine's optimised models (OS, architecture, CPU model): ONNX Runtime's may be CPU-specific. */
  machine(): string;
  /**
   * A fingerprint of the gradient builder's code (the sources `@attribution/onnx-grad` was built from, or its files
   * by path, size and modification time when it runs from sources): a cached model built by other code is not used.
   */
  builder(): Promise<string>;
  /** The entry `key` (its metadata and model bytes, and the optimised model's bytes when saved), or undefined. */
  read(folder: string, key: string): Promise<CacheEntry | undefined>;
  /**
   * Writes the entry atomically (temporary files renamed into place), then keeps the folder under `maxBytes`. An
   * empty `model` is not written (the entry of a model as given keeps ONNX Runtime's optimised form only).
   */
  write(folder: string, key: string, meta: string, model: Uint8Array, maxBytes: number): Promise<void>;
  /** A temporary path for ONNX Runtime's `optimizedModelFilePath`, and where it goes once written. */
  optimizedPaths(folder: string, key: string): { readonly temporary: string; readonly final: string };
  /** Moves a written optimised model into place (atomic rename); false when it was not written. */
  commit(temporary: string, final: string): Promise<boolean>;
  /** Deletes every entry; the number of files and bytes removed. */
  clear(folder: string): Promise<{ files: number; bytes: number }>;
  /** The number of entries and their total size. */
  size(folder: string): Promise<{ entries: number; bytes: number }>;
}

/** A cache entry. */
export interface CacheEntry {
  readonly meta: string;
  /** The gradient model's bytes (read when asked: with an optimised form they are not needed). */
  model(): Promise<Uint8Array | undefined>;
  /** The path of ONNX Runtime's optimised form, when saved (onnxruntime-node reads it itself, faster than from bytes). */
  readonly optimized?: string;
}
