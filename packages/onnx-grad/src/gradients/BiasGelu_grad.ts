import { biasedGelu } from './FastGelu_grad.js';
import type { GradientRule } from './types.js';

/** com.microsoft BiasGelu: y = GELU(A + B), exact (erf) GELU: dA = sumTo(dy·GELU′(A + B)), dB likewise. */
export const biasGeluGrad: GradientRule = {
  inputs: [0, 1],
  backward: (c) => biasedGelu(c, 'none'),
};
