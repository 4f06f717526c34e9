import { Attribution } from '@attribution/core';
import { modifiedGradient } from './guided.js';
import type { AttributionResult, OnePassOptions } from './types.js';

/** Options of {@link GuidedBackprop.attribute}. */
export type GuidedBackpropOptions<T> = OnePassOptions<T>;

/**
 * Guided backpropagation (Springenberg et al., 2015): the gradient of the target, except that every ReLU
 * passes back only positive gradients where its input was positive: `max(0, g · [x > 0])`. One gradient call.
 */
export class GuidedBackprop<T> extends Attribution<T> {
  override get multipliesByInputs(): boolean {
    return false;
  }

  attribute(inputs: T, options?: GuidedBackpropOptions<T>): Promise<AttributionResult<T, T>>;
  attribute(inputs: readonly T[], options?: GuidedBackpropOptions<T>): Promise<AttributionResult<T[], T>>;
  async attribute(inputs: T | readonly T[], options: GuidedBackpropOptions<T> = {}): Promise<AttributionResult<T | T[], T>> {
    return modifiedGradient(this, 'GuidedBackprop', 'guided-backprop', inputs, options);
  }
}
