import type { Model } from '@attribution/tensor';
import {
  RUN_OPTION_NAMES,
  attributionSums,
  checkBoolean,
  checkOptionNames,
  integrateInputPath,
  prepareTargetCall,
  targetGradients,
  withScope,
  type LayerName,
} from '@attribution/core';
import { LayerAttribution } from './layer-attribution.js';
import type { LayerAttributionResult, LayerPathOptions } from './types.js';

/** Options of {@link InternalInfluence.attribute}. */
export type InternalInfluenceOptions<T> = LayerPathOptions<T>;

const OPTION_NAMES = ['baselines', 'target', 'additionalForwardArgs', 'nSteps', 'method', 'internalBatchSize', 'attributeToLayerInput', ...RUN_OPTION_NAMES];

/**
 * Internal influence (Leino et al., 2018): the gradient at the layer integrated along the straight path from
 * the baselines to the inputs in input space, `Σ_k w_k · ∂F/∂A (x′ + α_k (x − x′))`, not multiplied by
 * anything. One gradient call per chunk of steps.
 */
export class InternalInfluence<T> extends LayerAttribution<T> {
  constructor(model: Model<T>, layer: LayerName) {
    super(model, layer);
  }

  override get multipliesByInputs(): boolean {
    return false;
  }

  async attribute(inputs: T | readonly T[], options: InternalInfluenceOptions<T> = {}): Promise<LayerAttributionResult<T, T>> {
    checkOptionNames(options, OPTION_NAMES, 'InternalInfluence.attribute');
    const ref = this.ref(checkBoolean('attributeToLayerInput', options.attributeToLayerInput ?? false));
    const { model, backend: b } = this;
    return withScope(b, async (scope) => {
      const call = await prepareTargetCall(model, inputs, options, scope);
      const path = await integrateInputPath(b, call, options, scope, 'gausslegendre', (points, stepSizes, args) =>
        targetGradients(model, { inputs: points, args, outputWeights: call.selection.weights(b, stepSizes, scope), wrt: [ref] }),
      );
      const influence = path.integral[0] as T;
      await attributionSums(b, [influence]);
      return { attributions: scope.release(influence) };
    });
  }
}
