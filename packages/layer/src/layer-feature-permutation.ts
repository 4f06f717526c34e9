import type { Model } from '@attribution/tensor';
import { ArgumentError, createRandom } from '@attribution/tensor';
import {
  derangedOrder,
  RUN_OPTION_NAMES,
  attributionTensors,
  checkBoolean,
  checkOptionNames,
  checkPerturbationsPerEval,
  checkSeed,
  creditFeature,
  evaluate,
  hostNumbers,
  layerActivations,
  maskFeatures,
  preparePerturbationCall,
  runCopies,
  withScope,
  type Copy,
  type LayerName,
  type PerturbationCall,
} from '@attribution/core';
import { LayerAttribution } from './layer-attribution.js';
import type { LayerAttributionResult, LayerTargetOptions } from './types.js';

/** Options of {@link LayerFeaturePermutation.attribute}. */
export interface LayerFeaturePermutationOptions<T> extends LayerTargetOptions<T> {
  /** Groups of layer positions permuted together: an integer mask broadcastable to the layer. */
  readonly layerMask?: T;
  /** Permuted copies of the batch per model call (default 1). */
  readonly perturbationsPerEval?: number;
  /** Seed of the permutations (default: a fixed seed, so calls repeat). */
  readonly seed?: number;
}

const OPTION_NAMES = ['target', 'additionalForwardArgs', 'attributeToLayerInput', 'layerMask', 'perturbationsPerEval', 'seed', ...RUN_OPTION_NAMES];

/**
 * Layer permutation feature importance: each feature of the layer's activation in turn is shuffled across
 * the examples of the batch (a random permutation other than the identity; the model runs on the real inputs
 * with the layer substituted), and the output change `F(x) − F(x; A_f permuted)` is its attribution. Needs at
 * least two examples. Unlike Captum 0.8, which applies `target` twice and so rejects every target, `target`
 * selects the explained output as in every other method. `2 + ⌈features / perturbationsPerEval⌉` model calls.
 */
export class LayerFeaturePermutation<T> extends LayerAttribution<T> {
  constructor(model: Model<T>, layer: LayerName) {
    super(model, layer);
  }

  override get multipliesByInputs(): boolean {
    return true;
  }

  override get stochastic(): boolean {
    return true;
  }

  async attribute(inputs: T | readonly T[], options: LayerFeaturePermutationOptions<T> = {}): Promise<LayerAttributionResult<T, T>> {
    checkOptionNames(options, OPTION_NAMES, 'LayerFeaturePermutation.attribute');
    const toInput = checkBoolean('attributeToLayerInput', options.attributeToLayerInput ?? false);
    const perEval = checkPerturbationsPerEval(options.perturbationsPerEval);
    const rng = createRandom(checkSeed(options.seed));
    const { model, backend: b } = this;
    return withScope(b, async (scope) => {
      const call = await preparePerturbationCall(model, inputs, options, scope);
      const n = call.x.batchSize;
      const ref = this.ref(toInput);
      const [acts] = await layerActivations(model, call.x.tensors, call.args, [ref], scope);
      if (n < 2) throw new ArgumentError('inputs', 'at least two examples (layer values are permuted across the batch)', `${n}`);
      const layerX = { tensors: [acts as T], single: true, batchSize: n, shapes: [b.shape(acts as T)] };
      const data = hostNumbers(await b.data(acts as T));
      const layerCall: PerturbationCall<T> = {
        ...call,
        x: layerX,
        inputData: [data],
        baselineData: [data],
        dtypes: ['float32'],
        evaluate: async (batch, copies) => (await evaluate(model, call.x.tensors, call.args, call.selection, copies, scope, { ref, value: batch[0] as T })).values,
      };
      const features = await maskFeatures(b, options.layerMask, layerX, 'layerMask');
      const { k, f0 } = call;
      const per = (layerX.shapes[0] as number[]).slice(1).reduce((a, s) => a * s, 1);
      const attr = [new Float64Array(n * k * per)];
      const copies: Copy[] = features.ids.map((_, f) => ({ base: 'input', switched: [f], from: { rows: derangedOrder(n, rng) } }));
      const progress = { done: 2, total: 2 + Math.ceil(copies.length / perEval) };
      await runCopies(model, layerCall, features, copies, perEval, scope, { ...options, progress }, (first, values) => {
        for (let c = 0; c * n * k < values.length; c++) {
          creditFeature(attr, [per], features.positions(first + c), n, k, (i, j) => (f0[i * k + j] as number) - (values[(c * n + i) * k + j] as number));
        }
      });
      const shape = [n * k, ...(layerX.shapes[0] as number[]).slice(1)];
      const [t] = attributionTensors(b, attr, [shape], scope);
      return { attributions: scope.release(t as T) };
    });
  }
}
