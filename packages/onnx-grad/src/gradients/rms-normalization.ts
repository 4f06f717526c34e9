import type { Emitter } from '../emitter.js';
import { reduceMean } from './normalization.js';

/**
 * Shared pieces of the RMS normalisations (SimplifiedLayerNormalization, com.microsoft
 * SkipSimplifiedLayerNormalization). Over the normalised axes `A` (kept as size-1 dimensions):
 *
 *   r = 1/√(mean_A(x²) + ε),  u = x·r,
 *
 * and for g = ∂L/∂u and ∂L/∂r (`dInv`, shaped like r):
 *
 *   ∂L/∂x = r·(g − u·mean_A(g·u)) − dInv·r²·u/N,
 *
 * since ∂r/∂xⱼ = −r³·xⱼ/N.
 */
export interface RmsStats {
  readonly x: string;
  readonly axes: readonly number[];
  /** A graph tensor with the element type of `x`. */
  readonly like: string;
  /** 1/√(mean(x²) + ε), the normalised axes kept as 1. */
  readonly r: string;
  /** x·r. */
  readonly u: string;
  /** N, the number of elements per statistic, when known statically. */
  readonly count?: number;
}

/** Recomputes r and u of `x` over `axes` (`like`: a graph tensor of x's type; `count`: N if known). */
export function rmsStats(e: Emitter, x: string, axes: readonly number[], epsilon: number, like: string, count?: number): RmsStats {
  const r = e.op('Reciprocal', [e.op('Sqrt', [e.add(reduceMean(e, e.mul(x, x), axes), e.scalar(epsilon, like))])]);
  return { x, axes, like, r, u: e.mul(x, r), count };
}

/** ∂L/∂x from g = ∂L/∂u and dInv = ∂L/∂r (either may be absent; dInv already in the type of x). */
export function rmsBackward(e: Emitter, s: RmsStats, g: string | undefined, dInv?: string): string | undefined {
  const parts: string[] = [];
  if (g) parts.push(e.mul(s.r, e.sub(g, e.mul(s.u, reduceMean(e, e.mul(g, s.u), s.axes)))));
  if (dInv) {
    const n = s.count !== undefined ? e.scalar(s.count, s.like) : e.op('Cast', [e.div(e.op('Size', [s.x]), e.op('Size', [s.r]))], { to: e.floatType(s.like) });
    parts.push(e.neg(e.div(e.mul(e.mul(dInv, e.mul(s.r, s.r)), s.u), n)));
  }
  return parts.length > 0 ? e.sum(parts) : undefined;
}
