import { Attribution, checkInteger, checkOptionNames, checkPerturbationsPerEval, checkSeeds } from '@attribution/core';
import { createRandom, type Random } from '@attribution/tensor';
import { SHAPLEY_OPTION_NAMES, shapleyFromPermutations, type Permutation } from './shapley.js';
import type { AttributionResult, ExampleSamplingOptions, PerturbationOptions } from './types.js';

/** Options of {@link ShapleyValueSampling.attribute}. */
export interface ShapleyValueSamplingOptions<T> extends PerturbationOptions<T>, ExampleSamplingOptions {
  /** Number of random feature orderings (default 25). */
  readonly nSamples?: number;
}

/**
 * Shapley value sampling (Castro et al., 2009): the average marginal contribution of each feature over
 * `nSamples` random orderings. `2 + nSamples·⌈M / perturbationsPerEval⌉` model calls.
 */
export class ShapleyValueSampling<T> extends Attribution<T> {
  override get multipliesByInputs(): boolean {
    return true;
  }

  override get stochastic(): boolean {
    return true;
  }

  attribute(inputs: T, options?: ShapleyValueSamplingOptions<T>): Promise<AttributionResult<T, T>>;
  attribute(inputs: readonly T[], options?: ShapleyValueSamplingOptions<T>): Promise<AttributionResult<T[], T>>;
  async attribute(inputs: T | readonly T[], options: ShapleyValueSamplingOptions<T> = {}): Promise<AttributionResult<T | T[], T>> {
    checkOptionNames(options, [...SHAPLEY_OPTION_NAMES, 'nSamples', 'seed'], 'ShapleyValueSampling.attribute');
    const perEval = checkPerturbationsPerEval(options.perturbationsPerEval);
    const samples = checkInteger('nSamples', options.nSamples ?? 25, 1);
    checkSeeds(options.seed);
    const shuffled = (m: number, rng: Random): number[] => {
      const p = Array.from({ length: m }, (_, i) => i);
      for (let i = m - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [p[i], p[j]] = [p[j] as number, p[i] as number];
      }
      return p;
    };
    // One ordering per sample for the whole batch, or, with a seed per example, one per example from its seed.
    function* permutations(m: number, n: number): Generator<Permutation> {
      const seeds = checkSeeds(options.seed, n);
      if (typeof seeds === 'object') {
        const rngs = seeds.map((s) => createRandom(s));
        for (let s = 0; s < samples; s++) yield { perExample: rngs.map((rng) => shuffled(m, rng)) };
        return;
      }
      const rng = createRandom(seeds);
      for (let s = 0; s < samples; s++) yield shuffled(m, rng);
    }
    return shapleyFromPermutations(this.model, inputs, options, perEval, permutations, () => samples);
  }
}
