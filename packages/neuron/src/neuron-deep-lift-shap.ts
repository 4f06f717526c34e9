import {
  RUN_OPTION_NAMES,
  attributionSums,
  checkOptionNames,
  checkRowLimit,
  deepLiftPass,
  prepareDistribution,
  meanOverReferences,
  pairWithReferences,
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
      const { n, refs, pairs, references, call: paired } = pairWithReferences(this.model, call, dist.tensors, dist.rows, scope);
      const expanded = { ...paired, selection: call.selection.repeatInterleave(refs) };
      const spec = call.spec.selection ? { ...call.spec, selection: call.spec.selection.repeatInterleave(refs) } : call.spec;
      const pass = await deepLiftPass(this.model, expanded, references, scope, { ...options, maxRows }, spec);
      const perPair = this.multipliesByInputs
        ? pass.multipliers.map((m, i) => scope.track(b.tidy(() => b.mul(b.sub(pairs[i] as T, references[i] as T), m))))
        : pass.multipliers;
      await attributionSums(b, perPair);
      const attributions = perPair.map((a) => meanOverReferences(this.model, a, n, refs, scope));
      return { attributions: restoreStructure(call.x, scope.release(attributions)) };
    });
  }
}
