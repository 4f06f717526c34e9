import {
  Attribution,
  RUN_OPTION_NAMES,
  ablateFeatures,
  attributionTensors,
  checkOptionNames,
  checkPerturbationsPerEval,
  maskFeatures,
  preparePerturbationCall,
  restoreStructure,
  withScope,
} from '@attribution/core';
import type { AttributionResult, PerturbationOptions } from './types.js';

/** Options of {@link FeatureAblation.attribute}. */
export type FeatureAblationOptions<T> = PerturbationOptions<T>;

const OPTION_NAMES = ['baselines', 'target', 'additionalForwardArgs', 'featureMask', 'perturbationsPerEval', ...RUN_OPTION_NAMES];

/**
 * Feature ablation: each feature in turn is replaced by its baseline and the change of the output is its
 * attribution: `attr[f] = F(x) − F(x with feature f ablated)`, spread over the feature's positions.
 * `1 + ⌈features / perturbationsPerEval⌉` model calls. With `K` selected outputs per example the
 * attributions have `N·K` rows (Captum's layout); with one, the input's shape.
 */
export class FeatureAblation<T> extends Attribution<T> {
  override get multipliesByInputs(): boolean {
    return true;
  }

  attribute(inputs: T, options?: FeatureAblationOptions<T>): Promise<AttributionResult<T, T>>;
  attribute(inputs: readonly T[], options?: FeatureAblationOptions<T>): Promise<AttributionResult<T[], T>>;
  async attribute(inputs: T | readonly T[], options: FeatureAblationOptions<T> = {}): Promise<AttributionResult<T | T[], T>> {
    checkOptionNames(options, OPTION_NAMES, 'FeatureAblation.attribute');
    const perEval = checkPerturbationsPerEval(options.perturbationsPerEval);
    const { model, backend: b } = this;
    return withScope(b, async (scope) => {
      const call = await preparePerturbationCall(model, inputs, options, scope);
      const features = await maskFeatures(b, options.featureMask, call.x);
      const attr = await ablateFeatures(model, call, features, perEval, scope, options);
      const n = call.x.batchSize;
      const k = call.k;
      const shapes = call.x.shapes.map((s) => [n * k, ...s.slice(1)]);
      return { attributions: restoreStructure(call.x, scope.release(attributionTensors(b, attr, shapes, scope))) };
    });
  }
}
