import {
  RUN_OPTION_NAMES,
  attributionSums,
  checkOptionNames,
  checkRowLimit,
  deepLiftPass,
  prepareDistribution,
  repeatInterleaveArgs,
  repeatRows,
  restoreStructure,
  withScope,
  type BaselineDistribution,
  type LayerName,
  type MultiplyByInputsOptions,
} from '@attribution/core';
import type { Model } from '@attribution/tensor';
import { NeuronAttribution } from './neuron-attribution.js';
import type { NeuronAttributionResult, NeuronOptions } from './types.js';

/** Options of {@link NeuronDeepLiftShap.attribute}. */
export interface NeuronDeepLiftShapOptions<T> extends NeuronOptions<T> {
  /** The reference distribution: per input a tensor of B ≥ 2 rows, or a function of the inputs returning them. */
  readonly baselines: BaselineDistribution<T>;
  /** The most rows one model call may see: each (example, reference) pair takes two. */
  readonly internalBatchSize?: number;
}

const OPTION_NAMES = ['neuronSelector', 'baselines', 'additionalForwardArgs', 'attributeToNeuronInput', 'internalBatchSize', ...RUN_OPTION_NAMES];

/**
 * Neuron DeepLift SHAP: {@link NeuronDeepLift} of every example against every reference row of a
 * distribution, averaged over the references: `(1/B) Σ_j (x − x′_j) ⊙ m(x, x′_j)`, with `m` DeepLift's
 * multipliers of the neuron. A distribution of one row is refused (use NeuronDeepLift). One model call of
 * 2·N·B rows (split by `internalBatchSize`), after the forward pass that resolves the neuron.
 */
export class NeuronDeepLiftShap<T> extends NeuronAttribution<T> {
  constructor(model: Model<T>, layer: LayerName, options: MultiplyByInputsOptions = {}) {
    super(model, layer);
    this.readMultiplyByInputs(options);
  }

  attribute(inputs: T, options: NeuronDeepLiftShapOptions<T>): Promise<NeuronAttributionResult<T>>;
  attribute(inputs: readonly T[], options: NeuronDeepLiftShapOptions<T>): Promise<NeuronAttributionResult<T[]>>;
  attribute(inputs: T | readonly T[], options: NeuronDeepLiftShapOptions<T>): Promise<NeuronAttributionResult<T | T[]>>;
  async attribute(inputs: T | readonly T[], options: NeuronDeepLiftShapOptions<T>): Promise<NeuronAttributionResult<T | T[]>> {
    checkOptionNames(options, OPTION_NAMES, 'NeuronDeepLiftShap.attribute');
    const maxRows = checkRowLimit('internalBatchSize', options.internalBatchSize, 2);
    const b = this.backend;
    return withScope(b, async (scope) => {
      const call = await this.prepareNeuron(inputs, options, scope);
      const dist = await prepareDistribution(b, options.baselines, call.x, 2);
      const n = call.x.batchSize;
      const refs = dist.rows;
      const pairs = call.x.tensors.map((x) => scope.track(repeatRows(b, x, refs)));
      const references = dist.tensors.map((d) => scope.track(b.tile(d, b.shape(d).map((_, k) => (k === 0 ? n : 1)))));
      const expanded = {
        x: { tensors: pairs, single: call.x.single, batchSize: n * refs, shapes: pairs.map((p) => b.shape(p)) },
        args: repeatInterleaveArgs(b, call.args, refs, scope),
        selection: call.selection.repeatInterleave(refs),
      };
      const spec = call.spec.selection ? { ...call.spec, selection: call.spec.selection.repeatInterleave(refs) } : call.spec;
      const pass = await deepLiftPass(this.model, expanded, references, scope, { ...options, maxRows }, spec);
      const perPair = this.multipliesByInputs
        ? pass.multipliers.map((m, i) => scope.track(b.tidy(() => b.mul(b.sub(pairs[i] as T, references[i] as T), m))))
        : pass.multipliers;
      await attributionSums(b, perPair);
      const attributions = perPair.map((a) => scope.track(b.tidy(() => b.mean(b.reshape(a, [n, refs, ...b.shape(a).slice(1)]), 1))));
      return { attributions: restoreStructure(call.x, scope.release(attributions)) };
    });
  }
}
