import { base } from './common.js';
import type { LrpRule } from './types.js';

/**
 * Captum's `SUPPORTED_NON_LINEAR_LAYERS` (nn.ReLU, nn.Tanh, nn.Dropout) and Identity: relevance passes
 * through unchanged.
 */
export const passThroughLrp: LrpRule = {
  inputs: [0],
  backward: (c) => [c.dy()],
};

/**
 * Operators that only move values (Flatten, Reshape, Squeeze, Unsqueeze, Transpose, Concat, Split, Slice, Pad):
 * relevance is moved back like a gradient, as through PyTorch's functional `flatten`, `view`, `cat`, ….
 */
export const structuralLrp = (op: string): LrpRule => {
  const rule = base(op);
  return { inputs: rule.inputs, backward: (c) => rule.backward(c) };
};
