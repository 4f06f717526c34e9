import type { Model } from '@attribution/tensor';
import { fidelityCurve, type FidelityCurve, type FidelityCurveOptions } from './fidelity-curve.js';

/**
 * The insertion curve (Petsiuk et al., 2018): starting from the baseline, the inputs' features are restored
 * in order of decreasing attribution, `steps` at a time, and the model's score is recorded at each step. A
 * faithful explanation makes the score rise fast: higher area under the curve is better. The model runs on
 * `steps + 1` copies of the batch, at most `maxExamplesPerBatch` rows per call.
 */
export function insertion<T>(model: Model<T>, inputs: T | readonly T[], attributions: T | readonly T[], options: FidelityCurveOptions<T> = {}): Promise<FidelityCurve> {
  return fidelityCurve('insertion', model, inputs, attributions, options);
}
