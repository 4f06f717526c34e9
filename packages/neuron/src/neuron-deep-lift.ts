import {
  RUN_OPTION_NAMES,
  attributionSums,
  checkOptionNames,
  checkRowLimit,
  deepLiftPass,
  prepareBaselines,
  restoreStructure,
  withScope,
  type Baselines,
  type LayerName,
  type MultiplyByInputsOptions,
} from '@attribution/core';
import type { Model } from '@attribution/tensor';
import { NeuronAttribution } from './neuron-attribution.js';
import type { NeuronAttributionResult, NeuronOptions } from './types.js';

/** Options of {@link NeuronDeepLift.attribute}. */
export interface NeuronDeepLiftOptions<T> extends NeuronOptions<T> {
  readonly baselines?: Baselines<T>;
  /** The most rows one model call may see (two per example). */
  readonly internalBatchSize?: number;
}

const OPTION_NAMES = ['neuronSelector', 'baselines', 'additionalForwardArgs', 'attributeToNeuronInput', 'internalBatchSize', ...RUN_OPTION_NAMES];

/** Neuron DeepLift: DeepLift's multipliers of the neuron with respect to the inputs, `(x − x′) ⊙ m`. One model call. */
export class NeuronDeepLift<T> extends NeuronAttribution<T> {
  constructor(model: Model<T>, layer: LayerName, options: MultiplyByInputsOptions = {}) {
    super(model, layer);
    this.readMultiplyByInputs(options);
  }

  attribute(inputs: T, options: NeuronDeepLiftOptions<T>): Promise<NeuronAttributionResult<T>>;
  attribute(inputs: readonly T[], options: NeuronDeepLiftOptions<T>): Promise<NeuronAttributionResult<T[]>>;
  attribute(inputs: T | readonly T[], options: NeuronDeepLiftOptions<T>): Promise<NeuronAttributionResult<T | T[]>>;
  async attribute(inputs: T | readonly T[], options: NeuronDeepLiftOptions<T>): Promise<NeuronAttributionResult<T | T[]>> {
    checkOptionNames(options, OPTION_NAMES, 'NeuronDeepLift.attribute');
    const maxRows = checkRowLimit('internalBatchSize', options.internalBatchSize, 2);
    const b = this.backend;
    return withScope(b, async (scope) => {
      const call = await this.prepareNeuron(inputs, options, scope);
      const baselines = await prepareBaselines(b, options.baselines, call.x, scope);
      const pass = await deepLiftPass(this.model, call, baselines, scope, { ...options, maxRows }, call.spec);
      const attributions = this.multipliesByInputs
        ? pass.multipliers.map((m, i) => scope.track(b.tidy(() => b.mul(b.sub(call.x.tensors[i] as T, baselines[i] as T), m))))
        : pass.multipliers;
      await attributionSums(b, attributions);
      return { attributions: restoreStructure(call.x, scope.release(attributions)) };
    });
  }
}
