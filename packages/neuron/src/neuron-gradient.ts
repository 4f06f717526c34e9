import { RUN_OPTION_NAMES, attributionSums, checkOptionNames, checkRowLimit, gradientPass, restoreStructure, withScope } from '@attribution/core';
import { NeuronAttribution } from './neuron-attribution.js';
import type { NeuronAttributionResult, NeuronOptions } from './types.js';

/** Options of {@link NeuronGradient.attribute}. */
export interface NeuronGradientOptions<T> extends NeuronOptions<T> {
  /** The most examples per model call. */
  readonly internalBatchSize?: number;
}

const OPTION_NAMES = ['neuronSelector', 'additionalForwardArgs', 'attributeToNeuronInput', 'internalBatchSize', ...RUN_OPTION_NAMES];

/** The gradient of a neuron (or of a summed block of neurons) with respect to the inputs. One gradient call. */
export class NeuronGradient<T> extends NeuronAttribution<T> {
  override get multipliesByInputs(): boolean {
    return false;
  }

  attribute(inputs: T, options: NeuronGradientOptions<T>): Promise<NeuronAttributionResult<T>>;
  attribute(inputs: readonly T[], options: NeuronGradientOptions<T>): Promise<NeuronAttributionResult<T[]>>;
  attribute(inputs: T | readonly T[], options: NeuronGradientOptions<T>): Promise<NeuronAttributionResult<T | T[]>>;
  async attribute(inputs: T | readonly T[], options: NeuronGradientOptions<T>): Promise<NeuronAttributionResult<T | T[]>> {
    checkOptionNames(options, OPTION_NAMES, 'NeuronGradient.attribute');
    const maxRows = checkRowLimit('internalBatchSize', options.internalBatchSize);
    return withScope(this.backend, async (scope) => {
      const call = await this.prepareNeuron(inputs, options, scope);
      const { gradients } = await gradientPass(this.model, call, call.spec, scope, { ...options, maxRows });
      await attributionSums(this.backend, gradients);
      return { attributions: restoreStructure(call.x, scope.release(gradients)) };
    });
  }
}
