import type fs from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { tensor, type HostTensor } from '@attribution/onnx';
import { ArgumentError, sizeOf } from '@attribution/tensor';
import { readTensor } from './read.js';

/** A dataset of examples along dimension 0, read in slices so that memory depends on the slice, not the dataset. */
export interface ExampleSource {
  /** Number of examples. */
  readonly count: number;
  /** Shape of one example (without the batch dimension). */
  readonly shape: readonly number[];
  readonly dtype: string;
  /** Examples `[start, end)` as one tensor `[end − start, …shape]`. */
  read(start: number, end: number): Promise<HostTensor>;
}

type Typed = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;

const NPY_TYPES: Record<string, { dtype: string; bytes: number; make: (b: ArrayBuffer) => Typed }> = {
  '<f4': { dtype: 'float32', bytes: 4, make: (b) => new Float32Array(b) },
  '<f8': { dtype: 'float64', bytes: 8, make: (b) => new Float64Array(b) },
  '<i4': { dtype: 'int32', bytes: 4, make: (b) => new Int32Array(b) },
  '<i8': { dtype: 'int64', bytes: 8, make: (b) => new BigInt64Array(b) },
  '|b1': { dtype: 'bool', bytes: 1, make: (b) => new Uint8Array(b) },
};

/** The header of a `.npy` file (format versions 1–3): element type, shape and where the data starts. */
async function npyHeader(file: string, argument: string): Promise<{ descr: string; shape: number[]; offset: number }> {
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(12);
    await handle.read(head, 0, 12, 0);
    if (head.subarray(0, 6).toString('latin1') !== '\x93NUMPY') throw new ArgumentError(argument, 'a .npy file', `'${file}' (no NUMPY magic)`);
    const major = head[6] as number;
    const length = major === 1 ? head.readUInt16LE(8) : head.readUInt32LE(8);
    const start = major === 1 ? 10 : 12;
    const text = Buffer.alloc(length);
    await handle.read(text, 0, length, start);
    const header = text.toString('latin1');
    const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
    const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
    const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
    if (!descr || !fortran || shapeText === undefined) throw new ArgumentError(argument, 'a valid .npy header', `'${file}'`);
    if (fortran === 'True') throw new ArgumentError(argument, 'a C-ordered .npy array (np.ascontiguousarray)', `'${file}' in Fortran order`);
    const shape = shapeText.split(',').map((d) => d.trim()).filter(Boolean).map(Number);
    return { descr, shape, offset: start + length };
  } finally {
    await handle.close();
  }
}

/** A `.npy` stack `[M, …]`, read slice by slice from the file. */
async function npyStack(file: string, argument: string): Promise<ExampleSource> {
  const { descr, shape, offset } = await npyHeader(file, argument);
  const type = NPY_TYPES[descr];
  if (!type) throw new ArgumentError(argument, `a .npy array of ${Object.keys(NPY_TYPES).join(', ')}`, `'${file}' of dtype ${descr}`);
  if (shape.length < 1) throw new ArgumentError(argument, 'a stack of examples [M, …]', `'${file}' of shape ()`);
  const rowBytes = sizeOf(shape.slice(1)) * type.bytes;
  return {
    count: shape[0] as number,
    shape: shape.slice(1),
    dtype: type.dtype,
    async read(start, end) {
      const handle = await open(file, 'r');
      try {
        const bytes = new ArrayBuffer((end - start) * rowBytes);
        await handle.read(new Uint8Array(bytes), 0, bytes.byteLength, offset + start * rowBytes);
        const data = type.make(bytes);
        return tensor(type.dtype === 'bool' ? Int32Array.from(data as Uint8Array) : data, [end - start, ...shape.slice(1)]);
      } finally {
        await handle.close();
      }
    },
  };
}

/** A tensor held in memory (a `.json` file) as a source. */
function memorySource(t: HostTensor): ExampleSource {
  const per = sizeOf(t.dims.slice(1));
  return {
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
function concatenated(parts: readonly ExampleSource[], argument: string): ExampleSource {
  const first = parts[0];
  if (!first) throw new ArgumentError(argument, 'a folder with at least one .npy or .json file', 'an empty folder');
  for (const p of parts) {
    if (p.shape.join() !== first.shape.join() || p.dtype !== first.dtype) {
      throw new ArgumentError(argument, `files of examples of one shape [${first.shape.join(', ')}] and dtype ${first.dtype}`, `[${p.shape.join(', ')}] ${p.dtype}`);
    }
  }
  const starts = parts.map((_, i) => parts.slice(0, i).reduce((a, p) => a + p.count, 0));
  const count = parts.reduce((a, p) => a + p.count, 0);
  return {
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

/** Opens `--inputs`: a `.npy` stack, a `.json` tensor, or a folder of them (concatenated in file-name order). */
export async function openSource(location: string, argument: string): Promise<ExampleSource> {
  let info: fs.Stats;
  try {
    info = await stat(location);
  } catch (e) {
    throw new ArgumentError(argument, 'a .npy stack, a .json tensor or a folder of them', `'${location}' (${(e as Error).message})`);
  }
  if (info.isDirectory()) {
    const files = (await readdir(location)).filter((f) => /\.(npy|json)$/i.test(f)).sort();
    return concatenated(await Promise.all(files.map((f) => openSource(path.join(location, f), argument))), argument);
  }
  if (location.toLowerCase().endsWith('.npy')) return npyStack(location, argument);
  return memorySource(await readTensor(location, argument));
}
