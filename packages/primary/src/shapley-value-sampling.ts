import { Attribution, checkInteger, checkOptionNames, checkPerturbationsPerEval, checkSeed } from '@attribution/core';
import { createRandom } from '@attribution/tensor';
import { SHAPLEY_OPTION_NAMES, shapleyFromPermutations } from './shapley.js';
import type { AttributionResult, PerturbationOptions, SamplingOptions } from './types.js';

/** Options of {@link ShapleyValueSampling.attribute}. */
export interface ShapleyValueSamplingOptions<T> extends PerturbationOptions<T>, SamplingOptions {
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
    const rng = createRandom(checkSeed(options.seed));
    function* permutations(m: number): Generator<number[]> {
      for (let s = 0; s < samples; s++) {
        const p = Array.from({ length: m }, (_, i) => i);
        for (let i = m - 1; i > 0; i--) {
          const j = rng.int(i + 1);
          [p[i], p[j]] = [p[j] as number, p[i] as number];
        }
        yield p;
      }
    }
    return shapleyFromPermutations(this.model, inputs, options, perEval, permutations, () => samples);
  }
}
