import { RUN_OPTION_NAMES, attributionSums, checkOptionNames, checkRowLimit, gradientPass, restoreStructure, withScope } from '@attribution/core';
import { NeuronAttribution } from './neuron-attribution.js';
import type { NeuronGradientOptions } from './neuron-gradient.js';
import type { NeuronAttributionResult } from './types.js';

const OPTION_NAMES = ['neuronSelector', 'additionalForwardArgs', 'attributeToNeuronInput', 'internalBatchSize', ...RUN_OPTION_NAMES];

/** Guided backpropagation of a neuron: its gradient with ReLUs passing back only positive gradients. */
export class NeuronGuidedBackprop<T> extends NeuronAttribution<T> {
  override get multipliesByInputs(): boolean {
    return false;
  }

  attribute(inputs: T, options: NeuronGradientOptions<T>): Promise<NeuronAttributionResult<T>>;
  attribute(inputs: readonly T[], options: NeuronGradientOptions<T>): Promise<NeuronAttributionResult<T[]>>;
  attribute(inputs: T | readonly T[], options: NeuronGradientOptions<T>): Promise<NeuronAttributionResult<T | T[]>>;
  async attribute(inputs: T | readonly T[], options: NeuronGradientOptions<T>): Promise<NeuronAttributionResult<T | T[]>> {
    checkOptionNames(options, OPTION_NAMES, 'NeuronGuidedBackprop.attribute');
    return modifiedNeuronGradient(this, 'guided-backprop', inputs, options);
  }
}

/** Deconvolution of a neuron: its gradient with ReLUs passing back max(0, g). */
export class NeuronDeconvolution<T> extends NeuronAttribution<T> {
  override get multipliesByInputs(): boolean {
    return false;
  }

  attribute(inputs: T, options: NeuronGradientOptions<T>): Promise<NeuronAttributionResult<T>>;
  attribute(inputs: readonly T[], options: NeuronGradientOptions<T>): Promise<NeuronAttributionResult<T[]>>;
  attribute(inputs: T | readonly T[], options: NeuronGradientOptions<T>): Promise<NeuronAttributionResult<T | T[]>>;
  async attribute(inputs: T | readonly T[], options: NeuronGradientOptions<T>): Promise<NeuronAttributionResult<T | T[]>> {
    checkOptionNames(options, OPTION_NAMES, 'NeuronDeconvolution.attribute');
    return modifiedNeuronGradient(this, 'deconvolution', inputs, options);
  }
}

function modifiedNeuronGradient<T>(
  method: NeuronGuidedBackprop<T> | NeuronDeconvolution<T>,
  rule: 'guided-backprop' | 'deconvolution',
  inputs: T | readonly T[],
  options: NeuronGradientOptions<T>,
): Promise<NeuronAttributionResult<T | T[]>> {
  const maxRows = checkRowLimit('internalBatchSize', options.internalBatchSize);
  return withScope(method.backend, async (scope) => {
    const call = await method.prepareNeuron(inputs, options, scope);
    const { gradients } = await gradientPass(method.model, call, call.spec, scope, { ...options, maxRows, rule });
    await attributionSums(method.backend, gradients);
    return { attributions: restoreStructure(call.x, scope.release(gradients)) };
  });
}
