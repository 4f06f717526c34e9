import { ArgumentError } from '@attribution/tensor';
import { Attribution, checkOptionNames, checkPerturbationsPerEval } from '@attribution/core';
import { SHAPLEY_OPTION_NAMES, allPermutations, shapleyFromPermutations } from './shapley.js';
import type { AttributionResult, PerturbationOptions } from './types.js';

/** Options of {@link ShapleyValues.attribute}. */
export type ShapleyValuesOptions<T> = PerturbationOptions<T>;

const factorial = (n: number): number => (n <= 1 ? 1 : n * factorial(n - 1));
/** Beyond this many features exact Shapley values are refused: 12! orderings already take hours. */
const MAX_FEATURES = 12;

/**
 * Exact Shapley values: the average marginal contribution of each feature over all `M!` orderings of the
 * `M` features (`1 + M!·⌈M / perturbationsPerEval⌉ + 1` model calls — use {@link ShapleyValueSampling}
 * beyond about 8 features; from 10 features on, a console warning says so).
 */
export class ShapleyValues<T> extends Attribution<T> {
  override get multipliesByInputs(): boolean {
    return true;
  }

  attribute(inputs: T, options?: ShapleyValuesOptions<T>): Promise<AttributionResult<T, T>>;
  attribute(inputs: readonly T[], options?: ShapleyValuesOptions<T>): Promise<AttributionResult<T[], T>>;
  async attribute(inputs: T | readonly T[], options: ShapleyValuesOptions<T> = {}): Promise<AttributionResult<T | T[], T>> {
    checkOptionNames(options, SHAPLEY_OPTION_NAMES, 'ShapleyValues.attribute');
    const perEval = checkPerturbationsPerEval(options.perturbationsPerEval);
    return shapleyFromPermutations(this.model, inputs, options, perEval, allPermutations, (m) => {
      if (m > MAX_FEATURES) {
        throw new ArgumentError(
          'featureMask',
          `at most ${MAX_FEATURES} features for exact Shapley values (${MAX_FEATURES}! = ${factorial(MAX_FEATURES).toLocaleString('en')} orderings)`,
          `${m} features`,
          'Group the inputs into fewer features with featureMask, or use ShapleyValueSampling.',
        );
      }
      if (m >= 10) console.warn(`ShapleyValues: ${m} features means ${factorial(m)} permutations; consider ShapleyValueSampling.`);
      return factorial(m);
    });
  }
}
