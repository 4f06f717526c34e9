/**
 * The error family of the attribution packages. Every error a package throws on purpose is an
 * {@link AttributionError}; catch the subclasses to react to one kind of problem.
 */
export class AttributionError extends Error {
  /** A stable machine-readable code, e.g. `ERR_ARGUMENT`. */
  readonly code: string;

  constructor(message: string, code = 'ERR_ATTRIBUTION', options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A call argument or option has the wrong type, value or shape. */
export class ArgumentError extends AttributionError {
  /** The argument or option at fault, e.g. `nSteps` or `baselines[1]`. */
  readonly argument: string;
  /** What was expected, in words. */
  readonly expected: string;
  /** What was given, in words. */
  readonly received: string;

  constructor(argument: string, expected: string, received: string, hint?: string, code = 'ERR_ARGUMENT') {
    super(`${argument}: expected ${expected}, got ${received}.${hint ? ` ${hint}` : ''}`, code);
    this.argument = argument;
    this.expected = expected;
    this.received = received;
  }
}

/** A tensor argument has a shape that does not fit (e.g. a baseline that does not broadcast to its input). */
export class ShapeError extends ArgumentError {
  constructor(argument: string, expected: string, received: string, hint?: string) {
    super(argument, expected, received, hint, 'ERR_SHAPE');
  }
}

/** The `target` does not select a valid output (out of range, wrong form, or missing where needed). */
export class TargetError extends ArgumentError {
  constructor(expected: string, received: string, hint?: string) {
    super('target', expected, received, hint, 'ERR_TARGET');
  }
}

/** The model misbehaved: for example its output is not numeric or has no batch dimension. */
export class ModelError extends AttributionError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_MODEL', options);
  }
}

/** The backend cannot do what was asked (a missing gradient, an unsupported operation, a freed resource). */
export class BackendError extends AttributionError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_BACKEND', options);
  }
}

/** The call was stopped through its `AbortSignal`. */
export class AbortError extends AttributionError {
  constructor(message = 'The attribution was aborted.', options?: { cause?: unknown }) {
    super(message, 'ABORT_ERR', options);
  }
}

/** Short description of an arbitrary JavaScript value for error messages. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) {
    const shown = value.slice(0, 6).map(describeValue).join(', ');
    return `[${shown}${value.length > 6 ? `, … (${value.length} items)` : ''}]`;
  }
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name} of length ${(value as unknown as ArrayLike<unknown>).length}`;
  const ctor = (value as object).constructor?.name;
  return ctor && ctor !== 'Object' ? `a ${ctor}` : 'an object';
}
