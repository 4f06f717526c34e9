import { ArgumentError, AttributionError, closestName, describeValue } from '@attribution/tensor';

/**
 * Thrown when a browser-only facility is missing, e.g. {@link toImageData} outside a browser (no
 * `globalThis.ImageData`) or a canvas that has no 2D context. Code `ERR_ENVIRONMENT`.
 */
export class UnsupportedEnvironmentError extends AttributionError {
  /** The facility that was looked for, e.g. `globalThis.ImageData`. */
  readonly feature: string;

  /**
   * @param feature - the missing facility.
   * @param hint - what to do instead.
   */
  constructor(feature: string, hint: string) {
    super(`${feature} is not available in this environment. ${hint}`, 'ERR_ENVIRONMENT');
    this.feature = feature;
  }
}

/**
 * Validates a string option against a fixed list of names, throwing an `ArgumentError` that lists the valid
 * names (and the closest one, when the value looks like a typo).
 * @internal
 */
export function checkChoice<T extends string>(argument: string, value: unknown, choices: readonly T[]): T {
  if (typeof value === 'string' && (choices as readonly string[]).includes(value)) return value as T;
  const guess = typeof value === 'string' ? closestName(value, choices) : undefined;
  throw new ArgumentError(
    argument,
    `one of ${choices.map((c) => `'${c}'`).join(', ')}`,
    typeof value === 'string' ? `'${value}'` : describeValue(value),
    guess ? `Did you mean '${guess}'?` : undefined,
  );
}

/**
 * Validates a finite number within `[min, max]`.
 * @internal
 */
export function checkNumber(argument: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new ArgumentError(argument, `a number between ${min} and ${max}`, describeValue(value));
  }
  return value;
}

/**
 * Validates an integer within `[min, max]`.
 * @internal
 */
export function checkInteger(argument: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `between ${min} and ${max}`;
    throw new ArgumentError(argument, `an integer ${range}`, describeValue(value));
  }
  return value;
}

/**
 * Throws an `ArgumentError` naming the first element of `values` that is NaN or infinite.
 * @internal
 */
export function checkFinite(argument: string, values: ArrayLike<number>): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (!Number.isFinite(v)) {
      throw new ArgumentError(argument, 'finite numbers only', `${describeValue(v)} at flat index ${i}`);
    }
  }
}

/**
 * Rejects option names a function does not know (e.g. Captum's `outlier_perc` for `outlierPerc`),
 * suggesting the closest valid one.
 * @internal
 */
export function checkOptionNames(argument: string, options: unknown, allowed: readonly string[]): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new ArgumentError(argument, 'an options object', describeValue(options));
  }
  for (const key of Object.keys(options)) {
    if ((options as Record<string, unknown>)[key] === undefined || allowed.includes(key)) continue;
    const guess = closestName(key, allowed);
    throw new ArgumentError(
      argument,
      `only the options ${allowed.join(', ')}`,
      `unknown option '${key}'`,
      guess ? `Did you mean '${guess}'?` : undefined,
      'ERR_UNKNOWN_OPTION',
    );
  }
}
