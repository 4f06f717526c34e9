import type { Model } from '@attribution/tensor';
import {
  RUN_OPTION_NAMES,
  approximationParameters,
  argRepeater,
  attributionSums,
  checkApproximationMethod,
  checkBatchRows,
  checkBoolean,
  checkOptionNames,
  checkSteps,
  convergenceDelta,
  pathEndpoints,
  pathPoints,
  prepareBaselines,
  prepareTargetCall,
  selectedOutputSums,
  sliceRows,
  sumSteps,
  throwIfAborted,
  withScope,
  type LayerName,
} from '@attribution/core';
import { LayerAttribution } from './layer-attribution.js';
import type { LayerAttributionResult, LayerPathOptions } from './types.js';

/** Options of {@link LayerConductance.attribute}. */
export interface LayerConductanceOptions<T> extends LayerPathOptions<T> {
  /** Also return the convergence delta against the model outputs. */
  readonly returnConvergenceDelta?: boolean;
}

const OPTION_NAMES = ['baselines', 'target', 'additionalForwardArgs', 'nSteps', 'method', 'internalBatchSize', 'returnConvergenceDelta', 'attributeToLayerInput', ...RUN_OPTION_NAMES];

/**
 * Layer conductance (Dhamdhere et al., 2018), as Captum computes it: at the `nSteps + 1` points of the rule
 * (evaluated with n = nSteps + 1), the layer activations A_k and gradients G_k = ∂F/∂A; the attribution is
 * `Σ_k G_k ⊙ (A_{k+1} − A_k)`. Chunks of steps overlap by one point, so no difference is lost.
 */
export class LayerConductance<T> extends LayerAttribution<T> {
  constructor(model: Model<T>, layer: LayerName) {
    super(model, layer);
  }

  override get multipliesByInputs(): boolean {
    return true;
  }

  async attribute(inputs: T | readonly T[], options: LayerConductanceOptions<T> = {}): Promise<LayerAttributionResult<T, T>> {
    checkOptionNames(options, OPTION_NAMES, 'LayerConductance.attribute');
    const nSteps = checkSteps(options.nSteps ?? 50);
    const method = checkApproximationMethod(options.method ?? 'gausslegendre');
    const toInput = checkBoolean('attributeToLayerInput', options.attributeToLayerInput ?? false);
    const returnDelta = checkBoolean('returnConvergenceDelta', options.returnConvergenceDelta ?? false);
    const { model, backend: b } = this;
    return withScope(b, async (scope) => {
      const call = await prepareTargetCall(model, inputs, options, scope, returnDelta);
      const n = call.x.batchSize;
      const maxRows = checkBatchRows('internalBatchSize', options.internalBatchSize, n, 2);
      const baselines = await prepareBaselines(b, options.baselines, call.x, scope);
      const endpoints = call.x.tensors.map((t, i) => scope.track(pathEndpoints(b, baselines[i] as T, scope.track(b.sub(t, baselines[i] as T)))));
      const { alphas } = approximationParameters(method, nSteps + 1);
      const per = maxRows === undefined ? nSteps + 1 : Math.max(2, Math.floor(maxRows / n));
      const argsFor = argRepeater(b, call.args, scope);
      const ref = this.ref(toInput);
      const chunks: Array<[number, number]> = [];
      for (let start = 0; start < nSteps; ) {
        const end = Math.min(nSteps + 1, start + per);
        chunks.push([start, end]);
        start = end - 1;
      }
      let total: T | undefined;
      let done = 0;
      for (const [start, end] of chunks) {
        throwIfAborted(options.signal);
        const steps = end - start;
        const points = endpoints.map((e, i) => scope.track(pathPoints(b, e, call.x.shapes[i] as number[], alphas.slice(start, end))));
        const result = await model.gradient({
          inputs: points,
          args: argsFor(steps),
          outputWeights: call.selection.ones(b, steps, scope),
          wrt: [ref],
          capture: [ref],
        });
        b.dispose(result.output);
        const [grad] = scope.track([...result.gradients]);
        const [act] = scope.track([...result.captured]);
        const rows = (steps - 1) * n;
        const part = scope.track(
          b.tidy(() => {
            const g = sliceRows(b, grad as T, 0, rows);
            const increment = b.sub(sliceRows(b, act as T, n, steps * n), sliceRows(b, act as T, 0, rows));
            return sumSteps(b, b.mul(g, increment), steps - 1, n);
          }),
        );
        scope.free([...points, grad as T, act as T]);
        if (total === undefined) total = part;
        else {
          const next = scope.track(b.add(total, part));
          scope.free([total, part]);
          total = next;
        }
        options.onProgress?.({ done: ++done, total: chunks.length });
      }
      const attributions = total as T;
      const totals = await attributionSums(b, [attributions]);
      const delta = returnDelta
        ? convergenceDelta(b, totals, await selectedOutputSums(model, baselines, call.args, call.selection, maxRows, scope), call.fInputs as Float64Array)
        : undefined;
      return { attributions: scope.release(attributions), delta };
    });
  }
}
