import { createRandom, type Backend, type Random } from '@attribution/tensor';

/** A seed for a call: the given one, or a random one (so every draw can be derived from it). */
export function callSeed(seed: number | undefined): number {
  return seed ?? Math.floor(Math.random() * 2 ** 31);
}

/**
 * One seed per example of a batch expanded example-major to `samples` rows per example (row r belongs to
 * example ⌊r / samples⌋): every draw of an example then depends on its seed alone, not on the other examples
 * of the batch or its position in it.
 */
export interface ExampleSeeds {
  readonly perExample: readonly number[];
  readonly samples: number;
}

/** The seeds of a call as sampling code uses them: one for the call (a random one if none is given), or one per example. */
export function callSeeds(seed: number | readonly number[] | undefined, samples: number): number | ExampleSeeds {
  return typeof seed === 'object' ? { perExample: seed, samples } : callSeed(seed);
}

const mix32 = (h: number): number => {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
};

/**
 * A seed derived from `seed` and `index` (a non-negative integer below 2³¹, unrelated to its neighbours):
 * e.g. the seed of example `index` of a run seeded with `seed`.
 */
export function deriveSeed(seed: number, index: number): number {
  let h = mix32((seed >>> 0) ^ 0x9e3779b9);
  h = mix32(h ^ (Math.floor(seed / 2 ** 32) >>> 0));
  h = mix32(h ^ Math.imul((index >>> 0) + 1, 0x27d4eb2f));
  h = mix32(h ^ (Math.floor(index / 2 ** 32) >>> 0));
  return h >>> 1;
}

/** The random stream key (seed, row) of expanded row `row`: the call's seed and the row, or the example's seed and the sample. */
function rowKey(seed: number | ExampleSeeds, row: number): [number, number] {
  if (typeof seed === 'number') return [seed, row];
  return [seed.perExample[Math.floor(row / seed.samples)] as number, row % seed.samples];
}

/** The random stream of one row of an expanded batch (and one input, `salt`): depends only on seed and row. */
export function rowRandom(seed: number, row: number, salt = 0): Random {
  return createRandom((seed * 7919 + row * 104729 + salt * 15485863) % 2 ** 32);
}

/**
 * Gaussian noise for one row of an expanded batch, from a stream that depends only on the call's seed and the
 * row: results do not depend on how rows are split across model calls. Written into `into` at `offset` when
 * given (and returned), else into a new array.
 */
export function rowNoise(seed: number, row: number, size: number, stdev: number, salt = 0, into?: Float32Array, offset = 0): Float32Array {
  const rng = rowRandom(seed, row, salt);
  const out = into ?? new Float32Array(size);
  // A plain loop into the buffer (Float32Array.from with a callback is several times slower on images).
  for (let i = 0; i < size; i++) out[offset + i] = rng.normal() * stdev;
  return out;
}

/**
 * `x` (rows = given rows of an expanded batch) plus per-row Gaussian noise; `x` itself (copied) when stdev is 0.
 * With {@link ExampleSeeds}, row r's noise comes from its example's seed and its sample index.
 */
export function addRowNoise<T>(b: Backend<T>, x: T, rows: readonly number[], seed: number | ExampleSeeds, stdev: number, salt = 0): T {
  if (stdev === 0) return b.add(x, 0);
  const shape = b.shape(x);
  const per = shape.slice(1).reduce((a, d) => a * d, 1);
  const noise = new Float32Array(rows.length * per);
  rows.forEach((r, k) => {
    const [s, row] = rowKey(seed, r);
    rowNoise(s, row, per, stdev, salt, noise, k * per);
  });
  return b.tidy(() => b.add(x, b.tensor(noise, shape, b.dtype(x))));
}
