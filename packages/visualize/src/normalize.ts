import { ArgumentError } from '@attribution/tensor';
import { checkChoice, checkFinite, checkNumber } from './errors.js';
import type { Planes } from './layout.js';

/**
 * Which attributions to show (Captum's `VisualizeSign`): `'all'` keeps signed values (normalised to
 * [−1, 1]); `'positive'` / `'negative'` keep only that sign (normalised to [0, 1], negatives flipped);
 * `'absolute_value'` uses magnitudes.
 */
export type Sign = 'all' | 'positive' | 'negative' | 'absolute_value';

/** Every {@link Sign}, in Captum's order. */
export const SIGNS: readonly Sign[] = ['positive', 'absolute_value', 'negative', 'all'];

/**
 * Captum's `_cumulative_sum_threshold`: sorts the (non-negative) values ascending, takes running sums and
 * returns the first sorted value whose running sum reaches `total · 0.01 · percentile`. With
 * `percentile = 100 − outlierPerc`, the largest values that make up the top `outlierPerc` % of the total
 * mass are at or above the returned threshold.
 * @param values - non-negative values (not checked, as in Captum).
 * @param percentile - in [0, 100].
 * @throws ArgumentError when `values` is empty or `percentile` is out of range.
 */
export function cumulativeSumThreshold(values: ArrayLike<number>, percentile: number): number {
  checkNumber('percentile', percentile, 0, 100);
  if (values.length === 0) throw new ArgumentError('values', 'at least one value', 'none');
  const sorted = Float64Array.from(values).sort();
  const cum = new Float64Array(sorted.length);
  let running = 0;
  for (let i = 0; i < sorted.length; i++) {
    running += sorted[i] as number;
    cum[i] = running;
  }
  // Same operation order as NumPy's `cum_sums[-1] * 0.01 * percentile`.
  const target = running * 0.01 * percentile;
  for (let i = 0; i < cum.length; i++) {
    if ((cum[i] as number) >= target) return sorted[i] as number;
  }
  // Unreachable for finite non-negative input (the last running sum is the total); kept for NaN safety.
  return sorted[sorted.length - 1] as number;
}

/**
 * Sums an `(H, W, C)` array over its channels (Captum's `reduction_axis=2`), giving `H · W` values.
 */
export function reduceChannels(planes: Planes): Float64Array {
  const { channels, data } = planes;
  const out = new Float64Array(planes.height * planes.width);
  for (let p = 0; p < out.length; p++) {
    let s = 0;
    for (let c = 0; c < channels; c++) s += data[p * channels + c] as number;
    out[p] = s;
  }
  return out;
}

/** Options of {@link normalizeAttr}. */
export interface NormalizeOptions {
  /** Which values to keep; default `'absolute_value'` (Captum's default). */
  readonly sign?: Sign;
  /** Percentage of the total attribution mass that saturates at 1; default 2. In [0, 100]. */
  readonly outlierPerc?: number;
}

/**
 * Captum's `_normalize_attr` (after channel reduction): keeps the values of the chosen sign, divides by the
 * cumulative-sum threshold `T` and clips to [−1, 1].
 *
 * | sign | kept | T |
 * | --- | --- | --- |
 * | `all` | `v` | `cs(|v|)` |
 * | `positive` | `v·[v > 0]` | `cs(kept)` |
 * | `negative` | `v·[v < 0]` | `−cs(|kept|)` (results are ≥ 0) |
 * | `absolute_value` | `|v|` | `cs(kept)` |
 *
 * with `cs = cumulativeSumThreshold(·, 100 − outlierPerc)`.
 * @throws ArgumentError for a non-finite value, an unknown sign, `outlierPerc` outside [0, 100], or `T = 0`
 *   (e.g. sign `'positive'` with no positive value), which Captum rejects too.
 */
export function normalizeAttr(values: ArrayLike<number>, options: NormalizeOptions = {}): Float64Array {
  const sign = checkChoice('sign', options.sign ?? 'absolute_value', SIGNS);
  const outlierPerc = checkNumber('outlierPerc', options.outlierPerc ?? 2, 0, 100);
  checkFinite('attribution', values);
  const n = values.length;
  const kept = new Float64Array(n);
  const magnitude = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[i] as number;
    const k = sign === 'all' ? v : sign === 'positive' ? (v > 0 ? v : 0) : sign === 'negative' ? (v < 0 ? v : 0) : Math.abs(v);
    kept[i] = k;
    magnitude[i] = Math.abs(k);
  }
  const cs = cumulativeSumThreshold(magnitude, 100 - outlierPerc);
  const threshold = sign === 'negative' ? -cs : cs;
  if (threshold === 0) {
    const what = sign === 'positive' ? 'a positive attribution' : sign === 'negative' ? 'a negative attribution' : 'a non-zero attribution';
    throw new ArgumentError(
      'attribution',
      `${what} to normalise by (sign '${sign}')`,
      `a normalisation threshold of 0`,
      'Captum refuses this case too ("Cannot normalize by scale factor = 0").',
    );
  }
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const r = (kept[i] as number) / threshold;
    out[i] = r < -1 ? -1 : r > 1 ? 1 : r;
  }
  return out;
}
