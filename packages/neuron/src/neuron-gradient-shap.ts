import {
  RUN_OPTION_NAMES,
  SampleMeans,
  attributionSums,
  checkOptionNames,
  forEachShapSample,
  prepareShapSampling,
  restoreStructure,
  targetGradients,
  withScope,
  type LayerName,
  type MultiplyByInputsOptions,
  type ShapSamplingOptions,
} from '@attribution/core';
import {
  type Model,
} from '@attribution/tensor';
import { NeuronAttribution } from './neuron-attribution.js';
import type { NeuronAttributionResult, NeuronOptions } from './types.js';

/** Options of {@link NeuronGradientShap.attribute}. */
export interface NeuronGradientShapOptions<T> extends NeuronOptions<T>, ShapSamplingOptions<T> {}

const OPTION_NAMES = ['neuronSelector', 'baselines', 'additionalForwardArgs', 'attributeToNeuronInput', 'nSamples', 'stdevs', 'internalBatchSize', 'seed', ...RUN_OPTION_NAMES];

/** Neuron GradientSHAP: GradientSHAP with the neuron's value in place of the model output. */
export class NeuronGradientShap<T> extends NeuronAttribution<T> {
  constructor(model: Model<T>, layer: LayerName, options: MultiplyByInputsOptions = {}) {
    super(model, layer);
    this.readMultiplyByInputs(options);
  }

  override get stochastic(): boolean {
    return true;
  }

  attribute(inputs: T, options: NeuronGradientShapOptions<T>): Promise<NeuronAttributionResult<T>>;
  attribute(inputs: readonly T[], options: NeuronGradientShapOptions<T>): Promise<NeuronAttributionResult<T[]>>;
  attribute(inputs: T | readonly T[], options: NeuronGradientShapOptions<T>): Promise<NeuronAttributionResult<T | T[]>>;
  async attribute(inputs: T | readonly T[], options: NeuronGradientShapOptions<T>): Promise<NeuronAttributionResult<T | T[]>> {
    checkOptionNames(options, OPTION_NAMES, 'NeuronGradientShap.attribute');
    const b = this.backend;
    return withScope(b, async (scope) => {
      const call = await this.prepareNeuron(inputs, options, scope);
      const plan = await prepareShapSampling(b, options, call.x);
      const means = new SampleMeans(b, call.x.batchSize, plan.samples);
      await forEachShapSample(this.model, call, plan, scope, options, async (chunk) => {
        const rows = chunk.rows.length;
        const weights = 'selection' in call.neuron ? chunk.selection.ones(b, 1, scope) : scope.track(b.fill([rows], 1));
        const grads = scope.track([
          ...(await targetGradients(this.model, { inputs: chunk.points, args: chunk.args, outputWeights: weights, wrt: chunk.points.map((_, i) => ({ input: i })), of: call.ref, select: call.spec.select })),
        ]);
        const perSample = this.multipliesByInputs ? grads.map((g, i) => scope.track(b.tidy(() => b.mul(g, b.sub(chunk.noisy[i] as T, chunk.references[i] as T))))) : grads;
        await attributionSums(b, perSample);
        await means.add(perSample, chunk.examples);
        scope.free([...grads, ...perSample]);
      });
      const attributions = scope.track(means.means());
      return { attributions: restoreStructure(call.x, scope.release(attributions)) };
    });
  }
}
