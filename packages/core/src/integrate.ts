import type { Backend } from '@attribution/tensor';
import { approximationParameters, type ApproximationMethod } from './approximation.js';
import { stepRanges } from './batching.js';
import { throwIfAborted, type RunOptions } from './options.js';
import type { Scope } from './scope.js';

/** A path integral of gradients along the straight line `start + α (end − start)`. */
export interface PathIntegral<T> extends RunOptions {
  readonly backend: Backend<T>;
  readonly scope: Scope<T>;
  /** Path start per tensor, shaped `[N, …]`. */
  readonly starts: readonly T[];
  /** `end − start` per tensor, shaped `[N, …]`. */
  readonly diffs: readonly T[];
  /** Number of examples `N`. */
  readonly examples: number;
  readonly nSteps: number;
  readonly method: ApproximationMethod;
  /** The most rows one model call may see. */
  readonly maxRows: number | undefined;
  /**
   * Gradients at `steps` stacked copies of the path points (step-major: rows `s·N … s·N+N−1` hold step `s`).
   * Returns tensors shaped `[steps·N, …]`, which the integrator frees.
   */
  readonly gradientAt: (points: readonly T[], steps: number) => Promise<readonly T[]>;
}

/**
 * `Σ_k w_k · g(start + α_k · diff)` for the rule's step sizes `w_k` and points `α_k`, evaluated in chunks of
 * whole steps so that memory depends on `maxRows`, never on `nSteps`. Returns one tensor `[N, …]` per
 * gradient, owned by the scope.
 */
export async function integrateGradients<T>(p: PathIntegral<T>): Promise<T[]> {
  const { backend: b, scope } = p;
  const { stepSizes, alphas } = approximationParameters(p.method, p.nSteps);
  const ranges = stepRanges(p.nSteps, p.examples, p.maxRows);
  let totals: T[] | undefined;
  let done = 0;
  for (const [start, end] of ranges) {
    throwIfAborted(p.signal);
    const steps = end - start;
    const points = p.starts.map((s, i) => scope.track(pathPoints(b, s, p.diffs[i] as T, alphas.slice(start, end))));
    const grads = scope.track(await p.gradientAt(points, steps));
    scope.free(points);
    const weights = stepSizes.slice(start, end);
    const partial = grads.map((g) => scope.track(weightedStepSum(b, g, weights, p.examples)));
    scope.free(grads);
    if (totals === undefined) totals = partial;
    else {
      const prev: T[] = totals;
      totals = prev.map((t, i) => scope.track(b.add(t, partial[i] as T)));
      scope.free(prev);
      scope.free(partial);
    }
    p.onProgress?.({ done: ++done, total: ranges.length });
  }
  return totals ?? [];
}

/** Stacks `start + α · diff` for each α, step-major: shape `[α.length · N, …]`. */
export function pathPoints<T>(b: Backend<T>, start: T, diff: T, alphas: readonly number[]): T {
  return b.tidy(() => {
    const shape = b.shape(start);
    const lifted = [1, ...shape];
    const alpha = b.tensor(Float32Array.from(alphas), [alphas.length, ...shape.map(() => 1)], b.dtype(start));
    const stacked = b.add(b.reshape(start, lifted), b.mul(alpha, b.reshape(diff, lifted)));
    return b.reshape(stacked, [alphas.length * (shape[0] as number), ...shape.slice(1)]);
  });
}

/** `Σ_s w_s · g[s]` for `g` shaped `[steps·N, …]`: the weighted sum over the step axis, shaped `[N, …]`. */
export function weightedStepSum<T>(b: Backend<T>, g: T, weights: readonly number[], examples: number): T {
  return b.tidy(() => {
    const shape = b.shape(g);
    const steps = weights.length;
    const rest = shape.slice(1);
    const w = b.tensor(Float32Array.from(weights), [steps, 1, ...rest.map(() => 1)], b.dtype(g));
    return b.sum(b.mul(b.reshape(g, [steps, examples, ...rest]), w), 0);
  });
}
