import type fs from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { tensor, type HostTensor } from '@attribution/onnx';
import { ArgumentError, sizeOf } from '@attribution/tensor';
import { DEFAULT_LIMITS, LimitError, type Limits } from './limits.js';
import { openFile, readNpyData, readNpyHeader, type NpyHeader } from './npy.js';
import { readTensor } from './read.js';

/** A dataset of examples along dimension 0, read in slices so that memory depends on the slice, not the dataset. */
export interface ExampleSource {
  /** The file or folder the examples come from (for messages). */
  readonly location?: string;
  /** Number of examples. */
  readonly count: number;
  /** Shape of one example (without the batch dimension). */
  readonly shape: readonly number[];
  readonly dtype: string;
  /** Examples `[start, end)` as one tensor `[end − start, …shape]`. */
  read(start: number, end: number): Promise<HostTensor>;
}

type Typed = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;

/** A `.npy` stack `[M, …]`, read slice by slice from the file; its header and size are checked when opened. */
async function npyStack(file: string, argument: string, limits: Limits): Promise<ExampleSource> {
  const { handle, size } = await openFile(file, argument, 'a .npy stack, a .json tensor or a folder of them');
  let header: NpyHeader;
  try {
    header = await readNpyHeader(handle, size, file, argument, limits);
  } finally {
    await handle.close();
  }
  const { shape, type } = header;
  if (shape.length < 1) throw new ArgumentError(argument, 'a stack of examples [M, …]', `'${file}' of shape ()`);
  const per = sizeOf(shape.slice(1));
  return {
    location: file,
    count: shape[0] as number,
    shape: shape.slice(1),
    dtype: type.dtype,
    async read(start, end) {
      const { handle: h } = await openFile(file, argument, 'a readable .npy stack');
      try {
        return tensor(await readNpyData(h, header, start * per, (end - start) * per, file, argument), [end - start, ...shape.slice(1)]);
      } finally {
        await h.close();
      }
    },
  };
}

/** A tensor held in memory (a `.json` file) as a source. */
function memorySource(t: HostTensor, location: string, argument: string): ExampleSource {
  if (t.dims.length < 1) throw new ArgumentError(argument, 'a stack of examples [M, …]', `'${location}' of shape []`);
  const per = sizeOf(t.dims.slice(1));
  return {
    location,
    count: t.dims[0] as number,
    shape: t.dims.slice(1),
    dtype: t.type,
    async read(start, end) {
      const data = t.data as Typed;
      return tensor(data.slice(start * per, end * per) as never, [end - start, ...t.dims.slice(1)]);
    },
  };
}

/** Several sources one after another (the files of a folder, in name order). */
function concatenated(parts: readonly ExampleSource[], location: string, argument: string): ExampleSource {
  const first = parts[0];
  if (!first) throw new ArgumentError(argument, 'a folder with at least one .npy or .json file', `'${location}', a folder without any`);
  for (const p of parts) {
    if (p.shape.join() !== first.shape.join() || p.dtype !== first.dtype) {
      throw new ArgumentError(
        argument,
        `files of examples of one shape and dtype, [${first.shape.join(', ')}] ${first.dtype} as in '${first.location}'`,
        `[${p.shape.join(', ')}] ${p.dtype} in '${p.location}'`,
      );
    }
  }
  const starts = parts.map((_, i) => parts.slice(0, i).reduce((a, p) => a + p.count, 0));
  const count = parts.reduce((a, p) => a + p.count, 0);
  return {
    location,
    count,
    shape: first.shape,
    dtype: first.dtype,
    async read(start, end) {
      const read = await Promise.all(
        parts.flatMap((p, i) => {
          const s = Math.max(start, starts[i] as number);
          const e = Math.min(end, (starts[i] as number) + p.count);
          return s < e ? [p.read(s - (starts[i] as number), e - (starts[i] as number))] : [];
        }),
      );
      if (read.length === 1) return read[0] as HostTensor;
      const per = sizeOf(first.shape);
      const out = (read[0]?.data as Typed).constructor as new (n: number) => Typed;
      const data = new out((end - start) * per);
      let offset = 0;
      for (const r of read) {
        (data as Float32Array).set(r.data as Float32Array, offset);
        offset += (r.dims[0] as number) * per;
      }
      return tensor(data as never, [end - start, ...first.shape]);
    },
  };
}

async function openAny(location: string, argument: string, limits: Limits): Promise<ExampleSource> {
  let info: fs.Stats;
  try {
    info = await stat(location);
  } catch (e) {
    throw new ArgumentError(argument, 'a .npy stack, a .json tensor or a folder of them', `'${location}' (${(e as Error).message})`);
  }
  if (info.isDirectory()) {
    const files = (await readdir(location)).filter((f) => /\.(npy|json)$/i.test(f)).sort();
    const parts: ExampleSource[] = [];
    for (const f of files) parts.push(await openAny(path.join(location, f), argument, limits));
    return concatenated(parts, location, argument);
  }
  if (location.toLowerCase().endsWith('.npy')) return npyStack(location, argument, limits);
  return memorySource(await readTensor(location, argument, limits), location, argument);
}

/** How {@link openSource} checks a source against the limits. */
export interface SourceOptions {
  /** The limits (default {@link DEFAULT_LIMITS}): at most `rows` examples, and batches of at most `elements`. */
  readonly limits?: Limits;
  /** The examples read at once, checked against `limits.elements` (default 1). */
  readonly batchSize?: number;
}

/**
 * Opens `--inputs`: a `.npy` stack, a `.json` tensor, or a folder of them (concatenated in file-name order).
 * Every `.npy` header is checked against the file's size (a truncated file is refused, not zero-filled), and
 * the examples and the elements of one batch against the limits.
 */
export async function openSource(location: string, argument: string, options: SourceOptions = {}): Promise<ExampleSource> {
  const limits = options.limits ?? DEFAULT_LIMITS;
  const source = await openAny(location, argument, limits);
  if (source.count > limits.rows) {
    throw new LimitError(argument, 'rows', limits, 'examples', `${source.count.toLocaleString('en-US')} in '${location}'`, source.count);
  }
  const rows = Math.max(1, Math.min(options.batchSize ?? 1, source.count));
  const elements = rows * sizeOf(source.shape);
  if (elements > limits.elements) {
    throw new LimitError(
      argument,
      'elements',
      limits,
      'elements per batch',
      `${rows} example${rows === 1 ? '' : 's'} of [${source.shape.join(', ')}] from '${location}' (${elements.toLocaleString('en-US')} elements)`,
      elements,
      rows > 1 ? 'Lower --batch-size' : undefined,
    );
  }
  return source;
}
