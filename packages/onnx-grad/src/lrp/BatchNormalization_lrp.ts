import { base, layerRelevance } from './common.js';
import type { LrpRule } from './types.js';

/** BatchNormalization (nn.BatchNorm2d, inference): Captum's rule with weight `scale` and bias `B`. */
export const batchNormalizationLrp: LrpRule = {
  inputs: [0],
  backward: (c, options) => [layerRelevance(c, options, base('BatchNormalization'), { weight: 1, bias: 2 })],
};
