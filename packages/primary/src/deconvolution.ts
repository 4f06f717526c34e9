import { Attribution } from '@attribution/core';
import { modifiedGradient } from './guided.js';
import type { AttributionResult, OnePassOptions } from './types.js';

/** Options of {@link Deconvolution.attribute}. */
export type DeconvolutionOptions<T> = OnePassOptions<T>;

/**
 * Deconvolution (Zeiler and Fergus, 2014): the gradient of the target, except that every ReLU passes back
 * `max(0, g)` whatever its forward input. One gradient call.
 */
export class Deconvolution<T> extends Attribution<T> {
  override get multipliesByInputs(): boolean {
    return false;
  }

  attribute(inputs: T, options?: DeconvolutionOptions<T>): Promise<AttributionResult<T, T>>;
  attribute(inputs: readonly T[], options?: DeconvolutionOptions<T>): Promise<AttributionResult<T[], T>>;
  async attribute(inputs: T | readonly T[], options: DeconvolutionOptions<T> = {}): Promise<AttributionResult<T | T[], T>> {
    return modifiedGradient(this, 'Deconvolution', 'deconvolution', inputs, options);
  }
}
