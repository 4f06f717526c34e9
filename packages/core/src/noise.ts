import { createRandom, type Backend, type Random } from '@attribution/tensor';

/** A seed for a call: the given one, or a random one (so every draw can be derived from it). */
export function callSeed(seed: number | undefined): number {
  return seed ?? Math.floor(Math.random() * 2 ** 31);
}

/** The random stream of one row of an expanded batch (and one input, `salt`): depends only on seed and row. */
export function rowRandom(seed: number, row: number, salt = 0): Random {
  return createRandom((seed * 7919 + row * 104729 + salt * 15485863) % 2 ** 32);
}

/**
 * Gaussian noise for one row of an expanded batch, from a stream that depends only on the call's seed and the
 * row: results do not depend on how rows are split across model calls.
 */
export function rowNoise(seed: number, row: number, size: number, stdev: number, salt = 0): Float32Array {
  const rng = rowRandom(seed, row, salt);
  return Float32Array.from({ length: size }, () => rng.normal() * stdev);
}

/** `x` (rows = given rows of an expanded batch) plus per-row Gaussian noise; `x` itself (copied) when stdev is 0. */
export function addRowNoise<T>(b: Backend<T>, x: T, rows: readonly number[], seed: number, stdev: number, salt = 0): T {
  if (stdev === 0) return b.add(x, 0);
  const shape = b.shape(x);
  const per = shape.slice(1).reduce((a, d) => a * d, 1);
  const noise = new Float32Array(rows.length * per);
  rows.forEach((r, k) => noise.set(rowNoise(seed, r, per, stdev, salt), k * per));
  return b.tidy(() => b.add(x, b.tensor(noise, shape, b.dtype(x))));
}
