import {
  RUN_OPTION_NAMES,
  attributionSums,
  checkOptionNames,
  integrateInputPath,
  prepareTarget,
  probeModel,
  restoreStructure,
  targetGradients,
  targetRowLimit,
  withScope,
  type ApproximationMethod,
  type Baselines,
  type LayerName,
  type MultiplyByInputsOptions,
  type Target,
} from '@attribution/core';
import type { Model } from '@attribution/tensor';
import { NeuronAttribution } from './neuron-attribution.js';
import type { NeuronAttributionResult, NeuronOptions } from './types.js';
import { neuronValues, neuronWeights } from './weights.js';

/** Options of {@link NeuronConductance.attribute}. */
export interface NeuronConductanceOptions<T> extends NeuronOptions<T> {
  /** Which model output the conductance flows to. */
  readonly target?: Target<T> | T;
  readonly baselines?: Baselines<T>;
  /** Number of steps (default 50). */
  readonly nSteps?: number;
  /** Approximation rule (default `riemann_trapezoid`, as Captum). */
  readonly method?: ApproximationMethod;
  /** The most rows one model call may see. */
  readonly internalBatchSize?: number;
}

const OPTION_NAMES = ['neuronSelector', 'target', 'baselines', 'additionalForwardArgs', 'attributeToNeuronInput', 'nSteps', 'method', 'internalBatchSize', ...RUN_OPTION_NAMES];

/**
 * Neuron conductance (Dhamdhere et al., 2018), as Captum computes it:
 * `(x − x′) ⊙ Σ_k w_k · [∂F/∂y](p_k) · [∂y/∂x](p_k)` along the path p_k = x′ + α_k (x − x′), where y is the
 * neuron (block sums for blocks). Two gradient calls per chunk of steps.
 */
export class NeuronConductance<T> extends NeuronAttribution<T> {
  constructor(model: Model<T>, layer: LayerName, options: MultiplyByInputsOptions = {}) {
    super(model, layer);
    this.readMultiplyByInputs(options);
  }

  attribute(inputs: T, options: NeuronConductanceOptions<T>): Promise<NeuronAttributionResult<T>>;
  attribute(inputs: readonly T[], options: NeuronConductanceOptions<T>): Promise<NeuronAttributionResult<T[]>>;
  attribute(inputs: T | readonly T[], options: NeuronConductanceOptions<T>): Promise<NeuronAttributionResult<T | T[]>>;
  async attribute(inputs: T | readonly T[], options: NeuronConductanceOptions<T>): Promise<NeuronAttributionResult<T | T[]>> {
    checkOptionNames(options, OPTION_NAMES, 'NeuronConductance.attribute');
    const { model, backend: b } = this;
    return withScope(b, async (scope) => {
      const call = await this.prepareNeuron(inputs, options, scope);
      const n = call.x.batchSize;
      const spec = await prepareTarget(model, options.target, call.x.tensors, call.args, scope, { maxRows: targetRowLimit(options), signal: options.signal });
      const { selection } = await probeModel(model, call.x.tensors, call.args, spec, true, scope, false);
      const wrt = call.x.tensors.map((_, i) => ({ input: i }));
      const path = await integrateInputPath(b, call, options, scope, 'riemann_trapezoid', async (points, stepSizes, args) => {
        // ∂F/∂y at every point: the model gradient at the layer, read at the neuron.
        const [layerGrad] = scope.track([...(await targetGradients(model, { inputs: points, args, outputWeights: selection.ones(b, stepSizes.length, scope), wrt: [call.ref] }))]);
        const dFdy = await neuronValues(b, call, layerGrad as T, stepSizes.length * n);
        scope.free(layerGrad as T);
        // w_k · ∂F/∂y · ∂y/∂x: the neuron's gradient with row weights w_k · ∂F/∂y.
        return targetGradients(model, { inputs: points, args, outputWeights: neuronWeights(b, call, stepSizes, scope, dFdy), wrt, of: call.ref, select: call.spec.select });
      });
      const attributions = this.multipliesByInputs ? path.integral.map((g, i) => scope.track(b.mul(g, path.diffs[i] as T))) : path.integral;
      await attributionSums(b, attributions);
      return { attributions: restoreStructure(call.x, scope.release(attributions)) };
    });
  }
}

