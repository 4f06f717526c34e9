import { ArgumentError, describeValue } from '@attribution/tensor';

/** An 8-bit RGBA raster, row-major, 4 bytes per pixel (the layout of a browser `ImageData`). */
export interface RgbaImage {
  /** Columns. */
  readonly width: number;
  /** Rows. */
  readonly height: number;
  /** `width · height · 4` bytes: R, G, B, A of pixel (x, y) at `4 · (y · width + x)`. */
  readonly data: Uint8ClampedArray;
}

/** A new image of the given size, filled with one colour (default transparent black). */
export function createRgbaImage(width: number, height: number, fill: readonly [number, number, number, number] = [0, 0, 0, 0]): RgbaImage {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new ArgumentError('size', 'a positive integer width and height', `${describeValue(width)} × ${describeValue(height)}`);
  }
  const data = new Uint8ClampedArray(width * height * 4);
  if (fill.some((v) => v !== 0)) {
    for (let i = 0; i < data.length; i += 4) data.set(fill, i);
  }
  return { width, height, data };
}

/**
 * Validates an {@link RgbaImage}-shaped value (positive integer size, a `Uint8ClampedArray` or `Uint8Array`
 * of `width · height · 4` bytes).
 * @internal
 */
export function checkRgbaImage(argument: string, value: unknown): RgbaImage {
  if (typeof value !== 'object' || value === null) throw new ArgumentError(argument, 'an RgbaImage { width, height, data }', describeValue(value));
  const { width, height, data } = value as { width?: unknown; height?: unknown; data?: unknown };
  if (typeof width !== 'number' || typeof height !== 'number' || !Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new ArgumentError(`${argument}.width/height`, 'positive integers', `${describeValue(width)} × ${describeValue(height)}`);
  }
  if (!(data instanceof Uint8ClampedArray || data instanceof Uint8Array)) {
    throw new ArgumentError(`${argument}.data`, 'a Uint8ClampedArray of RGBA bytes', describeValue(data));
  }
  if (data.length !== width * height * 4) {
    throw new ArgumentError(`${argument}.data`, `${width * height * 4} bytes (${width} × ${height} × 4)`, `${data.length} bytes`);
  }
  return data instanceof Uint8ClampedArray ? (value as RgbaImage) : { width, height, data: new Uint8ClampedArray(data.buffer, data.byteOffset, data.length) };
}
