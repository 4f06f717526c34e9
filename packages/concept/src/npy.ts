import { ArgumentError } from '@attribution/tensor';

/** A parsed `.npy` array: its values as float32, row-major, and its shape. */
export interface NpyArray {
  readonly data: Float32Array;
  readonly shape: number[];
}

/**
 * Parses a NumPy `.npy` file (format versions 1–3, C order, little-endian or single-byte dtypes: f2 is not
 * supported; f4, f8, i1, i2, i4, i8, u1, u2, u4, u8, b1), converting the values to float32.
 */
export function parseNpy(bytes: Uint8Array, name = 'npy'): NpyArray {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.length < 10 || magic.some((m, i) => bytes[i] !== m)) throw new ArgumentError(name, 'a NumPy .npy file', 'bytes without the \\x93NUMPY magic');
  const major = bytes[6] as number;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = new TextDecoder('latin1').decode(bytes.subarray(start, start + headerLength));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw new ArgumentError(name, 'a .npy header with descr, fortran_order and shape', header.trim());
  if (fortran === 'True') throw new ArgumentError(name, 'a C-order array', 'a Fortran-order array');
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  const size = shape.reduce((a, b) => a * b, 1);
  const kinds: Record<string, [number, (o: number) => number]> = {
    f4: [4, (o) => view.getFloat32(o, true)],
    f8: [8, (o) => view.getFloat64(o, true)],
    i1: [1, (o) => view.getInt8(o)],
    i2: [2, (o) => view.getInt16(o, true)],
    i4: [4, (o) => view.getInt32(o, true)],
    i8: [8, (o) => Number(view.getBigInt64(o, true))],
    u1: [1, (o) => view.getUint8(o)],
    u2: [2, (o) => view.getUint16(o, true)],
    u4: [4, (o) => view.getUint32(o, true)],
    u8: [8, (o) => Number(view.getBigUint64(o, true))],
    b1: [1, (o) => view.getUint8(o)],
  };
  const order = descr[0];
  const kind = kinds[descr.slice(1)];
  if (!kind || order === '>' || (order !== '<' && order !== '|' && order !== '=')) {
    throw new ArgumentError(name, 'a little-endian float, int, uint or bool array', `dtype '${descr}'`);
  }
  const [width, read] = kind;
  const offset = start + headerLength;
  if (bytes.length < offset + size * width) throw new ArgumentError(name, `${size} values of ${width} bytes`, `${bytes.length - offset} bytes of data`);
  const data = new Float32Array(size);
  for (let i = 0; i < size; i++) data[i] = read(offset + i * width);
  return { data, shape };
}
