import {
  RUN_OPTION_NAMES,
  SampleMeans,
  attributionSums,
  checkBoolean,
  checkOptionNames,
  forEachShapSample,
  prepareShapSampling,
  prepareTargetCall,
  targetGradients,
  withScope,
  type MultiplyByInputsOptions,
  type ShapSamplingOptions,
} from '@attribution/core';
import type { LayerName } from '@attribution/core';
import {
  toNumbers,
  type Model,
} from '@attribution/tensor';
import { LayerAttribution } from './layer-attribution.js';
import type { LayerAttributionResult, LayerTargetOptions } from './types.js';

/** Options of {@link LayerGradientShap.attribute}. */
export interface LayerGradientShapOptions<T> extends LayerTargetOptions<T>, ShapSamplingOptions<T> {
  /** Also return the delta of every sample (example-major). */
  readonly returnConvergenceDelta?: boolean;
}

const OPTION_NAMES = ['baselines', 'target', 'additionalForwardArgs', 'attributeToLayerInput', 'nSamples', 'stdevs', 'internalBatchSize', 'returnConvergenceDelta', 'seed', ...RUN_OPTION_NAMES];

/**
 * Layer GradientSHAP: GradientSHAP's samples in input space (reference b, noisy input x̃, point on the line
 * between them), with the gradient taken at the layer and multiplied by `A(x̃) − A(b)`; averaged over the
 * samples of each example.
 */
export class LayerGradientShap<T> extends LayerAttribution<T> {
  constructor(model: Model<T>, layer: LayerName, options: MultiplyByInputsOptions = {}) {
    super(model, layer);
    this.readMultiplyByInputs(options);
  }

  override get stochastic(): boolean {
    return true;
  }

  async attribute(inputs: T | readonly T[], options: LayerGradientShapOptions<T>): Promise<LayerAttributionResult<T, T>> {
    checkOptionNames(options, OPTION_NAMES, 'LayerGradientShap.attribute');
    const toInput = checkBoolean('attributeToLayerInput', options.attributeToLayerInput ?? false);
    const returnDelta = checkBoolean('returnConvergenceDelta', options.returnConvergenceDelta ?? false);
    const { model, backend: b } = this;
    return withScope(b, async (scope) => {
      const call = await prepareTargetCall(model, inputs, options, scope);
      const plan = await prepareShapSampling(b, options, call.x);
      const { samples } = plan;
      const ref = this.ref(toInput);
      const n = call.x.batchSize;
      const means = new SampleMeans(b, n, samples);
      const deltas = new Float64Array(n * samples);
      await forEachShapSample(model, call, plan, scope, options, async (chunk) => {
        const [grad] = scope.track([...(await targetGradients(model, { inputs: chunk.points, args: chunk.args, outputWeights: chunk.selection.ones(b, 1, scope), wrt: [ref] }))]);
        // A(x̃) and A(b): two forward calls of the chunk's rows each.
        const atInputs = await model.forward({ inputs: chunk.noisy, args: chunk.args, capture: [ref] });
        const atReferences = await model.forward({ inputs: chunk.references, args: chunk.args, capture: [ref] });
        scope.track([atInputs.output, atReferences.output, ...atInputs.captured, ...atReferences.captured]);
        const deltaA = scope.track(b.sub(atInputs.captured[0] as T, atReferences.captured[0] as T));
        const perSample = this.multipliesByInputs ? scope.track(b.mul(grad as T, deltaA)) : (grad as T);
        const totals = await attributionSums(b, [perSample]);
        await means.add([perSample], chunk.examples);
        if (returnDelta) {
          const fx = chunk.selection.sums(toNumbers(await b.data(atInputs.output)));
          const fb = chunk.selection.sums(toNumbers(await b.data(atReferences.output)));
          chunk.rows.forEach((r, k) => (deltas[r] = (totals[k] as number) - ((fx[k] as number) - (fb[k] as number))));
        }
        scope.free([grad as T, deltaA, perSample, atInputs.output, atReferences.output, ...atInputs.captured, ...atReferences.captured]);
      });
      const attributions = scope.track(means.means()[0] as T);
      const delta = returnDelta ? b.tensor(Float32Array.from(deltas), [deltas.length], 'float32') : undefined;
      return { attributions: scope.release(attributions), delta };
    });
  }
}
