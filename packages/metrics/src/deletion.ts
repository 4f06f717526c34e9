import type { Model } from '@attribution/tensor';
import { fidelityCurve, type FidelityCurve, type FidelityCurveOptions } from './fidelity-curve.js';

/**
 * The deletion curve (Petsiuk et al., 2018): starting from the inputs, features are set to the baseline in
 * order of decreasing attribution, `steps` at a time, and the model's score is recorded at each step. A
 * faithful explanation makes the score fall fast: lower area under the curve is better. The model runs on
 * `steps + 1` copies of the batch, at most `maxExamplesPerBatch` rows per call.
 */
export function deletion<T>(model: Model<T>, inputs: T | readonly T[], attributions: T | readonly T[], options: FidelityCurveOptions<T> = {}): Promise<FidelityCurve> {
  return fidelityCurve('deletion', model, inputs, attributions, options);
}
