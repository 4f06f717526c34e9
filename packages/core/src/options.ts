import { AbortError, ArgumentError, closestName, describeValue } from '@attribution/tensor';

export { closestName };

/**
 * Rejects option names a method does not know, suggesting the closest valid one, and checks the run options
 * (`onProgress`, `signal`) when the method takes them.
 */
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
  const run = options as RunOptions;
  if (allowed.includes('onProgress') && run.onProgress !== undefined && typeof run.onProgress !== 'function') {
    throw new ArgumentError('onProgress', 'a function called with { done, total }', describeValue(run.onProgress));
  }
  if (allowed.includes('signal') && run.signal !== undefined && !isAbortSignal(run.signal)) {
    throw new ArgumentError('signal', 'an AbortSignal (e.g. new AbortController().signal)', describeValue(run.signal));
  }
}

function isAbortSignal(value: unknown): value is AbortSignal {
  if (typeof AbortSignal !== 'undefined' && value instanceof AbortSignal) return true;
  return value !== null && typeof value === 'object' && typeof (value as { aborted?: unknown }).aborted === 'boolean';
}

/**
 * The largest count an integer option (samples, steps, perturbation samples) may take unless a method sets
 * its own bound: larger values would exhaust memory or time long before they finish, so they are rejected
 * up front instead of allocating.
 */
export const MAX_COUNT = 100_000;

/** Validates an integer option: defined, finite, integral and within bounds (at most {@link MAX_COUNT} by default). */
export function checkInteger(argument: string, value: unknown, min: number, max?: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || (max !== undefined && value > max)) {
    const range = max === undefined ? `≥ ${min}` : `between ${min} and ${max}`;
    throw new ArgumentError(argument, `an integer ${range}`, typeof value === 'number' ? String(value) : typeof value);
  }
  if (max === undefined && value > MAX_COUNT) {
    throw new ArgumentError(argument, `an integer ≥ ${min} and at most ${MAX_COUNT}`, String(value), 'Larger counts would exhaust memory or time before the call finishes.');
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

/**
 * Validates a `seed` option of a method that takes one seed per example: a non-negative integer (one seed for
 * the call), an array of `n` of them (one per example of the batch of `n`), or undefined (a random seed).
 * Without `n` only the form is checked (the length is checked once the batch size is known).
 */
export function checkSeeds(value: unknown, n?: number): number | readonly number[] | undefined {
  if (!Array.isArray(value)) return checkSeed(value);
  const bad = value.findIndex((v) => typeof v !== 'number' || !Number.isInteger(v) || v < 0);
  if (bad >= 0) throw new ArgumentError(`seed[${bad}]`, 'a non-negative integer (one seed per example)', String(value[bad]));
  if (n !== undefined && value.length !== n) throw new ArgumentError('seed', `one seed for the call or one per example (${n})`, `${value.length} seeds`);
  return value as number[];
}
