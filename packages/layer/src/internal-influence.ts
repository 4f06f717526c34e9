import {
  RUN_OPTION_NAMES,
  argRepeater,
  attributionSums,
  checkApproximationMethod,
  checkBatchRows,
  checkBoolean,
  checkInteger,
  checkOptionNames,
  integrateGradients,
  prepareBaselines,
  prepareTargetCall,
  targetGradients,
  withScope,
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
  get multipliesByInputs(): boolean {
    return false;
  }

  async attribute(inputs: T | readonly T[], options: InternalInfluenceOptions<T> = {}): Promise<LayerAttributionResult<T, T>> {
    checkOptionNames(options, OPTION_NAMES, 'InternalInfluence.attribute');
    const nSteps = checkInteger('nSteps', options.nSteps ?? 50, 1);
    const method = checkApproximationMethod(options.method ?? 'gausslegendre');
    const toInput = checkBoolean('attributeToLayerInput', options.attributeToLayerInput ?? false);
    const { model, backend: b } = this;
    return withScope(b, async (scope) => {
      const call = await prepareTargetCall(model, inputs, options, scope);
      const maxRows = checkBatchRows('internalBatchSize', options.internalBatchSize, call.x.batchSize);
      const baselines = await prepareBaselines(b, options.baselines, call.x, scope);
      const diffs = call.x.tensors.map((t, i) => scope.track(b.sub(t, baselines[i] as T)));
      const argsFor = argRepeater(b, call.args, scope);
      const ref = this.ref(toInput);
      const [influence] = await integrateGradients({
        backend: b,
        scope,
        starts: baselines,
        diffs,
        examples: call.x.batchSize,
        nSteps,
        method,
        maxRows,
        signal: options.signal,
        onProgress: options.onProgress,
        gradientAt: (points, stepSizes) =>
          targetGradients(model, { inputs: points, args: argsFor(stepSizes.length), outputWeights: call.selection.weights(b, stepSizes, scope), wrt: [ref] }),
      });
      await attributionSums(b, [influence as T]);
      return { attributions: scope.release(influence as T) };
    });
  }
}
