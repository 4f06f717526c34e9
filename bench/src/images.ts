import fs from 'node:fs';

/**
 * Writes a float32 .npy stack of `n` 224×224 RGB images with a fixed pattern per image (the inputs of the
 * MobileNetV2-224 command-line cases).
 */
export function writeImages(file: string, n: number): void {
  const size = 3 * 224 * 224;
  const values = Float32Array.from({ length: n * size }, (_, i) => (((i % size) * 7919 + Math.floor(i / size) * 104729) % 1000) / 1000);
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${n}, 3, 224, 224), }`;
  header += `${' '.repeat(63 - ((10 + header.length) % 64))}\n`;
  const out = Buffer.alloc(10 + header.length + values.byteLength);
  out.write('\x93NUMPY', 0, 'latin1');
  out.writeUInt8(1, 6);
  out.writeUInt16LE(header.length, 8);
  out.write(header, 10, 'latin1');
  Buffer.from(values.buffer).copy(out, 10 + header.length);
  fs.writeFileSync(file, out);
}
