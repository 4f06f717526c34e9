import {
  Attribution,
  RUN_OPTION_NAMES,
  argRepeater,
  attributionSums,
  checkApproximationMethod,
  checkBatchRows,
  checkBoolean,
  checkInteger,
  checkOptionNames,
  convergenceDelta,
  integrateGradients,
  normalizeArgs,
  normalizeTarget,
  prepareBaselines,
  prepareInputs,
  probeModel,
  restoreStructure,
  selectedOutputSums,
  targetGradients,
  withScope,
} from '@attribution/core';
import type { Model } from '@attribution/tensor';
import type { AttributionResult, PathOptions } from './types.js';

/** Options of {@link IntegratedGradients.attribute}. */
export type IntegratedGradientsOptions<T> = PathOptions<T>;

const OPTION_NAMES = [
  'baselines',
  'target',
  'additionalForwardArgs',
  'nSteps',
  'method',
  'internalBatchSize',
  'returnConvergenceDelta',
  ...RUN_OPTION_NAMES,
];

/**
 * Integrated Gradients (Sundararajan et al., 2017), as in Captum:
 *
 * `IG(x) = (x − x') ⊙ Σ_k w_k · ∂F/∂x (x' + α_k (x − x'))`
 *
 * with the step sizes `w_k` and points `α_k` of the approximation rule. One gradient call per chunk of steps.
 */
export class IntegratedGradients<T> extends Attribution<T> {
  private readonly multiplyByInputs: boolean;

  /** `multiplyByInputs: false` returns the averaged gradients without the `(x − x')` factor. */
  constructor(model: Model<T>, options: { readonly multiplyByInputs?: boolean } = {}) {
    super(model);
    checkOptionNames(options, ['multiplyByInputs'], 'IntegratedGradients');
    this.multiplyByInputs = checkBoolean('multiplyByInputs', options.multiplyByInputs ?? true);
  }

  get multipliesByInputs(): boolean {
    return this.multiplyByInputs;
  }

  /** Attributes the target output to each input element. */
  attribute(inputs: T, options?: IntegratedGradientsOptions<T>): Promise<AttributionResult<T, T>>;
  attribute(inputs: readonly T[], options?: IntegratedGradientsOptions<T>): Promise<AttributionResult<T[], T>>;
  async attribute(inputs: T | readonly T[], options: IntegratedGradientsOptions<T> = {}): Promise<AttributionResult<T | T[], T>> {
    checkOptionNames(options, OPTION_NAMES, 'IntegratedGradients.attribute');
    const nSteps = checkInteger('nSteps', options.nSteps ?? 50, 1);
    const method = checkApproximationMethod(options.method ?? 'gausslegendre');
    const returnDelta = checkBoolean('returnConvergenceDelta', options.returnConvergenceDelta ?? false);
    const { model, backend: b } = this;
    return withScope(b, async (scope) => {
      const x = await prepareInputs(b, inputs, { needsGradient: true });
      const maxRows = checkBatchRows('internalBatchSize', options.internalBatchSize, x.batchSize);
      const baselines = await prepareBaselines(b, options.baselines, x, scope);
      const args = normalizeArgs(options.additionalForwardArgs);
      const spec = await normalizeTarget(b, options.target, x.batchSize);
      const { selection, selectedSums: fInputs } = await probeModel(model, x.tensors, args, spec, true, scope, returnDelta);

      const diffs = x.tensors.map((t, i) => scope.track(b.sub(t, baselines[i] as T)));
      const wrt = x.tensors.map((_, i) => ({ input: i }));
      const argsFor = argRepeater(b, args, scope);
      const avgGrads = await integrateGradients({
        backend: b,
        scope,
        starts: baselines,
        diffs,
        examples: x.batchSize,
        nSteps,
        method,
        maxRows,
        signal: options.signal,
        onProgress: options.onProgress,
        gradientAt: (points, stepSizes) =>
          targetGradients(model, {
            inputs: points,
            args: argsFor(stepSizes.length),
            outputWeights: selection.weights(b, stepSizes, scope),
            wrt,
          }),
      });
      const attributions = this.multiplyByInputs
        ? avgGrads.map((g, i) => scope.track(b.mul(g, diffs[i] as T)))
        : avgGrads;
      const totals = await attributionSums(b, attributions);
      const delta = returnDelta
        ? convergenceDelta(b, totals, await selectedOutputSums(model, baselines, args, selection, maxRows, scope), fInputs!)
        : undefined;
      return { attributions: restoreStructure(x, scope.release(attributions)), delta };
    });
  }
}
