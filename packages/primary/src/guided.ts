import {
  RUN_OPTION_NAMES,
  attributionSums,
  checkOptionNames,
  checkRowLimit,
  inputGradients,
  prepareTargetCall,
  restoreStructure,
  withScope,
  type Attribution,
} from '@attribution/core';
import type { BackwardRule } from '@attribution/tensor';
import type { AttributionResult, OnePassOptions } from './types.js';

const OPTION_NAMES = ['target', 'additionalForwardArgs', 'internalBatchSize', ...RUN_OPTION_NAMES];

/** A gradient computed with a modified ReLU backward rule, at the inputs. */
export async function modifiedGradient<T>(
  method: Attribution<T>,
  name: string,
  rule: BackwardRule,
  inputs: T | readonly T[],
  options: OnePassOptions<T>,
): Promise<AttributionResult<T | T[], T>> {
  checkOptionNames(options, OPTION_NAMES, `${name}.attribute`);
  const { model, backend: b } = method;
  return withScope(b, async (scope) => {
    const call = await prepareTargetCall(model, inputs, options, scope);
    const maxRows = checkRowLimit('internalBatchSize', options.internalBatchSize);
    const attributions = await inputGradients(model, call, scope, { ...options, rule, maxRows });
    await attributionSums(b, attributions);
    return { attributions: restoreStructure(call.x, scope.release(attributions)) };
  });
}
