import { base, layerRelevance } from './common.js';
import type { LrpRule } from './types.js';

/** MaxPool (nn.MaxPoolNd): `R_x = x ⊙ route-to-argmax(R / (z + ε·sign z))` (no weights: gamma acts as epsilon). */
export const maxPoolLrp: LrpRule = {
  inputs: [0],
  backward: (c, options) => [layerRelevance(c, options, base('MaxPool'), {})],
};

/** GlobalMaxPool: as MaxPool over the whole plane. */
export const globalMaxPoolLrp: LrpRule = {
  inputs: [0],
  backward: (c, options) => [layerRelevance(c, options, base('GlobalMaxPool'), {})],
};
