import {
  RUN_OPTION_NAMES,
  activationsAtEnds,
  argRepeater,
  attributionSums,
  checkApproximationMethod,
  checkBatchRows,
  checkBoolean,
  checkOptionNames,
  checkSteps,
  convergenceDelta,
  integrateGradients,
  prepareBaselines,
  prepareTargetCall,
  selectedOutputSums,
  targetGradients,
  withScope,
  type MultiplyByInputsOptions,
} from '@attribution/core';
import type { LayerName } from '@attribution/core';
import type { Model } from '@attribution/tensor';
import { LayerAttribution } from './layer-attribution.js';
import type { LayerAttributionResult, LayerPathOptions } from './types.js';

/** Options of {@link LayerIntegratedGradients.attribute}. */
export interface LayerIntegratedGradientsOptions<T> extends LayerPathOptions<T> {
  /** Also return the convergence delta `Σ attributions − (F(x) − F(x′))`. */
  readonly returnConvergenceDelta?: boolean;
}

const OPTION_NAMES = ['baselines', 'target', 'additionalForwardArgs', 'nSteps', 'method', 'internalBatchSize', 'returnConvergenceDelta', 'attributeToLayerInput', ...RUN_OPTION_NAMES];

/**
 * Layer Integrated Gradients, as Captum computes it: with A(x) and A(x′) the layer's activations at the
 * inputs and at the baselines (given in input space), the path runs in layer space,
 * `(A(x) − A(x′)) ⊙ Σ_k w_k · ∂F/∂A (A(x′) + α_k (A(x) − A(x′)))`, the model running on the real inputs with
 * the layer replaced by the path points. Works for layers fed by integer inputs (token ids → embeddings).
 */
export class LayerIntegratedGradients<T> extends LayerAttribution<T> {
  constructor(model: Model<T>, layer: LayerName, options: MultiplyByInputsOptions = {}) {
    super(model, layer);
    this.readMultiplyByInputs(options);
  }

  async attribute(inputs: T | readonly T[], options: LayerIntegratedGradientsOptions<T> = {}): Promise<LayerAttributionResult<T, T>> {
    checkOptionNames(options, OPTION_NAMES, 'LayerIntegratedGradients.attribute');
    const nSteps = checkSteps(options.nSteps ?? 50);
    const method = checkApproximationMethod(options.method ?? 'gausslegendre');
    const toInput = checkBoolean('attributeToLayerInput', options.attributeToLayerInput ?? false);
    const returnDelta = checkBoolean('returnConvergenceDelta', options.returnConvergenceDelta ?? false);
    const { model, backend: b } = this;
    return withScope(b, async (scope) => {
      const call = await prepareTargetCall(model, inputs, options, scope, returnDelta, false);
      const n = call.x.batchSize;
      const maxRows = checkBatchRows('internalBatchSize', options.internalBatchSize, n);
      const baselines = await prepareBaselines(b, options.baselines, call.x, scope);
      const ref = this.ref(toInput);
      const [[atInputs], [atBaselines]] = await activationsAtEnds(model, call.x.tensors, baselines, call.args, [ref], scope, { maxRows, signal: options.signal });
      const diff = scope.track(b.sub(atInputs as T, atBaselines as T));
      const inputsFor = argRepeater(b, call.x.tensors, scope);
      const argsFor = argRepeater(b, call.args, scope);
      const [grads] = await integrateGradients({
        backend: b,
        scope,
        starts: [atBaselines as T],
        diffs: [diff],
        examples: n,
        nSteps,
        method,
        maxRows,
        signal: options.signal,
        onProgress: options.onProgress,
        gradientAt: (points, stepSizes) =>
          targetGradients(model, {
            inputs: inputsFor(stepSizes.length) as T[],
            args: argsFor(stepSizes.length),
            outputWeights: call.selection.weights(b, stepSizes, scope),
            wrt: [ref],
            replace: [{ ref, value: points[0] as T }],
          }),
      });
      const attributions = this.multipliesByInputs ? scope.track(b.mul(grads as T, diff)) : (grads as T);
      const totals = await attributionSums(b, [attributions]);
      const delta = returnDelta
        ? convergenceDelta(b, totals, await selectedOutputSums(model, baselines, call.args, call.selection, maxRows, scope), call.fInputs as Float64Array)
        : undefined;
      return { attributions: scope.release(attributions), delta };
    });
  }
}
