import type { Backend } from '@attribution/tensor';
import { approximationParameters, checkApproximationMethod, checkSteps, type ApproximationMethod } from './approximation.js';
import { argRepeater } from './args.js';
import { prepareBaselines } from './baselines.js';
import { checkBatchRows, stepRanges } from './batching.js';
import type { PreparedInputs } from './inputs.js';
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
   * Gradients at `steps` stacked copies of the path points (step-major: rows `s·N … s·N+N−1` hold step `s`),
   * each block already multiplied by its step size `stepSizes[s]` (scale the output weights by it: the
   * gradient is linear in them). Returns tensors shaped `[steps·N, …]`, which the integrator frees.
   */
  readonly gradientAt: (points: readonly T[], stepSizes: readonly number[]) => Promise<readonly T[]>;
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
  const endpoints = p.starts.map((s, i) => scope.track(pathEndpoints(b, s, p.diffs[i] as T)));
  let totals: T[] | undefined;
  let done = 0;
  for (const [start, end] of ranges) {
    throwIfAborted(p.signal);
    const points = endpoints.map((e, i) => scope.track(pathPoints(b, e, b.shape(p.starts[i] as T), alphas.slice(start, end))));
    const grads = scope.track(await p.gradientAt(points, stepSizes.slice(start, end)));
    scope.free(points);
    const partial = grads.map((g) => scope.track(sumSteps(b, g, end - start, p.examples)));
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
  scope.free(endpoints);
  return totals ?? [];
}

/** Options of the methods that integrate along the straight path from the baselines to the inputs. */
export interface InputPathOptions extends RunOptions {
  readonly baselines?: unknown;
  /** Number of steps (default 50). */
  readonly nSteps?: number;
  readonly method?: ApproximationMethod;
  /** The most rows one model call may see. */
  readonly internalBatchSize?: number;
}

/** What {@link integrateInputPath} returns, all owned by the scope. */
export interface InputPath<T> {
  readonly baselines: T[];
  /** `x − x′` per input. */
  readonly diffs: T[];
  /** `Σ_k w_k · g(x′ + α_k (x − x′))` per gradient tensor. */
  readonly integral: T[];
  readonly maxRows: number | undefined;
}

/**
 * The path integral of the input-space path methods (Integrated Gradients and its layer and neuron
 * variants): validates `nSteps`, `method`, `internalBatchSize` and the baselines, then integrates
 * `gradientAt(points, stepSizes, args)` — gradients at step-major points, weighted by the step sizes, with
 * the additional arguments repeated for the chunk — along `x′ + α (x − x′)`.
 */
export async function integrateInputPath<T>(
  b: Backend<T>,
  call: { readonly x: PreparedInputs<T>; readonly args: readonly unknown[] },
  options: InputPathOptions,
  scope: Scope<T>,
  defaultMethod: ApproximationMethod,
  gradientAt: (points: readonly T[], stepSizes: readonly number[], args: unknown[]) => Promise<readonly T[]>,
): Promise<InputPath<T>> {
  const nSteps = checkSteps(options.nSteps ?? 50);
  const method = checkApproximationMethod(options.method ?? defaultMethod);
  const maxRows = checkBatchRows('internalBatchSize', options.internalBatchSize, call.x.batchSize);
  const baselines = await prepareBaselines(b, options.baselines, call.x, scope);
  const diffs = call.x.tensors.map((t, i) => scope.track(b.sub(t, baselines[i] as T)));
  const argsFor = argRepeater(b, call.args, scope);
  const integral = await integrateGradients({
    backend: b,
    scope,
    starts: baselines,
    diffs,
    examples: call.x.batchSize,
    nSteps,
    method,
    maxRows,
    signal: options.signal,
    onProgress: options.onProgress,
    gradientAt: (points, stepSizes) => gradientAt(points, stepSizes, argsFor(stepSizes.length)),
  });
  return { baselines, diffs, integral, maxRows };
}

/** The matrix `[diff; start]` (shape `[2, size]`), from which path points are one matrix product. */
export function pathEndpoints<T>(b: Backend<T>, start: T, diff: T): T {
  return b.tidy(() => b.concat([b.reshape(diff, [1, -1]), b.reshape(start, [1, -1])], 0));
}

/**
 * Stacks `start + α · diff` for each α, step-major: `[α 1] · [diff; start]`, reshaped to
 * `[α.length · N, …]` (`shape` is the shape of `start`).
 */
export function pathPoints<T>(b: Backend<T>, endpoints: T, shape: readonly number[], alphas: readonly number[]): T {
  return b.tidy(() => {
    const coefficients = new Float32Array(alphas.length * 2);
    alphas.forEach((a, s) => {
      coefficients[2 * s] = a;
      coefficients[2 * s + 1] = 1;
    });
    const stacked = b.matMul(b.tensor(coefficients, [alphas.length, 2]), endpoints);
    return b.reshape(stacked, [alphas.length * (shape[0] as number), ...shape.slice(1)]);
  });
}

/** Sums `g` shaped `[steps·N, …]` over its step blocks (`[1 … 1] · g`): shape `[N, …]`. */
export function sumSteps<T>(b: Backend<T>, g: T, steps: number, examples: number): T {
  const shape = b.shape(g);
  const rest = [examples, ...shape.slice(1)];
  if (steps === 1) return b.reshape(g, rest);
  return b.tidy(() => {
    const ones = b.fill([1, steps], 1, b.dtype(g));
    return b.reshape(b.matMul(ones, b.reshape(g, [steps, -1])), rest);
  });
}
