import {
  RUN_OPTION_NAMES,
  addRowsToExamples,
  attributionSums,
  callSeed,
  checkBoolean,
  checkInteger,
  checkOptionNames,
  checkRowLimit,
  checkSeed,
  forEachShapSample,
  prepareDistribution,
  prepareTargetCall,
  sliceRows,
  targetGradients,
  withScope,
  type MultiplyByInputsOptions,
} from '@attribution/core';
import type { BaselineDistribution, LayerName } from '@attribution/core';
import { sizeOf, toNumbers, type Model } from '@attribution/tensor';
import { LayerAttribution } from './layer-attribution.js';
import type { LayerAttributionResult, LayerTargetOptions } from './types.js';

/** Options of {@link LayerGradientShap.attribute}. */
export interface LayerGradientShapOptions<T> extends LayerTargetOptions<T> {
  /** The reference distribution in input space: per input a tensor of B ≥ 1 rows, or a function. */
  readonly baselines: BaselineDistribution<T>;
  /** Random samples per example (default 5). */
  readonly nSamples?: number;
  /** Standard deviation of the input noise: one for all inputs or one per input (default 0). */
  readonly stdevs?: number | readonly number[];
  /** The most rows one model call may see. */
  readonly internalBatchSize?: number;
  /** Also return the delta of every sample (example-major). */
  readonly returnConvergenceDelta?: boolean;
  /** Seed of the draws. */
  readonly seed?: number;
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
    const samples = checkInteger('nSamples', options.nSamples ?? 5, 1);
    const returnDelta = checkBoolean('returnConvergenceDelta', options.returnConvergenceDelta ?? false);
    const maxRows = checkRowLimit('internalBatchSize', options.internalBatchSize);
    const seed = callSeed(checkSeed(options.seed));
    const { model, backend: b } = this;
    return withScope(b, async (scope) => {
      const call = await prepareTargetCall(model, inputs, options, scope);
      const dist = await prepareDistribution(b, options.baselines, call.x, 1);
      const stdevs = typeof options.stdevs === 'number' || options.stdevs === undefined ? call.x.tensors.map(() => (options.stdevs as number | undefined) ?? 0) : [...options.stdevs];
      const ref = this.ref(toInput);
      const n = call.x.batchSize;
      let sums: Float64Array | undefined;
      let layerShape: number[] = [];
      const deltas = new Float64Array(n * samples);
      await forEachShapSample(model, call, dist, { samples, stdevs, seed, maxRows }, scope, options, async (chunk) => {
        const rows = chunk.rows.length;
        const [grad] = scope.track([...(await targetGradients(model, { inputs: chunk.points, args: chunk.args, outputWeights: chunk.selection.ones(b, 1, scope), wrt: [ref] }))]);
        const both = chunk.noisy.map((x, i) => scope.track(b.concat([x, chunk.references[i] as T], 0)));
        const bothArgs = chunk.args.map((a) => (b.isTensor(a) && b.shape(a).length > 0 ? scope.track(b.concat([a, a], 0)) : a));
        const { output, captured } = await model.forward({ inputs: both, args: bothArgs, capture: [ref] });
        const [acts] = scope.track([...captured]);
        const deltaA = scope.track(b.tidy(() => b.sub(sliceRows(b, acts as T, 0, rows), sliceRows(b, acts as T, rows, 2 * rows))));
        const perSample = this.multipliesByInputs ? scope.track(b.mul(grad as T, deltaA)) : (grad as T);
        const totals = await attributionSums(b, [perSample]);
        layerShape = [n, ...b.shape(perSample).slice(1)];
        const per = sizeOf(layerShape.slice(1));
        sums ??= new Float64Array(n * per);
        addRowsToExamples(sums, toNumbers(await b.data(perSample)), chunk.examples, per);
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
      const attributions = scope.track(b.tensor((sums as Float64Array).map((v) => v / samples), layerShape, 'float32'));
      const delta = returnDelta ? b.tensor(Float32Array.from(deltas), [deltas.length], 'float32') : undefined;
      return { attributions: scope.release(attributions), delta };
    });
  }
}
