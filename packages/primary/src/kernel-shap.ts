import { Attribution, RUN_OPTION_NAMES, checkInteger, checkOptionNames, checkPerturbationsPerEval, checkSeeds, weightedLeastSquares } from '@attribution/core';
import { surrogateAttributions, type SurrogateOptions } from './surrogate.js';
import type { AttributionResult } from './types.js';

/** Options of {@link KernelShap.attribute}. */
export type KernelShapOptions<T> = SurrogateOptions<T>;

const OPTION_NAMES = ['baselines', 'target', 'additionalForwardArgs', 'featureMask', 'nSamples', 'perturbationsPerEval', 'returnInputShape', 'seed', ...RUN_OPTION_NAMES];

/**
 * Kernel SHAP (Lundberg and Lee, 2017), as Captum samples it: the first sample keeps every feature, the
 * second none; then a coalition size k ∈ 1…M−1 is drawn with probability ∝ (M−1)/(k(M−k)) and a random
 * coalition of that size. Weights are 10⁶ for the empty and full coalitions and 1 otherwise, and a weighted
 * least-squares linear model is fitted per example. `1 + ⌈nSamples / perturbationsPerEval⌉` model calls.
 */
export class KernelShap<T> extends Attribution<T> {
  override get multipliesByInputs(): boolean {
    return false;
  }

  override get stochastic(): boolean {
    return true;
  }

  attribute(inputs: T, options?: KernelShapOptions<T>): Promise<{ attributions: T; delta?: T }>;
  attribute(inputs: readonly T[], options?: KernelShapOptions<T>): Promise<{ attributions: T[]; delta?: T }>;
  async attribute(inputs: T | readonly T[], options: KernelShapOptions<T> = {}): Promise<AttributionResult<T | T[], T>> {
    checkOptionNames(options, OPTION_NAMES, 'KernelShap.attribute');
    const nSamples = checkInteger('nSamples', options.nSamples ?? 25, 1);
    const perEval = checkPerturbationsPerEval(options.perturbationsPerEval);
    checkSeeds(options.seed);
    // Coalition sizes k ∈ 1…M−1 with probability ∝ (M−1)/(k(M−k)): the weights, computed once per M.
    let sizeWeights: { m: number; weights: number[]; total: number } | undefined;
    const weightsFor = (m: number): { weights: number[]; total: number } => {
      if (sizeWeights?.m !== m) {
        const weights = Array.from({ length: m - 1 }, (_, j) => (m - 1) / ((j + 1) * (m - j - 1)));
        sizeWeights = { m, weights, total: weights.reduce((a, v) => a + v, 0) };
      }
      return sizeWeights;
    };
    // Scratch for the partial shuffle that picks a coalition (reset to the identity each time).
    let scratch = new Int32Array(0);
    const orderFor = (m: number): Int32Array => {
      if (scratch.length !== m) scratch = new Int32Array(m);
      for (let i = 0; i < m; i++) scratch[i] = i;
      return scratch;
    };
    return surrogateAttributions(this.model, inputs, options, perEval, {
      nSamples,
      sample(s, m, rng) {
        const z = new Uint8Array(m);
        if (s === 0 || m === 1) {
          if (s % 2 === 0) z.fill(1);
          return z;
        }
        if (s === 1) return z;
        // A coalition size, then a uniform subset of that size.
        const { weights, total } = weightsFor(m);
        let u = rng.next() * total;
        let k = 1;
        for (; k < m - 1 && u > (weights[k - 1] as number); k++) u -= weights[k - 1] as number;
        const order = orderFor(m);
        for (let i = 0; i < k; i++) {
          const j = i + rng.int(m - i);
          [order[i], order[j]] = [order[j] as number, order[i] as number];
          z[order[i] as number] = 1;
        }
        return z;
      },
      similarity(bits) {
        const on = bits.reduce((a, v) => a + v, 0);
        return on === 0 || on === bits.length ? 1e6 : 1;
      },
      fit: (Z, y, w, m) => weightedLeastSquares(Z, y, w, m),
    });
  }
}
