import {
  Attribution,
  RUN_OPTION_NAMES,
  attributionSums,
  checkBoolean,
  checkOptionNames,
  checkRowLimit,
  inputGradients,
  prepareTargetCall,
  restoreStructure,
  withScope,
} from '@attribution/core';
import type { AttributionResult, OnePassOptions } from './types.js';

/** Options of {@link Saliency.attribute}. */
export interface SaliencyOptions<T> extends OnePassOptions<T> {
  /** Return `|∂F/∂x|` (default) rather than the signed gradient. */
  readonly abs?: boolean;
}

const OPTION_NAMES = ['target', 'additionalForwardArgs', 'internalBatchSize', 'abs', ...RUN_OPTION_NAMES];

/** Saliency (Simonyan et al., 2013): `|∂F/∂x|`, or the signed gradient with `abs: false`. One gradient call. */
export class Saliency<T> extends Attribution<T> {
  override get multipliesByInputs(): boolean {
    return false;
  }

  attribute(inputs: T, options?: SaliencyOptions<T>): Promise<AttributionResult<T, T>>;
  attribute(inputs: readonly T[], options?: SaliencyOptions<T>): Promise<AttributionResult<T[], T>>;
  async attribute(inputs: T | readonly T[], options: SaliencyOptions<T> = {}): Promise<AttributionResult<T | T[], T>> {
    checkOptionNames(options, OPTION_NAMES, 'Saliency.attribute');
    const abs = checkBoolean('abs', options.abs ?? true);
    const { model, backend: b } = this;
    return withScope(b, async (scope) => {
      const call = await prepareTargetCall(model, inputs, options, scope);
      const maxRows = checkRowLimit('internalBatchSize', options.internalBatchSize);
      const grads = await inputGradients(model, call, scope, { ...options, maxRows });
      const attributions = abs ? grads.map((g) => scope.track(b.abs(g))) : grads;
      await attributionSums(b, attributions);
      return { attributions: restoreStructure(call.x, scope.release(attributions)) };
    });
  }
}
