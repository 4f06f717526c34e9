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
  restoreStructure,
  targetGradients,
  withScope,
  type ApproximationMethod,
  type Baselines,
  type LayerName,
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
  private readonly multiplyByInputs: boolean;

  constructor(model: Model<T>, layer: LayerName, options: { readonly multiplyByInputs?: boolean } = {}) {
    super(model, layer);
    checkOptionNames(options, ['multiplyByInputs'], 'NeuronIntegratedGradients');
    this.multiplyByInputs = checkBoolean('multiplyByInputs', options.multiplyByInputs ?? true);
  }

  get multipliesByInputs(): boolean {
    return this.multiplyByInputs;
  }

  async attribute(inputs: T | readonly T[], options: NeuronIntegratedGradientsOptions<T>): Promise<NeuronAttributionResult<T | T[]>> {
    checkOptionNames(options, OPTION_NAMES, 'NeuronIntegratedGradients.attribute');
    const nSteps = checkInteger('nSteps', options.nSteps ?? 50, 1);
    const method = checkApproximationMethod(options.method ?? 'gausslegendre');
    const b = this.backend;
    return withScope(b, async (scope) => {
      const call = await this.prepareNeuron(inputs, options, scope);
      const maxRows = checkBatchRows('internalBatchSize', options.internalBatchSize, call.x.batchSize);
      const baselines = await prepareBaselines(b, options.baselines, call.x, scope);
      const diffs = call.x.tensors.map((t, i) => scope.track(b.sub(t, baselines[i] as T)));
      const argsFor = argRepeater(b, call.args, scope);
      const grads = await integrateGradients({
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
          targetGradients(this.model, {
            inputs: points,
            args: argsFor(stepSizes.length),
            outputWeights: neuronWeights(b, call, stepSizes, scope),
            wrt: points.map((_, i) => ({ input: i })),
            of: call.ref,
            select: call.spec.select,
          }),
      });
      const attributions = this.multiplyByInputs ? grads.map((g, i) => scope.track(b.mul(g, diffs[i] as T))) : grads;
      await attributionSums(b, attributions);
      return { attributions: restoreStructure(call.x, scope.release(attributions)) };
    });
  }
}
