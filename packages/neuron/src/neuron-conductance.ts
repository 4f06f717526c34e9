import {
  RUN_OPTION_NAMES,
  approximationParameters,
  argRepeater,
  attributionSums,
  checkApproximationMethod,
  checkBatchRows,
  checkBoolean,
  checkInteger,
  checkOptionNames,
  normalizeTarget,
  pathEndpoints,
  pathPoints,
  prepareBaselines,
  probeModel,
  restoreStructure,
  stepRanges,
  sumSteps,
  targetGradients,
  throwIfAborted,
  withScope,
  type ApproximationMethod,
  type Baselines,
  type LayerName,
  type Target,
} from '@attribution/core';
import type { Model } from '@attribution/tensor';
import { NeuronAttribution } from './neuron-attribution.js';
import type { NeuronAttributionResult, NeuronOptions } from './types.js';
import { neuronValues, neuronWeights } from './weights.js';

/** Options of {@link NeuronConductance.attribute}. */
export interface NeuronConductanceOptions<T> extends NeuronOptions<T> {
  /** Which model output the conductance flows to. */
  readonly target?: Target | T;
  readonly baselines?: Baselines<T>;
  /** Number of steps (default 50). */
  readonly nSteps?: number;
  /** Approximation rule (default `riemann_trapezoid`, as Captum). */
  readonly method?: ApproximationMethod;
  /** The most rows one model call may see. */
  readonly internalBatchSize?: number;
}

const OPTION_NAMES = ['neuronSelector', 'target', 'baselines', 'additionalForwardArgs', 'attributeToNeuronInput', 'nSteps', 'method', 'internalBatchSize', ...RUN_OPTION_NAMES];

/**
 * Neuron conductance (Dhamdhere et al., 2018), as Captum computes it:
 * `(x − x′) ⊙ Σ_k w_k · [∂F/∂y](p_k) · [∂y/∂x](p_k)` along the path p_k = x′ + α_k (x − x′), where y is the
 * neuron (block sums for blocks). Two gradient calls per chunk of steps.
 */
export class NeuronConductance<T> extends NeuronAttribution<T> {
  private readonly multiplyByInputs: boolean;

  constructor(model: Model<T>, layer: LayerName, options: { readonly multiplyByInputs?: boolean } = {}) {
    super(model, layer);
    checkOptionNames(options, ['multiplyByInputs'], 'NeuronConductance');
    this.multiplyByInputs = checkBoolean('multiplyByInputs', options.multiplyByInputs ?? true);
  }

  get multipliesByInputs(): boolean {
    return this.multiplyByInputs;
  }

  async attribute(inputs: T | readonly T[], options: NeuronConductanceOptions<T>): Promise<NeuronAttributionResult<T | T[]>> {
    checkOptionNames(options, OPTION_NAMES, 'NeuronConductance.attribute');
    const nSteps = checkInteger('nSteps', options.nSteps ?? 50, 1);
    const method = checkApproximationMethod(options.method ?? 'riemann_trapezoid');
    const { model, backend: b } = this;
    return withScope(b, async (scope) => {
      const call = await this.prepareNeuron(inputs, options, scope);
      const n = call.x.batchSize;
      const maxRows = checkBatchRows('internalBatchSize', options.internalBatchSize, n);
      const spec = await normalizeTarget(b, options.target, n);
      const { selection } = await probeModel(model, call.x.tensors, call.args, spec, true, scope, false);
      const baselines = await prepareBaselines(b, options.baselines, call.x, scope);
      const diffs = call.x.tensors.map((t, i) => scope.track(b.sub(t, baselines[i] as T)));
      const endpoints = call.x.tensors.map((_, i) => scope.track(pathEndpoints(b, baselines[i] as T, diffs[i] as T)));
      const { stepSizes, alphas } = approximationParameters(method, nSteps);
      const argsFor = argRepeater(b, call.args, scope);
      const ranges = stepRanges(nSteps, n, maxRows);
      let totals: T[] | undefined;
      let done = 0;
      for (const [start, end] of ranges) {
        throwIfAborted(options.signal);
        const steps = end - start;
        const points = endpoints.map((e, i) => scope.track(pathPoints(b, e, call.x.shapes[i] as number[], alphas.slice(start, end))));
        // ∂F/∂y at every point: the model gradient at the layer, read at the neuron.
        const [layerGrad] = scope.track([...(await targetGradients(model, { inputs: points, args: argsFor(steps), outputWeights: selection.ones(b, steps, scope), wrt: [call.ref] }))]);
        const dFdy = await neuronValues(b, call, layerGrad as T, steps * n);
        scope.free(layerGrad as T);
        // Σ_k w_k ∂F/∂y · ∂y/∂x: the neuron's gradient with row weights w_k · ∂F/∂y.
        const grads = scope.track([
          ...(await targetGradients(model, {
            inputs: points,
            args: argsFor(steps),
            outputWeights: neuronWeights(b, call, stepSizes.slice(start, end), scope, dFdy),
            wrt: points.map((_, i) => ({ input: i })),
            of: call.ref,
            select: call.spec.select,
          })),
        ]);
        const partial = grads.map((g) => scope.track(sumSteps(b, g, steps, n)));
        scope.free([...points, ...grads]);
        if (!totals) totals = partial;
        else {
          const prev: T[] = totals;
          totals = prev.map((t, i) => scope.track(b.add(t, partial[i] as T)));
          scope.free([...prev, ...partial]);
        }
        options.onProgress?.({ done: ++done, total: ranges.length });
      }
      const attributions = this.multiplyByInputs ? (totals as T[]).map((t, i) => scope.track(b.mul(t, diffs[i] as T))) : (totals as T[]);
      await attributionSums(b, attributions);
      return { attributions: restoreStructure(call.x, scope.release(attributions)) };
    });
  }
}

