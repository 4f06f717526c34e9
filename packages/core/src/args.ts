import type { Backend } from '@attribution/tensor';
import type { Scope } from './scope.js';

/** Normalises `additionalForwardArgs`: nothing → `[]`, an array → its elements, anything else → one argument. */
export function normalizeArgs(args: unknown): readonly unknown[] {
  if (args === undefined) return [];
  return Array.isArray(args) ? args : [args];
}

/**
 * A memoised {@link repeatArgs}: model calls with the same number of copies share one expansion, so that a
 * long loop of equal chunks allocates nothing per chunk. The expansions belong to `scope`.
 */
export function argRepeater<T>(backend: Backend<T>, args: readonly unknown[], scope: Scope<T>): (times: number) => unknown[] {
  const cache = new Map<number, unknown[]>();
  return (times) => {
    let expanded = cache.get(times);
    if (expanded === undefined) {
      expanded = repeatArgs(backend, args, times, scope);
      cache.set(times, expanded);
    }
    return expanded;
  };
}

/**
 * Repeats the batch of every tensor argument with at least one dimension `times` times along dimension 0,
 * whole batch after whole batch ("step-major", as for the IG path points); other arguments pass unchanged.
 */
export function repeatArgs<T>(backend: Backend<T>, args: readonly unknown[], times: number, scope: Scope<T>): unknown[] {
  if (times === 1) return [...args];
  return args.map((arg) => {
    if (!backend.isTensor(arg) || backend.shape(arg).length === 0) return arg;
    const reps = backend.shape(arg).map((_, d) => (d === 0 ? times : 1));
    return scope.track(backend.tile(arg, reps));
  });
}

/** Slices rows `[start, end)` of every tensor argument with at least one dimension. */
export function sliceArgs<T>(
  backend: Backend<T>,
  args: readonly unknown[],
  start: number,
  end: number,
  scope: Scope<T>,
): unknown[] {
  return args.map((arg) => {
    if (!backend.isTensor(arg) || backend.shape(arg).length === 0) return arg;
    const shape = backend.shape(arg);
    if (start === 0 && end === shape[0]) return arg;
    return scope.track(sliceRows(backend, arg, start, end));
  });
}

/** Rows `[start, end)` of a tensor (dimension 0). */
export function sliceRows<T>(backend: Backend<T>, t: T, start: number, end: number): T {
  const shape = backend.shape(t);
  return backend.slice(
    t,
    shape.map((_, d) => (d === 0 ? start : 0)),
    shape.map((s, d) => (d === 0 ? end - start : s)),
  );
}

/**
 * Repeats every row of each tensor argument with at least one dimension `times` times in place
 * ("example-major", as NoiseTunnel and DeepLiftShap expand); other arguments pass unchanged.
 */
export function repeatInterleaveArgs<T>(backend: Backend<T>, args: readonly unknown[], times: number, scope: Scope<T>): unknown[] {
  if (times === 1) return [...args];
  return args.map((arg) => (backend.isTensor(arg) && backend.shape(arg).length > 0 ? scope.track(repeatRows(backend, arg, times)) : arg));
}

/** Each row of `t` repeated `times` times in place: rows `i·times … i·times+times−1` hold row `i`. */
export function repeatRows<T>(backend: Backend<T>, t: T, times: number): T {
  const rows = backend.shape(t)[0] as number;
  const indices = Array.from({ length: rows * times }, (_, k) => Math.floor(k / times));
  return backend.gather(t, indices, 0);
}

/** The rows `rows` (by index, repeats allowed) of every tensor argument with at least one dimension. */
export function gatherArgs<T>(backend: Backend<T>, args: readonly unknown[], rows: readonly number[], scope: Scope<T>): unknown[] {
  return args.map((arg) => (backend.isTensor(arg) && backend.shape(arg).length > 0 ? scope.track(backend.gather(arg, rows, 0)) : arg));
}
