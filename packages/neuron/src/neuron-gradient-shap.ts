import {
  RUN_OPTION_NAMES,
  addRowsToExamples,
  attributionSums,
  callSeed,
  checkInteger,
  checkOptionNames,
  checkRowLimit,
  checkSeed,
  forEachShapSample,
  prepareDistribution,
  restoreStructure,
  targetGradients,
  withScope,
  type BaselineDistribution,
  type LayerName,
  type MultiplyByInputsOptions,
} from '@attribution/core';
import { sizeOf, toNumbers, type Model } from '@attribution/tensor';
import { NeuronAttribution } from './neuron-attribution.js';
import type { NeuronAttributionResult, NeuronOptions } from './types.js';

/** Options of {@link NeuronGradientShap.attribute}. */
export interface NeuronGradientShapOptions<T> extends NeuronOptions<T> {
  readonly baselines: BaselineDistribution<T>;
  readonly nSamples?: number;
  readonly stdevs?: number | readonly number[];
  readonly internalBatchSize?: number;
  readonly seed?: number;
}

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

  async attribute(inputs: T | readonly T[], options: NeuronGradientShapOptions<T>): Promise<NeuronAttributionResult<T | T[]>> {
    checkOptionNames(options, OPTION_NAMES, 'NeuronGradientShap.attribute');
    const samples = checkInteger('nSamples', options.nSamples ?? 5, 1);
    const maxRows = checkRowLimit('internalBatchSize', options.internalBatchSize);
    const seed = callSeed(checkSeed(options.seed));
    const b = this.backend;
    return withScope(b, async (scope) => {
      const call = await this.prepareNeuron(inputs, options, scope);
      const dist = await prepareDistribution(b, options.baselines, call.x, 1);
      const stdevs = typeof options.stdevs === 'number' || options.stdevs === undefined ? call.x.tensors.map(() => (options.stdevs as number | undefined) ?? 0) : [...options.stdevs];
      const n = call.x.batchSize;
      const sizes = call.x.shapes.map((s) => sizeOf(s.slice(1)));
      const sums = sizes.map((per) => new Float64Array(n * per));
      await forEachShapSample(this.model, call, dist, { samples, stdevs, seed, maxRows }, scope, options, async (chunk) => {
        const rows = chunk.rows.length;
        const weights = 'selection' in call.neuron ? chunk.selection.ones(b, 1, scope) : scope.track(b.fill([rows], 1));
        const grads = scope.track([
          ...(await targetGradients(this.model, { inputs: chunk.points, args: chunk.args, outputWeights: weights, wrt: chunk.points.map((_, i) => ({ input: i })), of: call.ref, select: call.spec.select })),
        ]);
        const perSample = this.multipliesByInputs ? grads.map((g, i) => scope.track(b.tidy(() => b.mul(g, b.sub(chunk.noisy[i] as T, chunk.references[i] as T))))) : grads;
        await attributionSums(b, perSample);
        for (let i = 0; i < perSample.length; i++) addRowsToExamples(sums[i] as Float64Array, toNumbers(await b.data(perSample[i] as T)), chunk.examples, sizes[i] as number);
        scope.free([...grads, ...perSample]);
      });
      const attributions = sums.map((s, i) => scope.track(b.tensor(s.map((v) => v / samples), call.x.shapes[i] as number[], 'float32')));
      return { attributions: restoreStructure(call.x, scope.release(attributions)) };
    });
  }
}
