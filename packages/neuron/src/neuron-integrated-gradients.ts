import {
  RUN_OPTION_NAMES,
  attributionSums,
  checkOptionNames,
  integrateInputPath,
  restoreStructure,
  targetGradients,
  withScope,
  type ApproximationMethod,
  type Baselines,
  type LayerName,
  type MultiplyByInputsOptions,
} from '@attribution/core';
import type { Model } from '@attribution/tensor';
import { NeuronAttribution } from './neuron-attribution.js';
import type { NeuronAttributionResult, NeuronOptions } from './types.js';
import { neuronWeights } from './weights.js';

/** Options of {@link NeuronIntegratedGradients.attribute}. */
export interface NeuronIntegratedGradientsOptions<T> extends NeuronOptions<T> {
  readonly baselines?: Baselines<T>;
  /** Number of steps (default 50). */
  readonly nSteps?: number;
  /** Approximation rule (default `gausslegendre`). */
  readonly method?: ApproximationMethod;
  /** The most rows one model call may see. */
  readonly internalBatchSize?: number;
}

const OPTION_NAMES = ['neuronSelector', 'baselines', 'additionalForwardArgs', 'attributeToNeuronInput', 'nSteps', 'method', 'internalBatchSize', ...RUN_OPTION_NAMES];

/** Neuron Integrated Gradients: Integrated Gradients with the neuron's value in place of the model output. */
export class NeuronIntegratedGradients<T> extends NeuronAttribution<T> {
  constructor(model: Model<T>, layer: LayerName, options: MultiplyByInputsOptions = {}) {
    super(model, layer);
    this.readMultiplyByInputs(options);
  }

  attribute(inputs: T, options: NeuronIntegratedGradientsOptions<T>): Promise<NeuronAttributionResult<T>>;
  attribute(inputs: readonly T[], options: NeuronIntegratedGradientsOptions<T>): Promise<NeuronAttributionResult<T[]>>;
  attribute(inputs: T | readonly T[], options: NeuronIntegratedGradientsOptions<T>): Promise<NeuronAttributionResult<T | T[]>>;
  async attribute(inputs: T | readonly T[], options: NeuronIntegratedGradientsOptions<T>): Promise<NeuronAttributionResult<T | T[]>> {
    checkOptionNames(options, OPTION_NAMES, 'NeuronIntegratedGradients.attribute');
    const b = this.backend;
    return withScope(b, async (scope) => {
      const call = await this.prepareNeuron(inputs, options, scope);
      const wrt = call.x.tensors.map((_, i) => ({ input: i }));
      const path = await integrateInputPath(b, call, options, scope, 'gausslegendre', (points, stepSizes, args) =>
        targetGradients(this.model, { inputs: points, args, outputWeights: neuronWeights(b, call, stepSizes, scope), wrt, of: call.ref, select: call.spec.select }),
      );
      const attributions = this.multipliesByInputs ? path.integral.map((g, i) => scope.track(b.mul(g, path.diffs[i] as T))) : path.integral;
      await attributionSums(b, attributions);
      return { attributions: restoreStructure(call.x, scope.release(attributions)) };
    });
  }
}
