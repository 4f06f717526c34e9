import type { LrpLayerRule, LrpRequest } from '@attribution/tensor';
import type { GradContext, GradientRule } from '../gradients/types.js';

/** The LRP configuration of a backward pass: rules by layer name. */
export type LrpOptions = LrpRequest['lrp'];

export type { LrpLayerRule };

/**
 * The LRP backward rule of one ONNX operator: given the relevance arriving at its output (`c.dy()`), emit
 * the relevance of its inputs. `options` carries the rules assigned by layer name.
 */
export interface LrpRule {
  /** Input positions relevance flows to (as {@link GradientRule.inputs}). */
  readonly inputs: GradientRule['inputs'];
  backward(c: GradContext, options: LrpOptions): ReadonlyArray<string | undefined>;
}
