import { base, layerRelevance } from './common.js';
import type { LrpRule } from './types.js';

/** Conv (nn.Conv2d): Captum's rule with weights W and bias B; the weights must be constant. */
export const convLrp: LrpRule = {
  inputs: [0, 1],
  backward: (c, options) => {
    if (c.needs(1)) return c.unsupported('LRP needs constant convolution weights');
    return [layerRelevance(c, options, base('Conv'), { weight: 1, bias: 2 })];
  },
};
