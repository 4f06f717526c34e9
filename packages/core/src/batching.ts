import { ArgumentError } from '@attribution/tensor';

/**
 * Checks a batch-size option (`internalBatchSize` and the like): an integer that is at least the number of
 * examples, since every model call carries whole copies of the batch.
 */
export function checkBatchRows(argument: string, value: unknown, examples: number, stepsPerCall = 1): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new ArgumentError(argument, 'a positive integer', String(value));
  }
  if (value < examples * stepsPerCall) {
    throw new ArgumentError(
      argument,
      stepsPerCall === 1
        ? `at least the number of examples (${examples}), since each model call evaluates every example at one step`
        : `at least ${stepsPerCall} × the number of examples (${examples * stepsPerCall}), since each model call evaluates every example at ${stepsPerCall} consecutive steps`,
      String(value),
      'Attribute fewer examples per call, or raise the batch size.',
    );
  }
  return value;
}

/**
 * Splits `steps` copies of a batch of `examples` rows into consecutive ranges `[start, end)` so that no model
 * call sees more than `maxRows` rows (all steps at once when `maxRows` is undefined).
 */
export function stepRanges(steps: number, examples: number, maxRows: number | undefined): Array<[number, number]> {
  const per = maxRows === undefined ? steps : Math.max(1, Math.floor(maxRows / examples));
  const out: Array<[number, number]> = [];
  for (let s = 0; s < steps; s += per) out.push([s, Math.min(steps, s + per)]);
  return out;
}

/**
 * Splits `examples` into consecutive ranges `[start, end)` so that a call carrying `rowsPerExample` rows per
 * example stays within `maxRows` (all at once when `maxRows` is undefined).
 */
export function exampleRanges(examples: number, rowsPerExample: number, maxRows: number | undefined): Array<[number, number]> {
  const per = maxRows === undefined ? examples : Math.max(1, Math.floor(maxRows / rowsPerExample));
  const out: Array<[number, number]> = [];
  for (let s = 0; s < examples; s += per) out.push([s, Math.min(examples, s + per)]);
  return out;
}

/** Checks a batch-size option that may split examples across calls: a positive integer ≥ `minimum`. */
export function checkRowLimit(argument: string, value: unknown, minimum = 1): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < minimum) {
    throw new ArgumentError(argument, `an integer ≥ ${minimum}`, String(value));
  }
  return value;
}
