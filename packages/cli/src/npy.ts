import { open, type FileHandle } from 'node:fs/promises';
import { tensor, type HostTensor } from '@attribution/onnx';
import { ArgumentError } from '@attribution/tensor';
import { LimitError, type Limits } from './limits.js';

type Typed = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;

/** An element type of `.npy` files the CLI reads, and the tensor type it becomes. */
export interface NpyType {
  /** numpy's name, e.g. `float32`. */
  readonly name: string;
  /** The tensor's dtype: `float32`, `float64`, `int32`, `int64` or `bool`. */
  readonly dtype: string;
  readonly bytes: number;
  /** The values of `bytes` (a fresh, aligned buffer of whole elements) as the tensor's typed array. */
  decode(bytes: ArrayBuffer): Typed;
}

const same = <T extends Typed>(name: string, dtype: string, bytes: number, make: (b: ArrayBuffer) => T): NpyType => ({ name, dtype, bytes, decode: make });
const widened = (name: string, bytes: number, make: (b: ArrayBuffer) => ArrayLike<number>): NpyType => ({ name, dtype: 'int32', bytes, decode: (b) => Int32Array.from(make(b)) });

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/**
 * The element types read, by type code (without the byte-order character). Smaller integers widen to int32
 * and float16 to float32; bool stays bool (0/1): an input of a model whose input is bool (an attention
 * mask), a feature or target mask; gradient methods refuse it as an input to differentiate.
 */
const TYPES: Readonly<Record<string, NpyType>> = {
  f4: same('float32', 'float32', 4, (b) => new Float32Array(b)),
  f8: same('float64', 'float64', 8, (b) => new Float64Array(b)),
  i4: same('int32', 'int32', 4, (b) => new Int32Array(b)),
  i8: same('int64', 'int64', 8, (b) => new BigInt64Array(b)),
  b1: same('bool', 'bool', 1, (b) => new Uint8Array(b).map((v) => (v === 0 ? 0 : 1))),
  i1: widened('int8', 1, (b) => new Int8Array(b)),
  u1: widened('uint8', 1, (b) => new Uint8Array(b)),
  i2: widened('int16', 2, (b) => new Int16Array(b)),
  u2: widened('uint16', 2, (b) => new Uint16Array(b)),
  f2: { name: 'float16', dtype: 'float32', bytes: 2, decode: (b) => Float32Array.from(new Uint16Array(b), halfToFloat) },
};

/** The element types a `.npy` file may have, in words (for messages). */
export const NPY_TYPE_NAMES = 'float32, float64, float16, int8, int16, int32, int64, uint8, uint16 or bool';

/** What the header of a `.npy` file declares. */
export interface NpyHeader {
  readonly type: NpyType;
  readonly shape: readonly number[];
  /** Elements in the file: the product of the shape. */
  readonly elements: number;
  /** Where the data starts. */
  readonly offset: number;
}

const bytesText = (n: number): string => `${n.toLocaleString('en-US')} byte${n === 1 ? '' : 's'}`;

/** Reads exactly `length` bytes at `position` into `target`; a file that ends first is refused. */
async function readExact(handle: FileHandle, target: Uint8Array, position: number, file: string, argument: string): Promise<void> {
  let done = 0;
  while (done < target.byteLength) {
    const { bytesRead } = await handle.read(target, done, target.byteLength - done, position + done);
    if (bytesRead === 0) throw new ArgumentError(argument, 'a complete .npy file', `'${file}', which ends after ${bytesText(position + done)} (truncated while being read?)`);
    done += bytesRead;
  }
}

/** A buffer of `length` bytes, or an error naming the file when there is not that much memory. */
function allocate(length: number, file: string, argument: string): ArrayBuffer {
  try {
    return new ArrayBuffer(length);
  } catch (e) {
    throw new ArgumentError(argument, 'a tensor that fits in memory', `'${file}', whose data needs ${bytesText(length)} (${(e as Error).message})`);
  }
}

/**
 * Reads and checks the header of an open `.npy` file (format versions 1–3) of `size` bytes: at most
 * `limits.npyHeader` bytes of header are read, and the data the header declares must be in the file.
 */
export async function readNpyHeader(handle: FileHandle, size: number, file: string, argument: string, limits: Limits): Promise<NpyHeader> {
  const head = new Uint8Array(Math.min(12, size));
  await readExact(handle, head, 0, file, argument);
  const bytes = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  if (size < 10 || bytes.subarray(0, 6).toString('latin1') !== '\x93NUMPY') throw new ArgumentError(argument, 'a .npy file (as numpy.save writes it)', `'${file}' (no NUMPY magic at its start)`);
  const major = bytes[6] as number;
  if (major < 1 || major > 3) throw new ArgumentError(argument, 'a .npy file of format version 1, 2 or 3', `'${file}' of version ${major}`);
  if (major > 1 && size < 12) throw new ArgumentError(argument, 'a complete .npy file', `'${file}' of ${bytesText(size)}`);
  const length = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  if (length > size - start) {
    throw new ArgumentError(argument, 'a complete .npy file', `'${file}', whose header declares ${bytesText(length)} of header but the file has ${bytesText(size - start)} after the preamble (truncated or not a .npy file)`);
  }
  if (length > limits.npyHeader) throw new LimitError(argument, 'npy-header', limits, 'bytes of .npy header', `'${file}' with a header of ${bytesText(length)}`, length);
  const text = new Uint8Array(length);
  await readExact(handle, text, start, file, argument);
  const header = Buffer.from(text.buffer).toString(major === 3 ? 'utf8' : 'latin1');
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) {
    throw new ArgumentError(argument, "a .npy header {'descr': …, 'fortran_order': …, 'shape': (…)} of a plain (not structured) array", `'${file}'`);
  }
  const parts = shapeText.split(',').map((d) => d.trim()).filter(Boolean);
  const shape = parts.map((d) => (/^\d+L?$/.test(d) ? Number(d.replace('L', '')) : NaN));
  if (!shape.every((d) => Number.isSafeInteger(d))) throw new ArgumentError(argument, 'a .npy header whose shape holds non-negative integers', `'${file}' of shape (${shapeText})`);
  if (fortran === 'True') throw new ArgumentError(argument, 'a C-ordered .npy array (np.ascontiguousarray)', `'${file}' in Fortran order`);
  const order = descr[0] as string;
  const code = '<>=|'.includes(order) ? descr.slice(1) : descr;
  const type = TYPES[code];
  if (!type) throw new ArgumentError(argument, `a .npy array of ${NPY_TYPE_NAMES} values`, `'${file}' of dtype '${descr}'`);
  if (order === '>' && type.bytes > 1) throw new ArgumentError(argument, `a little-endian .npy array (x.astype('<${code}'))`, `'${file}' of big-endian dtype '${descr}'`);
  const elements = shape.reduce((a, d) => a * d, 1);
  const offset = start + length;
  const needed = elements * type.bytes;
  if (needed > size - offset) {
    throw new ArgumentError(
      argument,
      'a complete .npy file',
      `'${file}', whose header declares shape [${shape.join(', ')}] of ${type.name} (${bytesText(needed)} of data) but which holds ${bytesText(size - offset)} of data (truncated?)`,
    );
  }
  return { type, shape, elements, offset };
}

/** Reads `count` elements from element `first` of an open `.npy` file whose header is `header`. */
export async function readNpyData(handle: FileHandle, header: NpyHeader, first: number, count: number, file: string, argument: string): Promise<Typed> {
  const buffer = allocate(count * header.type.bytes, file, argument);
  await readExact(handle, new Uint8Array(buffer), header.offset + first * header.type.bytes, file, argument);
  return header.type.decode(buffer);
}

/** Opens `file`, naming it and the flag when that fails. */
export async function openFile(file: string, argument: string, expected: string): Promise<{ handle: FileHandle; size: number }> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (e) {
    throw new ArgumentError(argument, expected, `'${file}' (${(e as Error).message})`);
  }
  try {
    const info = await handle.stat();
    if (info.isDirectory()) throw new ArgumentError(argument, expected, `'${file}', a folder`);
    return { handle, size: info.size };
  } catch (e) {
    await handle.close();
    throw e;
  }
}

/** Reads a whole `.npy` file as a tensor, with at most `limits.elements` elements. */
export async function readNpyTensor(file: string, argument: string, limits: Limits): Promise<HostTensor> {
  const { handle, size } = await openFile(file, argument, 'a readable .npy or .json file');
  try {
    const header = await readNpyHeader(handle, size, file, argument, limits);
    if (header.elements > limits.elements) {
      throw new LimitError(argument, 'elements', limits, 'elements per tensor', `'${file}' of shape [${header.shape.join(', ')}] (${header.elements.toLocaleString('en-US')} elements)`, header.elements);
    }
    return tensor(await readNpyData(handle, header, 0, header.elements, file, argument), header.shape);
  } finally {
    await handle.close();
  }
}
