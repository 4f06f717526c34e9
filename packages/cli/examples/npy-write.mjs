// The float32 .npy writer of the example scripts (make-concepts.mjs, make-digits.mjs).

/** A float32 .npy file (default shape [1, 8, 8]). */
export function npy(values, shape = [1, 8, 8]) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}), }`;
  header += ' '.repeat(64 - ((10 + header.length + 1) % 64)) + '\n';
  const out = Buffer.alloc(10 + header.length + values.length * 4);
  out.write('\x93NUMPY', 0, 'latin1');
  out[6] = 1;
  out[7] = 0;
  out.writeUInt16LE(header.length, 8);
  out.write(header, 10, 'latin1');
  Buffer.from(Float32Array.from(values).buffer).copy(out, 10 + header.length);
  return out;
}
