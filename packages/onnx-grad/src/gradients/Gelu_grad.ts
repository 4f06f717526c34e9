import type { Emitter } from '../emitter.js';
import { InvalidModelError } from '../errors.js';
import { Graph } from '../graph.js';
import type { GradientRule } from './types.js';

/** The GELU approximations: exact (`'none'`, with erf) and `'tanh'`. */
export type GeluApproximation = 'none' | 'tanh';

const TANH_C = 0.044715;

/**
 * GELU′(z):
 * - `'none'`: y = z·Φ(z), Φ(z) = ½(1 + erf(z/√2)); y′ = Φ(z) + z·φ(z), φ(z) = exp(−z²/2)/√(2π);
 * - `'tanh'`: y = ½z(1 + t), t = tanh(k(z + 0.044715z³)), k = √(2/π); y′ = ½(1 + t) + ½z(1 − t²)·k(1 + 3·0.044715z²).
 */
export function geluDerivative(e: Emitter, z: string, approximate: GeluApproximation): string {
  const c = (v: number): string => e.scalar(v, z);
  const z2 = e.mul(z, z);
  if (approximate === 'tanh') {
    const k = Math.sqrt(2 / Math.PI);
    const t = e.op('Tanh', [e.mul(e.mul(z, c(k)), e.add(c(1), e.mul(z2, c(TANH_C))))]);
    const half = e.mul(e.add(c(1), t), c(0.5));
    const slope = e.mul(e.sub(c(1), e.mul(t, t)), e.add(c(0.5 * k), e.mul(z2, c(1.5 * k * TANH_C))));
    return e.add(half, e.mul(z, slope));
  }
  const cdf = e.mul(e.add(c(1), e.op('Erf', [e.mul(z, c(Math.SQRT1_2))])), c(0.5));
  const pdf = e.mul(e.op('Exp', [e.mul(z2, c(-0.5))]), c(1 / Math.sqrt(2 * Math.PI)));
  return e.add(cdf, e.mul(z, pdf));
}

/** Gelu (opset 20; also com.microsoft Gelu, always exact): dx = dy·GELU′(x) for the chosen approximation. */
export const geluGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const approximate = c.attrString('approximate', 'none');
    if (approximate !== 'none' && approximate !== 'tanh') {
      throw new InvalidModelError(`Gelu node '${Graph.label(c.node)}' has approximate '${approximate}'; it is 'none' or 'tanh'.`);
    }
    return [c.e.mul(c.dy() as string, geluDerivative(c.e, c.input(0), approximate))];
  },
};
