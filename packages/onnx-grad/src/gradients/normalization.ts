import type { Emitter } from '../emitter.js';

/**
 * Shared pieces of the normalisation rules (LayerNormalization, GroupNormalization, InstanceNormalization,
 * com.microsoft SkipLayerNormalization). Each recomputes the first stage of the forward pass over its
 * normalised axes `A` (kept as size-1 dimensions):
 *
 *   μ = mean_A(x),  r = 1/√(mean_A((x − μ)²) + ε),  x̂ = (x − μ)·r
 *
 * and differentiates it: for g = ∂L/∂x̂, ∂L/∂x = r·(g − mean_A(g) − x̂·mean_A(g·x̂)).
 */

/** `ReduceMean` over `axes`, keeping them (an attribute before opset 18, an input from 18). */
export function reduceMean(e: Emitter, x: string, axes: readonly number[]): string {
  return e.opset >= 18 ? e.op('ReduceMean', [x, e.ints(axes)], { keepdims: 1 }) : e.op('ReduceMean', [x], { axes, keepdims: 1 });
}

/** The recomputed statistics of a normalisation. */
export interface Standardized {
  /** The normalised tensor. */
  readonly x: string;
  readonly axes: readonly number[];
  /** A tensor of the graph with the element type of `x` (x itself unless the emitter made x). */
  readonly like: string;
  /** N, the number of elements each statistic is taken over, when known statically. */
  readonly count?: number;
  /** μ, with the normalised axes kept as size-1 dimensions. */
  readonly mean: string;
  /** r = 1/√(var + ε), shaped like `mean`. */
  readonly r: string;
  /** x̂ = (x − μ)·r, shaped like `x`. */
  readonly xhat: string;
}

/**
 * Recomputes μ, r and x̂ of `x` over `axes`, in the element type of `x`. When the emitter made `x` (a
 * reshaped or summed tensor), `like` names a graph tensor of the same element type and `count` the number of
 * elements per statistic if known; for a graph tensor both are read from the graph.
 */
export function standardize(e: Emitter, x: string, axes: readonly number[], epsilon: number, like = x, count?: number): Standardized {
  const mean = reduceMean(e, x, axes);
  const centered = e.sub(x, mean);
  const variance = reduceMean(e, e.mul(centered, centered), axes);
  const r = e.op('Reciprocal', [e.op('Sqrt', [e.add(variance, e.scalar(epsilon, like))])]);
  let n = count;
  if (n === undefined && like === x) {
    const shape = e.graph.info(x).shape;
    const dims = axes.map((a) => shape?.[a]);
    if (dims.every((d): d is number => typeof d === 'number')) n = dims.reduce((p, d) => p * d, 1);
  }
  return { x, axes, like, count: n, mean, r, xhat: e.mul(centered, r) };
}

/** N as a scalar of the type of `x` (computed at run time as |x|/|μ| when the shapes do not tell). */
function countOf(e: Emitter, s: Standardized): string {
  if (s.count !== undefined) return e.scalar(s.count, s.like);
  return e.op('Cast', [e.div(e.op('Size', [s.x]), e.op('Size', [s.mean]))], { to: e.floatType(s.like) });
}

/**
 * The gradient reaching `x` through x̂ (`g` = ∂L/∂x̂, when any) and through the statistics themselves, when a
 * node also returns them (`dMean` = ∂L/∂μ, `dInvStd` = ∂L/∂r, already in the type of `x`):
 *
 *   dx = r·(g − mean(g) − x̂·mean(g·x̂)) + (dMean − dInvStd·r²·x̂)/N
 *
 * since ∂μ/∂xⱼ = 1/N and ∂r/∂xⱼ = −r³·(xⱼ − μ)/N.
 */
export function standardizeBackward(e: Emitter, s: Standardized, g: string | undefined, dMean?: string, dInvStd?: string): string | undefined {
  const parts: string[] = [];
  if (g) {
    const mg = reduceMean(e, g, s.axes);
    const mgx = reduceMean(e, e.mul(g, s.xhat), s.axes);
    parts.push(e.mul(s.r, e.sub(e.sub(g, mg), e.mul(s.xhat, mgx))));
  }
  if (dMean || dInvStd) {
    const viaInvStd = dInvStd ? e.mul(e.mul(dInvStd, e.mul(s.r, s.r)), s.xhat) : undefined;
    const stats = dMean && viaInvStd ? e.sub(dMean, viaInvStd) : viaInvStd ? e.neg(viaInvStd) : (dMean as string);
    let term = e.div(stats, countOf(e, s));
    // ∂L/∂μ alone is shaped like the statistics: spread it over the normalised axes.
    if (!g && !dInvStd) term = e.op('Expand', [term, e.shape(s.x)]);
    parts.push(term);
  }
  return parts.length > 0 ? e.sum(parts) : undefined;
}

/** `[from, from + 1, …, to − 1]`. */
export function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}
