import { ArgumentError, BackendError, ShapeError, describeValue, type Backend } from '@attribution/tensor';
import { nodeFs } from '#node-fs';
import { parseNpy } from './npy.js';

/** One batch of concept examples: a tensor (dimension 0 = examples), or one tensor per model input. */
export type ConceptBatch<T> = T | readonly T[];

/**
 * A concept's examples, in batches: an array or (async) iterable of batches, or a function returning a fresh
 * one (the form to use for generators, since examples may be read more than once).
 */
export type ConceptDataset<T> =
  | Iterable<ConceptBatch<T>>
  | AsyncIterable<ConceptBatch<T>>
  | (() => Iterable<ConceptBatch<T>> | AsyncIterable<ConceptBatch<T>>);

/**
 * A human-friendly idea ("striped", "dotted") given by examples (Captum's `Concept`). The id (an integer)
 * labels the concept's examples when CAVs are trained and names it in result keys; the name is for people.
 */
export class Concept<T = unknown> {
  readonly id: number;
  readonly name: string;
  /** The examples; undefined for a concept loaded with a saved CAV. */
  readonly dataset: ConceptDataset<T> | undefined;

  constructor(id: number, name: string, dataset?: ConceptDataset<T>) {
    if (!Number.isInteger(id) || id < 0) throw new ArgumentError('id', 'a non-negative integer concept id', describeValue(id));
    if (typeof name !== 'string' || name.length === 0) throw new ArgumentError('name', 'a non-empty concept name', describeValue(name));
    if (dataset !== undefined && typeof dataset !== 'function') {
      const d = dataset as Partial<Iterable<unknown> & AsyncIterable<unknown>> | null;
      if (!d || (typeof d[Symbol.iterator] !== 'function' && typeof d[Symbol.asyncIterator] !== 'function')) {
        throw new ArgumentError('dataset', 'an array or (async) iterable of batches, or a function returning one', describeValue(dataset));
      }
    }
    this.id = id;
    this.name = name;
    this.dataset = dataset;
  }

  /** `<name>-<id>`, as Captum's `Concept.identifier`. */
  get identifier(): string {
    return `${this.name}-${this.id}`;
  }

  toString(): string {
    return `Concept(${this.id}, '${this.name}')`;
  }
}

/** The key of a list of concepts: their ids joined by '-' (Captum's `concepts_to_str`), e.g. `0-1`. */
export function conceptsKey(concepts: readonly Concept<unknown>[]): string {
  return concepts.map((c) => String(c.id)).join('-');
}

/** Batches made by this package (read from files): whoever consumes them frees them. */
const TRANSIENT = new WeakSet<object>();

/** Whether a batch tensor was made by this package and is to be freed after use. */
export function isTransientBatch(value: unknown): boolean {
  return typeof value === 'object' && value !== null && TRANSIENT.has(value);
}

/** Traverses a concept's batches. */
export async function* conceptBatches<T>(concept: Concept<T>): AsyncGenerator<ConceptBatch<T>> {
  const dataset = concept.dataset;
  if (dataset === undefined) throw new ArgumentError(`concept ${concept.id} ('${concept.name}')`, 'a concept with examples', 'a concept without a dataset');
  const d = typeof dataset === 'function' ? dataset() : dataset;
  if (d && typeof (d as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') yield* d as AsyncIterable<ConceptBatch<T>>;
  else if (d && typeof (d as Iterable<unknown>)[Symbol.iterator] === 'function') yield* d as Iterable<ConceptBatch<T>>;
  else throw new ArgumentError(`concept ${concept.id} dataset`, 'a function returning an (async) iterable of batches', describeValue(d));
}

/** Options of {@link conceptFromNpyFolder}. */
export interface NpyFolderOptions {
  /** Examples per batch (default 64, Captum's `dataset_to_dataloader`). */
  readonly batchSize?: number;
}

/**
 * A concept whose examples are the `.npy` files of a folder, one example per file (all of one shape), read in
 * name order and stacked into batches of `batchSize` as float32 tensors of `backend` (Captum's
 * `CustomIterableDataset` + `dataset_to_dataloader`). Node only; the files are read when the examples are
 * traversed, one batch at a time.
 */
export function conceptFromNpyFolder<T>(backend: Backend<T>, id: number, name: string, folder: string, options: NpyFolderOptions = {}): Concept<T> {
  const fs = nodeFs;
  if (!fs) throw new BackendError('conceptFromNpyFolder reads files and needs Node; in a browser, build the concept from tensors.');
  if (typeof folder !== 'string' || folder.length === 0) throw new ArgumentError('folder', 'a folder path', describeValue(folder));
  const batchSize = options.batchSize ?? 64;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new ArgumentError('batchSize', 'an integer ≥ 1', describeValue(batchSize));
  const base = folder.endsWith('/') ? folder : `${folder}/`;
  async function* read(): AsyncGenerator<T> {
    let files: string[];
    try {
      files = (await fs!.list(folder)).filter((f) => f.endsWith('.npy'));
    } catch (cause) {
      throw new ArgumentError('folder', 'a readable folder of .npy files', folder, cause instanceof Error ? cause.message : undefined);
    }
    if (files.length === 0) throw new ArgumentError('folder', 'a folder with at least one .npy file', `${folder} (none)`);
    let shape: number[] | undefined;
    for (let start = 0; start < files.length; start += batchSize) {
      const names = files.slice(start, start + batchSize);
      const arrays = await Promise.all(names.map(async (f) => parseNpy(await fs!.readBytes(base + f), base + f)));
      shape ??= arrays[0]!.shape;
      const size = arrays[0]!.data.length;
      const values = new Float32Array(size * arrays.length);
      arrays.forEach((a, i) => {
        if (a.shape.join(',') !== shape!.join(',')) throw new ShapeError(base + names[i], `an example of shape [${shape!.join(', ')}] like the folder's first`, `[${a.shape.join(', ')}]`);
        values.set(a.data, i * size);
      });
      const batch = backend.tensor(values, [arrays.length, ...shape]);
      TRANSIENT.add(batch as object);
      yield batch;
    }
  }
  return new Concept(id, name, () => read());
}
