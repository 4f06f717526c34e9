import {
  Attribution,
  RUN_OPTION_NAMES,
  attributionSums,
  checkOptionNames,
  checkRowLimit,
  inputGradients,
  prepareTargetCall,
  restoreStructure,
  withScope,
} from '@attribution/core';
import type { AttributionResult, OnePassOptions } from './types.js';

/** Options of {@link InputXGradient.attribute}. */
export type InputXGradientOptions<T> = OnePassOptions<T>;

const OPTION_NAMES = ['target', 'additionalForwardArgs', 'internalBatchSize', ...RUN_OPTION_NAMES];

/** Input × Gradient (Shrikumar et al., 2016): `x ⊙ ∂F/∂x`. One gradient call. */
export class InputXGradient<T> extends Attribution<T> {
  override get multipliesByInputs(): boolean {
    return true;
  }

  attribute(inputs: T, options?: InputXGradientOptions<T>): Promise<AttributionResult<T, T>>;
  attribute(inputs: readonly T[], options?: InputXGradientOptions<T>): Promise<AttributionResult<T[], T>>;
  async attribute(inputs: T | readonly T[], options: InputXGradientOptions<T> = {}): Promise<AttributionResult<T | T[], T>> {
    checkOptionNames(options, OPTION_NAMES, 'InputXGradient.attribute');
    const { model, backend: b } = this;
    return withScope(b, async (scope) => {
      const call = await prepareTargetCall(model, inputs, options, scope);
      const maxRows = checkRowLimit('internalBatchSize', options.internalBatchSize);
      const grads = await inputGradients(model, call, scope, { ...options, maxRows });
      const attributions = grads.map((g, i) => scope.track(b.mul(call.x.tensors[i] as T, g)));
      await attributionSums(b, attributions);
      return { attributions: restoreStructure(call.x, scope.release(attributions)) };
    });
  }
}
