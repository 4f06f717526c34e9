import { base, layerRelevance } from './common.js';
import type { LrpRule } from './types.js';

/** Gemm as a linear layer (nn.Linear): Captum's rule with weights B and bias C; the weights must be constant. */
export const gemmLrp: LrpRule = {
  inputs: [0, 1],
  backward: (c, options) => {
    if (c.needs(1)) return c.unsupported('LRP needs the second operand (the weights) to be constant');
    return [layerRelevance(c, options, base('Gemm'), { weight: 1, bias: 2 })];
  },
};
