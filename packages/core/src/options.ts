import { AbortError, ArgumentError, closestName } from '@attribution/tensor';

export { closestName };

/** Rejects option names a method does not know, suggesting the closest valid one. */
export function checkOptionNames(options: object | undefined, allowed: readonly string[], method: string): void {
  if (options === undefined || options === null) return;
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new ArgumentError(`${method} options`, 'an options object', Array.isArray(options) ? 'an array' : typeof options);
  }
  for (const key of Object.keys(options)) {
    if ((options as Record<string, unknown>)[key] === undefined || allowed.includes(key)) continue;
    const guess = closestName(key, allowed);
    throw new ArgumentError(
      `${method} options`,
      `only the options ${allowed.join(', ')}`,
      `unknown option '${key}'`,
      guess ? `Did you mean ${guess}?` : undefined,
      'ERR_UNKNOWN_OPTION',
    );
  }
}

/** Validates an integer option: defined, finite, integral and within bounds. */
export function checkInteger(argument: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `between ${min} and ${max}`;
    throw new ArgumentError(argument, `an integer ${range}`, typeof value === 'number' ? String(value) : typeof value);
  }
  return value;
}

/** Validates a boolean option. */
export function checkBoolean(argument: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new ArgumentError(argument, 'true or false', String(value));
  return value;
}

/** Options every attribution call accepts for control. */
export interface RunOptions {
  /** Called after each model call with the number of calls done and the total. */
  readonly onProgress?: (progress: { done: number; total: number }) => void;
  /** Stops the call between batches; the promise then rejects with an `AbortError`. */
  readonly signal?: AbortSignal;
}

/** Names of {@link RunOptions}. */
export const RUN_OPTION_NAMES = ['onProgress', 'signal'] as const;

/** Throws an {@link AbortError} when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (!signal?.aborted) return;
  const reason: unknown = signal.reason;
  const detail = reason instanceof Error && reason.name !== 'AbortError' ? `: ${reason.message}` : '';
  throw new AbortError(`The attribution was aborted${detail}.`, { cause: reason });
}

/** Validates a `seed` option (a non-negative integer, or undefined for a random seed). */
export function checkSeed(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new ArgumentError('seed', 'a non-negative integer', String(value));
  return value;
}
