import {
  Attribution,
  RUN_OPTION_NAMES,
  checkInteger,
  checkOptionNames,
  checkPerturbationsPerEval,
  checkSeeds,
  weightedLasso,
  weightedLeastSquares,
} from '@attribution/core';
import { ArgumentError } from '@attribution/tensor';
import { surrogateAttributions, type SurrogateOptions } from './surrogate.js';
import type { AttributionResult } from './types.js';

/** Options of {@link Lime.attribute}. */
export interface LimeOptions<T> extends SurrogateOptions<T> {
  /** The surrogate: `'lasso'` (default, Captum's `SkLearnLasso(alpha)`) or `'linear-regression'`. */
  readonly interpretableModel?: 'lasso' | 'linear-regression';
  /** The Lasso's L1 strength (default 0.01). */
  readonly alpha?: number;
  /** Width σ of the similarity kernel exp(−d²/2σ²) (default 1). */
  readonly kernelWidth?: number;
  /** Distance between the example and a perturbed copy: `'cosine'` (1 − cos, default) or `'euclidean'`. */
  readonly distance?: 'cosine' | 'euclidean';
}

const OPTION_NAMES = [
  'baselines', 'target', 'additionalForwardArgs', 'featureMask', 'nSamples', 'perturbationsPerEval', 'returnInputShape', 'seed',
  'interpretableModel', 'alpha', 'kernelWidth', 'distance', ...RUN_OPTION_NAMES,
];

/**
 * LIME (Ribeiro et al., 2016) with Captum's defaults: every feature is kept with probability ½, samples are
 * weighted by exp(−d²/2σ²) with d the cosine distance between the example and its perturbed copy, and a
 * weighted Lasso (α = 0.01, scikit-learn's objective) is fitted per example.
 * `1 + ⌈nSamples / perturbationsPerEval⌉` model calls.
 */
export class Lime<T> extends Attribution<T> {
  override get multipliesByInputs(): boolean {
    return false;
  }

  override get stochastic(): boolean {
    return true;
  }

  attribute(inputs: T, options?: LimeOptions<T>): Promise<{ attributions: T; delta?: T }>;
  attribute(inputs: readonly T[], options?: LimeOptions<T>): Promise<{ attributions: T[]; delta?: T }>;
  async attribute(inputs: T | readonly T[], options: LimeOptions<T> = {}): Promise<AttributionResult<T | T[], T>> {
    checkOptionNames(options, OPTION_NAMES, 'Lime.attribute');
    const nSamples = checkInteger('nSamples', options.nSamples ?? 25, 1);
    const perEval = checkPerturbationsPerEval(options.perturbationsPerEval);
    checkSeeds(options.seed);
    const alpha = options.alpha ?? 0.01;
    const width = options.kernelWidth ?? 1;
    const distance = options.distance ?? 'cosine';
    const surrogate = options.interpretableModel ?? 'lasso';
    if (!(alpha >= 0)) throw new ArgumentError('alpha', 'a number ≥ 0', String(alpha));
    if (!(width > 0)) throw new ArgumentError('kernelWidth', 'a positive number', String(width));
    if (distance !== 'cosine' && distance !== 'euclidean') throw new ArgumentError('distance', "'cosine' or 'euclidean'", String(distance));
    if (surrogate !== 'lasso' && surrogate !== 'linear-regression') throw new ArgumentError('interpretableModel', "'lasso' or 'linear-regression'", String(surrogate));
    return surrogateAttributions(this.model, inputs, options, perEval, {
      nSamples,
      sample: (_s, m, rng) => Uint8Array.from({ length: m }, () => (rng.next() < 0.5 ? 1 : 0)),
      similarity(_bits, original, perturbedCopy) {
        const perturbed = perturbedCopy();
        let d: number;
        if (distance === 'euclidean') {
          let s = 0;
          for (let i = 0; i < original.length; i++) s += ((original[i] as number) - (perturbed[i] as number)) ** 2;
          d = Math.sqrt(s);
        } else {
          let dot = 0;
          let na = 0;
          let nb = 0;
          for (let i = 0; i < original.length; i++) {
            dot += (original[i] as number) * (perturbed[i] as number);
            na += (original[i] as number) ** 2;
            nb += (perturbed[i] as number) ** 2;
          }
          d = 1 - dot / Math.max(Math.sqrt(na) * Math.sqrt(nb), 1e-8);
        }
        return Math.exp((-d * d) / (2 * width * width));
      },
      fit: (Z, y, w, m) => (surrogate === 'lasso' ? weightedLasso(Z, y, w, m, alpha) : weightedLeastSquares(Z, y, w, m)),
    });
  }
}
