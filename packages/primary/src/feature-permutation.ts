import {
  Attribution,
  RUN_OPTION_NAMES,
  attributionTensors,
  checkOptionNames,
  checkPerturbationsPerEval,
  checkSeed,
  creditFeature,
  derangedOrder,
  exampleSizes,
  maskFeatures,
  preparePerturbationCall,
  restoreStructure,
  runCopies,
  withScope,
  type Copy,
} from '@attribution/core';
import { ArgumentError, createRandom } from '@attribution/tensor';
import type { AttributionResult, GradientOptions, SamplingOptions } from './types.js';

/** Options of {@link FeaturePermutation.attribute}. */
export interface FeaturePermutationOptions<T> extends GradientOptions<T>, SamplingOptions {
  /** Groups of positions permuted together (integer masks, one per input). */
  readonly featureMask?: T | readonly T[];
  /** Permuted copies of the batch per model call (default 1). */
  readonly perturbationsPerEval?: number;
}

const OPTION_NAMES = ['target', 'additionalForwardArgs', 'featureMask', 'perturbationsPerEval', 'seed', ...RUN_OPTION_NAMES];

/**
 * Permutation feature importance (Breiman, 2001): each feature's values are shuffled across the examples
 * of the batch (a random permutation other than the identity), and the output change is its attribution.
 * Needs at least two examples. `1 + ⌈features / perturbationsPerEval⌉` model calls.
 */
export class FeaturePermutation<T> extends Attribution<T> {
  override get multipliesByInputs(): boolean {
    return true;
  }

  override get stochastic(): boolean {
    return true;
  }

  attribute(inputs: T, options?: FeaturePermutationOptions<T>): Promise<AttributionResult<T, T>>;
  attribute(inputs: readonly T[], options?: FeaturePermutationOptions<T>): Promise<AttributionResult<T[], T>>;
  async attribute(inputs: T | readonly T[], options: FeaturePermutationOptions<T> = {}): Promise<AttributionResult<T | T[], T>> {
    checkOptionNames(options, OPTION_NAMES, 'FeaturePermutation.attribute');
    const perEval = checkPerturbationsPerEval(options.perturbationsPerEval);
    const rng = createRandom(checkSeed(options.seed));
    const { model, backend: b } = this;
    return withScope(b, async (scope) => {
      const call = await preparePerturbationCall(model, inputs, options, scope);
      const n = call.x.batchSize;
      if (n < 2) throw new ArgumentError('inputs', 'at least two examples (feature values are permuted across the batch)', `${n}`);
      const features = await maskFeatures(b, options.featureMask, call.x);
      const { k, f0 } = call;
      const sizes = exampleSizes(call.x);
      const attr = sizes.map((per) => new Float64Array(n * k * per));
      const copies: Copy[] = features.ids.map((_, f) => ({ base: 'input', switched: [f], from: { rows: derangedOrder(n, rng) } }));
      const progress = { done: 1, total: 1 + Math.ceil(copies.length / perEval) };
      await runCopies(model, call, features, copies, perEval, scope, { ...options, progress }, (first, values) => {
        for (let c = 0; c * n * k < values.length; c++) {
          creditFeature(attr, sizes, features.positions(first + c), n, k, (i, j) => (f0[i * k + j] as number) - (values[(c * n + i) * k + j] as number));
        }
      });
      const shapes = call.x.shapes.map((s) => [n * k, ...s.slice(1)]);
      return { attributions: restoreStructure(call.x, scope.release(attributionTensors(b, attr, shapes, scope))) };
    });
  }
}
