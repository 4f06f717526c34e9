import { stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { tensor, type HostTensor } from '@attribution/onnx';
import { ArgumentError, checkLabels, describeValue, sizeOf } from '@attribution/tensor';
import { DEFAULT_LIMITS, LimitError, type Limits } from './limits.js';
import { openFile, readNpyTensor } from './npy.js';

/** Longer JSON texts cannot be held as one string by V8. */
const MAX_JSON_BYTES = 0x1fffffe8;

/**
 * Reads a tensor from a `.npy` file (as numpy writes it) or a `.json` file `{shape, dtype?, data}`, with at
 * most `limits.elements` elements; `argument` (e.g. `--input #1`) names the flag in errors.
 */
export async function readTensor(file: string, argument: string, limits: Limits = DEFAULT_LIMITS): Promise<HostTensor> {
  const ext = extname(file).toLowerCase();
  if (ext === '.npy') return readNpyTensor(file, argument, limits);
  if (ext !== '.json') {
    const folder = await stat(file).then((i) => i.isDirectory(), () => false);
    throw new ArgumentError(argument, 'a .npy or .json file', `'${file}'${folder ? ', a folder' : ''}`);
  }
  const { handle, size } = await openFile(file, argument, 'a readable .npy or .json file');
  let text: string;
  try {
    if (size > MAX_JSON_BYTES) throw new ArgumentError(argument, `a .json file under ${MAX_JSON_BYTES.toLocaleString('en-US')} bytes (write large tensors as .npy)`, `'${file}' of ${size.toLocaleString('en-US')} bytes`);
    text = await handle.readFile('utf8');
  } catch (e) {
    if (e instanceof ArgumentError) throw e;
    throw new ArgumentError(argument, 'a readable .npy or .json file', `'${file}' (${(e as Error).message})`);
  } finally {
    await handle.close();
  }
  return fromJson(text, file, argument, limits);
}

const JSON_FORM = 'JSON of the form {"shape": [..], "dtype": "float32", "data": [..]}';
const JSON_DTYPES = ['float32', 'float64', 'int32', 'int64', 'bool'] as const;
type JsonDtype = (typeof JSON_DTYPES)[number];

/** Whether `v` is a value of `dtype`: a number (an integer for int dtypes), or 0, 1, true or false for bool. */
function fits(v: unknown, dtype: JsonDtype): boolean {
  if (dtype === 'bool') return v === true || v === false || v === 0 || v === 1;
  if (typeof v !== 'number') return false;
  if (dtype === 'int32') return Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31;
  if (dtype === 'int64') return Number.isSafeInteger(v);
  return true;
}

/**
 * The values of `data` in order: either a flat array of every value, or arrays nested exactly as `dims`.
 * Ragged or wrongly nested arrays are refused with the index where the shape breaks (walked without
 * recursion, so no nesting depth can overflow the stack).
 */
function valuesOf(data: unknown[], dims: readonly number[], dtype: JsonDtype, file: string, argument: string): unknown[] {
  const size = sizeOf(dims);
  const values: unknown[] = [];
  const bad = (where: string, what: string): never => {
    throw new ArgumentError(argument, `"data" nested as the shape [${dims.join(', ')}], or flat (${size} value${size === 1 ? '' : 's'})`, `'${file}', whose ${where} ${what}`);
  };
  const badValue = (where: string, v: unknown): never => {
    throw new ArgumentError(argument, `${dtype} values in "data"`, `'${file}', whose ${where} is ${describeValue(v)}`);
  };
  if (!data.some(Array.isArray)) {
    if (data.length !== size) throw new ArgumentError(argument, `${size} values for shape [${dims.join(', ')}]`, `${data.length} in '${file}'`);
    data.forEach((v, i) => fits(v, dtype) || badValue(`data[${i}]`, v));
    return data;
  }
  // Depth-first, one frame per open array: [array, depth, next index, path].
  const stack: [unknown[], number, number, string][] = [[data, 0, 0, 'data']];
  while (stack.length) {
    const frame = stack[stack.length - 1] as [unknown[], number, number, string];
    const [array, depth, next, where] = frame;
    if (next === 0 && array.length !== dims[depth]) {
      bad(where, depth >= dims.length ? `is an array where shape [${dims.join(', ')}] has a number` : `has ${array.length} item${array.length === 1 ? '' : 's'} where dimension ${depth} of shape [${dims.join(', ')}] is ${dims[depth]}`);
    }
    if (next === array.length) {
      stack.pop();
      continue;
    }
    frame[2] = next + 1;
    const item = array[next];
    const at = `${where}[${next}]`;
    if (depth + 1 < dims.length) {
      if (!Array.isArray(item)) bad(at, `is ${describeValue(item)} where dimension ${depth + 1} of shape [${dims.join(', ')}] needs an array`);
      stack.push([item as unknown[], depth + 1, 0, at]);
    } else if (Array.isArray(item)) bad(at, `is an array where shape [${dims.join(', ')}] has a number`);
    else values.push(fits(item, dtype) ? item : badValue(at, item));
  }
  return values;
}

function fromJson(text: string, file: string, argument: string, limits: Limits): HostTensor {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ArgumentError(argument, `valid ${JSON_FORM}`, `'${file}' (${(e as Error).message})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ArgumentError(argument, JSON_FORM, `'${file}' holding ${describeValue(value)}`);
  const { shape, dtype = 'float32', data } = value as { shape?: unknown; dtype?: unknown; data?: unknown };
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    throw new ArgumentError(argument, `${JSON_FORM}, "shape" a list of non-negative integers`, `'${file}' with shape ${describeValue(shape)}`);
  }
  if (!JSON_DTYPES.includes(dtype as JsonDtype)) throw new ArgumentError(argument, `dtype ${JSON_DTYPES.join(', ')}`, `${describeValue(dtype)} in '${file}'`);
  const dims = shape as number[];
  const size = sizeOf(dims);
  if (size > limits.elements) throw new LimitError(argument, 'elements', limits, 'elements per tensor', `'${file}' of shape [${dims.join(', ')}] (${size.toLocaleString('en-US')} elements)`, size);
  if (!Array.isArray(data)) throw new ArgumentError(argument, `${JSON_FORM}, "data" an array`, `'${file}' with data ${describeValue(data)}`);
  const values = valuesOf(data, dims, dtype as JsonDtype, file, argument);
  switch (dtype as JsonDtype) {
    case 'float32':
      return tensor(Float32Array.from(values as number[]), dims);
    case 'float64':
      return tensor(Float64Array.from(values as number[]), dims);
    case 'int32':
      return tensor(Int32Array.from(values as number[]), dims);
    case 'int64':
      return tensor(BigInt64Array.from(values as number[], (v) => BigInt(v)), dims);
    case 'bool':
      return tensor(Uint8Array.from(values as (number | boolean)[], (v) => (v ? 1 : 0)), dims);
  }
}

/**
 * Parses `--target`: `3` (one index for all examples), `1,0,2` (one per example), `predicted` (each example's
 * predicted class), or with `labels` class names: `cat` (every example) or `cat,dog,3` (one per example, names
 * and indices mixed). A text that is one of the labels as a whole is that label, commas included.
 */
export function parseTarget(text: string | undefined, labels?: readonly string[]): number | string | (number | string)[] | undefined {
  if (text === undefined) return undefined;
  const whole = text.trim();
  if (whole === 'predicted' || labels?.includes(whole)) return whole;
  const expected = `an integer or comma-separated integers (one per example), 'predicted'${labels ? ', or class names of --labels' : ', or class names with --labels <file>'}`;
  const parts = text.split(',').map((p) => p.trim());
  if (parts.some((p) => p === '')) throw new ArgumentError('--target', expected, `'${text}'`);
  const values = parts.map((p) => (Number.isInteger(Number(p)) ? Number(p) : p));
  if (!labels && values.some((v) => typeof v === 'string')) {
    throw new ArgumentError('--target', expected, `'${text}'`, 'Name the classes with --labels <file> (one class name per line, or a .json array of strings).');
  }
  return parts.length === 1 ? (values[0] as number | string) : values;
}

/** The largest `--labels` file read (a million class names of 60 characters). */
const MAX_LABELS_BYTES = 64 * 1024 * 1024;

/**
 * Reads `--labels`: class names of the model output, `labels[i]` naming index i — a text file with one name per
 * line (surrounding spaces and blank lines at the end ignored), or a `.json` file holding an array of strings.
 */
export async function readLabels(file: string, argument = '--labels'): Promise<readonly string[]> {
  const expected = 'a text file with one class name per line, or a .json array of class names';
  const { handle, size } = await openFile(file, argument, expected);
  let text: string;
  try {
    if (size > MAX_LABELS_BYTES) throw new ArgumentError(argument, `${expected} of at most ${MAX_LABELS_BYTES.toLocaleString('en-US')} bytes`, `'${file}' of ${size.toLocaleString('en-US')} bytes`);
    text = (await handle.readFile('utf8')).replace(/^\uFEFF/, '');
  } catch (e) {
    if (e instanceof ArgumentError) throw e;
    throw new ArgumentError(argument, expected, `'${file}' (${(e as Error).message})`);
  } finally {
    await handle.close();
  }
  if (extname(file).toLowerCase() === '.json') {
    let list: unknown;
    try {
      list = JSON.parse(text);
    } catch (e) {
      throw new ArgumentError(argument, 'a .json file holding an array of class names', `'${file}' (${(e as Error).message})`);
    }
    return checkLabels(list, argument) as readonly string[];
  }
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const seen = new Map<string, number>();
  lines.forEach((label, i) => {
    if (label === '') throw new ArgumentError(argument, `${expected}, no blank line but at the end`, `'${file}', whose line ${i + 1} is blank`);
    const first = seen.get(label);
    if (first !== undefined) throw new ArgumentError(argument, `${expected}, each name once`, `'${file}', whose lines ${first + 1} and ${i + 1} are both ${describeValue(label)}`);
    seen.set(label, i);
  });
  return checkLabels(lines, argument) as readonly string[];
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
