import {
  RUN_OPTION_NAMES,
  ablateFeatures,
  attributionTensors,
  checkOptionNames,
  checkPerturbationsPerEval,
  maskFeatures,
  preparePerturbationCall,
  repeatArgs,
  restoreStructure,
  withScope,
  type PerturbationCall,
} from '@attribution/core';
import { NeuronAttribution } from './neuron-attribution.js';
import type { NeuronAttributionResult, NeuronOptions } from './types.js';
import { neuronValues } from './weights.js';

/** Options of {@link NeuronFeatureAblation.attribute}. */
export interface NeuronFeatureAblationOptions<T> extends NeuronOptions<T> {
  readonly baselines?: number | T | readonly (number | T)[];
  readonly featureMask?: T | readonly T[];
  readonly perturbationsPerEval?: number;
}

const OPTION_NAMES = ['neuronSelector', 'baselines', 'additionalForwardArgs', 'attributeToNeuronInput', 'featureMask', 'perturbationsPerEval', ...RUN_OPTION_NAMES];

/** Neuron feature ablation: feature ablation of the inputs, measuring the neuron's value instead of an output. */
export class NeuronFeatureAblation<T> extends NeuronAttribution<T> {
  override get multipliesByInputs(): boolean {
    return true;
  }

  attribute(inputs: T, options: NeuronFeatureAblationOptions<T>): Promise<NeuronAttributionResult<T>>;
  attribute(inputs: readonly T[], options: NeuronFeatureAblationOptions<T>): Promise<NeuronAttributionResult<T[]>>;
  attribute(inputs: T | readonly T[], options: NeuronFeatureAblationOptions<T>): Promise<NeuronAttributionResult<T | T[]>>;
  async attribute(inputs: T | readonly T[], options: NeuronFeatureAblationOptions<T>): Promise<NeuronAttributionResult<T | T[]>> {
    checkOptionNames(options, OPTION_NAMES, 'NeuronFeatureAblation.attribute');
    const perEval = checkPerturbationsPerEval(options.perturbationsPerEval);
    const { model, backend: b } = this;
    return withScope(b, async (scope) => {
      const neuron = await this.prepareNeuron(inputs, options, scope, false);
      const base = await preparePerturbationCall(model, inputs, { baselines: options.baselines, additionalForwardArgs: options.additionalForwardArgs }, scope);
      const valuesOf = async (batch: readonly T[], copies: number): Promise<Float64Array> => {
        const args = repeatArgs(b, base.args, copies, scope);
        const { output, captured } = await model.forward({ inputs: batch, args, capture: [neuron.ref] });
        scope.track([output, ...captured]);
        const values = await neuronValues(b, neuron, captured[0] as T, copies * base.x.batchSize);
        scope.free([output, ...captured]);
        scope.free(args.filter((a): a is T => b.isTensor(a) && !base.args.includes(a)));
        return values;
      };
      const call: PerturbationCall<T> = { ...base, k: 1, f0: await valuesOf(base.x.tensors, 1), evaluate: valuesOf };
      const features = await maskFeatures(b, options.featureMask, call.x);
      const attr = await ablateFeatures(model, call, features, perEval, scope, options);
      return { attributions: restoreStructure(call.x, scope.release(attributionTensors(b, attr, call.x.shapes, scope))) };
    });
  }
}
