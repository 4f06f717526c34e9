import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { tensor, type HostTensor } from '@attribution/onnx';
import { ArgumentError, sizeOf } from '@attribution/tensor';
import { parse as parseNpy } from 'npyjs';

/** Reads a tensor from a `.npy` file (as numpy writes it) or a `.json` file `{shape, dtype?, data}`. */
export async function readTensor(file: string, argument: string): Promise<HostTensor> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw new ArgumentError(argument, 'a readable .npy or .json file', `'${file}' (${(e as Error).message})`);
  }
  const ext = extname(file).toLowerCase();
  if (ext === '.npy') return fromNpy(bytes, file, argument);
  if (ext === '.json') return fromJson(bytes.toString('utf8'), file, argument);
  throw new ArgumentError(argument, 'a .npy or .json file', `'${file}'`);
}

function fromNpy(bytes: Buffer, file: string, argument: string): HostTensor {
  let array: ReturnType<typeof parseNpy>;
  try {
    array = parseNpy(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  } catch (e) {
    throw new ArgumentError(argument, 'a valid .npy file', `'${file}' (${(e as Error).message})`);
  }
  if (array.fortranOrder) throw new ArgumentError(argument, 'a C-ordered .npy array (np.ascontiguousarray)', `'${file}' in Fortran order`);
  const shape = array.shape;
  const data = array.data;
  if (data instanceof Float32Array || data instanceof Float64Array || data instanceof Int32Array || data instanceof BigInt64Array) return tensor(data, shape);
  if (data instanceof Uint8Array && array.dtype === 'b1') return tensor(data, shape);
  if (data instanceof Int8Array || data instanceof Int16Array || data instanceof Uint8Array || data instanceof Uint16Array) return tensor(Int32Array.from(data), shape);
  throw new ArgumentError(argument, 'a .npy array of float32, float64, int or bool values', `'${file}' of dtype ${array.dtype}`);
}

function fromJson(text: string, file: string, argument: string): HostTensor {
  let value: { shape?: unknown; dtype?: unknown; data?: unknown };
  try {
    value = JSON.parse(text) as typeof value;
  } catch (e) {
    throw new ArgumentError(argument, 'valid JSON {shape, dtype, data}', `'${file}' (${(e as Error).message})`);
  }
  const { shape, dtype = 'float32', data } = value;
  const flat = Array.isArray(data) ? (data.flat(Infinity) as unknown[]) : undefined;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0) || !flat || !flat.every((v) => typeof v === 'number')) {
    throw new ArgumentError(argument, 'JSON of the form {"shape": [..], "dtype": "float32", "data": [..]}', `'${file}'`);
  }
  const dims = shape as number[];
  const values = flat as number[];
  if (values.length !== sizeOf(dims)) throw new ArgumentError(argument, `${sizeOf(dims)} values for shape [${dims.join(', ')}]`, `${values.length} in '${file}'`);
  switch (dtype) {
    case 'float32':
      return tensor(Float32Array.from(values), dims);
    case 'float64':
      return tensor(Float64Array.from(values), dims);
    case 'int32':
      return tensor(Int32Array.from(values), dims);
    case 'int64':
      return tensor(BigInt64Array.from(values, (v) => BigInt(Math.trunc(v))), dims);
    default:
      throw new ArgumentError(argument, 'dtype float32, float64, int32 or int64', `'${String(dtype)}' in '${file}'`);
  }
}

/** Parses `--target`: `3` (one index for all examples) or `1,0,2` (one per example). */
export function parseTarget(text: string | undefined): number | number[] | undefined {
  if (text === undefined) return undefined;
  const parts = text.split(',').map((p) => p.trim());
  const values = parts.map(Number);
  if (parts.some((p) => p === '') || !values.every(Number.isInteger)) {
    throw new ArgumentError('--target', 'an integer or comma-separated integers (one per example)', `'${text}'`);
  }
  return parts.length === 1 ? (values[0] as number) : values;
}

/** Parses `--options` JSON into an object. */
export function parseOptions(text: string | undefined): Record<string, unknown> {
  if (text === undefined) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ArgumentError('--options', 'a JSON object such as {"nSteps":20}', `'${text}' (${(e as Error).message})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ArgumentError('--options', 'a JSON object', `'${text}'`);
  return value as Record<string, unknown>;
}

/** Parses `--neuron`: `3`, `0,1,1` (one index per dimension) or with `a:b` ranges, e.g. `0:2,1` (a summed block). */
export function parseNeuron(text: string): number[] | { block: (number | [number, number])[] } {
  const parts = text.split(',').map((p) => p.trim());
  const parsed = parts.map((p): number | [number, number] | undefined => {
    if (/^-?\d+$/.test(p)) return Number(p);
    const range = /^(\d+):(\d+)$/.exec(p);
    return range ? [Number(range[1]), Number(range[2])] : undefined;
  });
  if (parsed.some((p) => p === undefined)) {
    throw new ArgumentError('--neuron', 'comma-separated integers (one per layer dimension after the batch), or a:b ranges', `'${text}'`);
  }
  const values = parsed as (number | [number, number])[];
  return values.every((v) => typeof v === 'number') ? (values as number[]) : { block: values };
}
