import { randomInt } from 'node:crypto';
import { deriveSeed } from '@attribution/core';
import { ArgumentError } from '@attribution/tensor';

/** The methods that draw random numbers (their `stochastic` property is true; a test keeps this list in step). */
export const STOCHASTIC_METHODS: ReadonlySet<string> = new Set([
  'gradient-shap',
  'noise-tunnel',
  'shapley-value-sampling',
  'kernel-shap',
  'lime',
  'feature-permutation',
  'layer-feature-permutation',
  'layer-gradient-shap',
  'neuron-gradient-shap',
]);

/**
 * How the CLI seeds a method: `'example'` — one seed per example, derived from the run's seed and the example's
 * index in the input (or dataset), so an example's attribution does not depend on the batch it is computed in;
 * `'batch'` — feature-permutation shuffles values across the examples of a batch, so it takes one seed per
 * batch, derived from the run's seed and the batch's first example; `'none'` — deterministic methods.
 */
export function seedingOf(method: string, options: Readonly<Record<string, unknown>>): 'example' | 'batch' | 'none' {
  if (method === 'feature-permutation' || method === 'layer-feature-permutation' || (method === 'noise-tunnel' && options.baseMethod === 'feature-permutation')) return 'batch';
  return STOCHASTIC_METHODS.has(method) ? 'example' : 'none';
}

/** The run's seed: the `seed` of `--options` (checked), or a fresh random one. */
export function runSeed(options: Readonly<Record<string, unknown>>): { seed: number; given: boolean } {
  const seed = options.seed;
  if (seed === undefined) return { seed: randomInt(2 ** 31), given: false };
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0) {
    throw new ArgumentError('--options', "a \"seed\" that is a non-negative integer (the run's seed: each example's seed is derived from it and the example's index)", JSON.stringify(seed));
  }
  return { seed, given: true };
}

/** The `seed` option of a call on examples `[start, end)` of a run seeded with `seed`. */
export function seedOption(mode: 'example' | 'batch' | 'none', seed: number, start: number, end: number): number | number[] | undefined {
  if (mode === 'none') return undefined;
  if (mode === 'batch') return deriveSeed(seed, start);
  return Array.from({ length: end - start }, (_, i) => deriveSeed(seed, start + i));
}
