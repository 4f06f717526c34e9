/* global Buffer */
// The .npy writer of the example scripts (make-concepts.mjs, make-digits.mjs): float32 arrays, via npyjs.
import { dump } from 'npyjs';

/** A float32 .npy file's bytes (default shape [1, 8, 8]). */
export function npy(values, shape = [1, 8, 8]) {
  return Buffer.from(dump(Float32Array.from(values), shape));
}
