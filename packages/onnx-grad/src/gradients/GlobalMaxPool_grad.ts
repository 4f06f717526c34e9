import type { GradientRule } from './types.js';

/**
 * y[n, c] = max over the spatial positions of x[n, c]: dy goes to the first position holding the maximum
 * (in row-major order, the position PyTorch's and ONNX Runtime's max pooling indices report), zero
 * elsewhere: ArgMax over the flattened spatial axis, then ScatterElements into zeros.
 */
export const globalMaxPoolGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const { e } = c;
    const x = c.input(0);
    const flat = e.ints([0, 0, -1]);
    const index = e.op('ArgMax', [e.op('Reshape', [x, flat])], { axis: 2, keepdims: 1 });
    const zeros = e.op('Reshape', [e.zerosLike(x), flat]);
    const routed = e.op('ScatterElements', [zeros, index, e.op('Reshape', [c.dy() as string, e.ints([0, 0, 1])])], { axis: 2 });
    return [e.reshapeLike(routed, x)];
  },
};
