import { ArgumentError, type Backend, describeValue, formatShape, sizeOf, toNumbers } from '@attribution/tensor';
import { checkFinite } from './errors.js';

/**
 * A dense array of numbers with a shape, row-major (last dimension fastest) — the plain input format of
 * every function in this package. Any `ArrayLike<number>` works: a typed array, a plain array, a
 * `TensorData` read from a backend.
 */
export interface Grid {
  /** The values, row-major; `data.length` must equal the product of `shape`. */
  readonly data: ArrayLike<number>;
  /** One non-negative integer per dimension, outermost first. */
  readonly shape: readonly number[];
}

/**
 * Builds a {@link Grid}, checking that `shape` is a list of non-negative integers whose product is
 * `data.length`.
 * @throws ArgumentError when the shape is malformed or does not match the data.
 */
export function grid(data: ArrayLike<number>, shape: readonly number[]): Grid {
  return checkGrid('grid', { data, shape });
}

/**
 * Reads a backend tensor into a {@link Grid} (through `backend.data`, so any `@attribution/tensor`
 * backend works: tfjs, ONNX Runtime, …). int64 data is converted to numbers; the tensor is not disposed.
 */
export async function fromTensor<T>(backend: Backend<T>, tensor: T): Promise<Grid> {
  const shape = [...backend.shape(tensor)];
  const data = toNumbers(await backend.data(tensor));
  return checkGrid('tensor', { data, shape });
}

/**
 * Validates a {@link Grid}-shaped value: an object with an array-like `data` and an integer `shape` whose
 * product is the data length. Values are not inspected (see `checkFinite`).
 * @internal
 */
export function checkGrid(argument: string, value: unknown): Grid {
  if (typeof value !== 'object' || value === null) {
    throw new ArgumentError(argument, 'an object { data, shape }', describeValue(value));
  }
  const { data, shape } = value as { data?: unknown; shape?: unknown };
  if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 0)) {
    throw new ArgumentError(`${argument}.shape`, 'an array of non-negative integers', describeValue(shape));
  }
  const isArrayLike =
    Array.isArray(data) || (ArrayBuffer.isView(data) && !(data instanceof DataView) && !(data instanceof BigInt64Array) && !(data instanceof BigUint64Array));
  if (!isArrayLike) {
    throw new ArgumentError(`${argument}.data`, 'an array or a numeric typed array', describeValue(data));
  }
  const length = (data as ArrayLike<number>).length;
  if (sizeOf(shape as number[]) !== length) {
    throw new ArgumentError(argument, `${sizeOf(shape as number[])} values for shape ${formatShape(shape as number[])}`, `${length} values`);
  }
  return { data: data as ArrayLike<number>, shape: shape as number[] };
}

/**
 * {@link checkGrid} followed by a check that every value is finite.
 * @internal
 */
export function checkFiniteGrid(argument: string, value: unknown): Grid {
  const g = checkGrid(argument, value);
  checkFinite(argument, g.data);
  return g;
}

/**
 * An RGBA raster (an {@link RgbaImage}, a browser `ImageData`, a decoded PNG with 4 channels) as an
 * `(H, W, 3)` grid of bytes with the alpha channel dropped — ready as `originalImage` with
 * `imageLayout: 'hwc'` (its values are 0–255, so set `imageScale: 'byte'` to be explicit).
 */
export function rgbaToGrid(image: { readonly width: number; readonly height: number; readonly data: ArrayLike<number> }): Grid {
  const { width, height, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || data.length !== width * height * 4) {
    throw new ArgumentError('image', 'RGBA data of width · height · 4 values', `${describeValue(width)} × ${describeValue(height)} with ${data.length} values`);
  }
  const out = new Uint8ClampedArray(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    out[3 * p] = data[4 * p] as number;
    out[3 * p + 1] = data[4 * p + 1] as number;
    out[3 * p + 2] = data[4 * p + 2] as number;
  }
  return { data: out, shape: [height, width, 3] };
}
