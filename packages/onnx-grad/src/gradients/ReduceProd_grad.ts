import type { Emitter } from '../emitter.js';
import { keepReduced, reducedAxes } from './ReduceSum_grad.js';
import type { GradientRule } from './types.js';

/**
 * y = Π_axes x: dx_i = dy · Π_{j≠i} x_j, the product of the other elements, exact where x has zeros.
 * With p = the product of the non-zero elements and z = the number of zeros (per reduced slice):
 * z = 0: Π_{j≠i} x_j = p / x_i; z = 1: p for the zero element, 0 for the others; z ≥ 2: 0.
 * (Not y / x, which is 0/0 at a zero. Where there are no zeros p / x_i is one division away from the
 * product of the others, as in PyTorch.)
 */
export const reduceProdGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const { e } = c;
    const x = c.input(0);
    const type = e.floatType(x);
    const axes = reducedAxes(c, c.opset >= 18);
    const [zero, one] = [e.scalar(0, x), e.scalar(1, x)];
    const isZero = e.op('Equal', [x, zero]);
    const nonZero = e.op('Where', [isZero, one, x]);
    const p = reduceProd(e, nonZero, axes, c.opset);
    const zeros = e.reduceSum(e.op('Cast', [isZero], { to: type }), axes, true);
    const noZero = e.div(p, nonZero);
    const oneZero = e.op('Where', [isZero, p, zero]);
    const others = e.op('Where', [
      e.op('Equal', [zeros, zero]),
      noZero,
      e.op('Where', [e.op('Equal', [zeros, one]), oneZero, zero]),
    ]);
    return [e.mul(others, keepReduced(c, c.dy() as string, axes))];
  },
};

/** ReduceProd with keepdims over `axes` (attribute before opset 18, input from 18). */
function reduceProd(e: Emitter, x: string, axes: readonly number[], opset: number): string {
  if (axes.length === 0) return x;
  return opset >= 18
    ? e.op('ReduceProd', [x, e.ints(axes)], { keepdims: 1 })
    : e.op('ReduceProd', [x], { axes, keepdims: 1 });
}
