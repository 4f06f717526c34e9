import {
  RUN_OPTION_NAMES,
  SampleMeans,
  attributionSums,
  checkBoolean,
  checkOptionNames,
  forEachShapSample,
  prepareShapSampling,
  prepareTargetCall,
  sliceRows,
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
        const rows = chunk.rows.length;
        const [grad] = scope.track([...(await targetGradients(model, { inputs: chunk.points, args: chunk.args, outputWeights: chunk.selection.ones(b, 1, scope), wrt: [ref] }))]);
        const both = chunk.noisy.map((x, i) => scope.track(b.concat([x, chunk.references[i] as T], 0)));
        const bothArgs = chunk.args.map((a) => (b.isTensor(a) && b.shape(a).length > 0 ? scope.track(b.concat([a, a], 0)) : a));
        const { output, captured } = await model.forward({ inputs: both, args: bothArgs, capture: [ref] });
        const [acts] = scope.track([...captured]);
        const deltaA = scope.track(b.tidy(() => b.sub(sliceRows(b, acts as T, 0, rows), sliceRows(b, acts as T, rows, 2 * rows))));
        const perSample = this.multipliesByInputs ? scope.track(b.mul(grad as T, deltaA)) : (grad as T);
        const totals = await attributionSums(b, [perSample]);
        await means.add([perSample], chunk.examples);
        if (returnDelta) {
          const f = chunk.selection.repeatInterleave(1);
          const values = toNumbers(await b.data(output));
          const k = values.length / (2 * rows);
          chunk.rows.forEach((r, j) => {
            const pos = f.positions[j] as Int32Array;
            let fx = 0;
            let fb = 0;
            for (const p of pos) {
              fx += values[j * k + p] as number;
              fb += values[(rows + j) * k + p] as number;
            }
            deltas[r] = (totals[j] as number) - (fx - fb);
          });
        }
        b.dispose(output);
        scope.free([grad as T, acts as T, deltaA, perSample, ...both]);
      });
      const attributions = scope.track(means.means()[0] as T);
      const delta = returnDelta ? b.tensor(Float32Array.from(deltas), [deltas.length], 'float32') : undefined;
      return { attributions: scope.release(attributions), delta };
    });
  }
}
