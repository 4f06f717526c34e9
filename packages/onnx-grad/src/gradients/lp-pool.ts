import type { Emitter } from '../emitter.js';
import { InvalidModelError } from '../errors.js';
import { Graph } from '../graph.js';
import type { GradContext } from './types.js';

/** The largest p accepted (|x|^p of float32 overflows long before). */
const MAX_P = 1 << 10;

/** The `p` of an LpPool or GlobalLpPool node (an integer ≥ 1, default 2). */
export function lpExponent(c: GradContext): number {
  const p = c.attrInt('p', 2);
  if (!Number.isSafeInteger(p) || p < 1 || p > MAX_P) throw new InvalidModelError(`Node '${Graph.label(c.node)}' (${c.node.opType}) has an invalid p ${p}.`);
  return p;
}

/** ∂|x|ᵖ/∂x / p = sign(x)·|x|^(p−1): sign(x) for p = 1, x for p = 2. */
export function lpSlope(e: Emitter, x: string, p: number): string {
  if (p === 1) return e.op('Sign', [x]);
  if (p === 2) return x;
  return e.mul(e.op('Sign', [x]), e.op('Pow', [e.op('Abs', [x]), e.scalar(p - 1, x)]));
}

/** dy·y^(1−p) (the chain through y = (Σ|x|ᵖ)^(1/p)): dy for p = 1, dy/y for p = 2. */
export function lpOuter(e: Emitter, dy: string, y: string, p: number): string {
  if (p === 1) return dy;
  if (p === 2) return e.div(dy, y);
  return e.mul(dy, e.op('Pow', [y, e.scalar(1 - p, y)]));
}
