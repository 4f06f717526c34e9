import { base, layerRelevance } from './common.js';
import type { LrpRule } from './types.js';

/** AveragePool (nn.AvgPool2d): `R_x = x ⊙ avgpool-gradient(R / (z + ε·sign z))`. */
export const averagePoolLrp: LrpRule = {
  inputs: [0],
  backward: (c, options) => [layerRelevance(c, options, base('AveragePool'), {})],
};

/** GlobalAveragePool (nn.AdaptiveAvgPool2d(1)): as AveragePool over the whole plane. */
export const globalAveragePoolLrp: LrpRule = {
  inputs: [0],
  backward: (c, options) => [layerRelevance(c, options, base('GlobalAveragePool'), {})],
};
