import { convGeometry } from './conv-geometry.js';
import { routeToArgmax } from './MaxPool_grad.js';
import type { GradContext, GradientRule } from './types.js';

/**
 * DeepLift's Rescale rule, for a batch of inputs followed by their references: the local derivative of an
 * elementwise nonlinearity is replaced by `Δout/Δin` between each row and its reference row, and kept
 * where `|Δin| < ε` (Captum's ε = 1e-10).
 */
export const EPSILON = 1e-10;

/** `dy · (Δy/Δx where |Δx| ≥ ε, else the ordinary derivative)`. */
function rescale(c: GradContext, ordinary: string): string {
  const { e } = c;
  const [x, y] = [c.input(0), c.output(0)];
  const dx = e.halfDelta(x);
  const dyv = e.halfDelta(y);
  const small = e.op('Less', [e.op('Abs', [dx]), e.scalar(EPSILON, x)]);
  return e.op('Where', [small, ordinary, e.mul(c.dy() as string, e.div(dyv, dx))]);
}

/** Wraps an ordinary rule with the Rescale rule. */
export function rescaled(base: GradientRule): GradientRule {
  return {
    inputs: [0],
    backward: (c) => [rescale(c, base.backward(c)[0] as string)],
  };
}

/** Softmax: the rescaled multipliers minus their mean over the whole tensor (Captum's normalisation). */
export function rescaledSoftmax(base: GradientRule): GradientRule {
  return {
    inputs: [0],
    backward: (c) => {
      const { e } = c;
      const x = c.input(0);
      const m = rescale(c, base.backward(c)[0] as string);
      const total = e.op('ReduceSum', [e.op('Reshape', [m, e.ints([-1])])], { keepdims: 0 });
      const count = e.op('Cast', [e.op('Size', [m])], { to: e.floatType(x) });
      return [e.sub(m, e.div(total, count))];
    },
  };
}

/**
 * MaxPool (Captum's rule): with ŷ = max(y, y′) per window, route dy·(ŷ − y′) to the arg-max of each input
 * row and dy·(y − ŷ) to the arg-max of each reference row, add the two maps and divide by Δin; where
 * |Δin| < ε the ordinary gradient is kept.
 */
export function rescaledMaxPool(base: GradientRule): GradientRule {
  return {
    inputs: [0],
    backward: (c) => {
      const { e } = c;
      const [x, y] = [c.input(0), c.output(0)];
      const [yIn, yRef] = e.halves(y);
      const top = e.op('Max', [yIn, yRef]);
      const deltaOut = e.op('Concat', [e.sub(top, yRef), e.sub(yIn, top)], { axis: 0 });
      const routed = routeToArgmax(c, e.mul(c.dy() as string, deltaOut), convGeometry(c, c.attrInts('kernel_shape') ?? [], true));
      const [a, b] = e.halves(routed);
      const both = e.add(a, b);
      const numerator = e.op('Concat', [both, both], { axis: 0 });
      const dx = e.halfDelta(x);
      const small = e.op('Less', [e.op('Abs', [dx]), e.scalar(EPSILON, x)]);
      return [e.op('Where', [small, base.backward(c)[0] as string, e.div(numerator, dx)])];
    },
  };
}

/** Guided backpropagation: the ReLU gradient, then clipped at zero. */
export const guidedRelu = (base: GradientRule): GradientRule => ({
  inputs: [0],
  backward: (c) => [c.e.op('Relu', [base.backward(c)[0] as string])],
});

/** Deconvolution: the incoming gradient clipped at zero, whatever the forward input. */
export const deconvolutionRelu: GradientRule = {
  inputs: [0],
  backward: (c) => [c.e.op('Relu', [c.dy() as string])],
};
