import { ArgumentError, describeValue } from './errors.js';

/**
 * Checks class names given for a model (the `labels` option of `fromTfjs` and `fromOnnx`): an array of
 * non-empty, unique strings, `labels[i]` naming index `i` of the explained output's last axis. Returns a frozen
 * copy (`undefined` when `labels` is undefined); anything else is an {@link ArgumentError} naming `argument`.
 */
export function checkLabels(labels: unknown, argument = 'labels'): readonly string[] | undefined {
  if (labels === undefined) return undefined;
  const expected = 'an array of class names: non-empty, unique strings, one per index of the output’s last axis';
  if (!Array.isArray(labels)) throw new ArgumentError(argument, expected, describeValue(labels));
  if (labels.length === 0) throw new ArgumentError(argument, expected, 'an empty array');
  const seen = new Map<string, number>();
  for (let i = 0; i < labels.length; i++) {
    const label: unknown = labels[i];
    if (typeof label !== 'string') throw new ArgumentError(argument, expected, `${describeValue(label)} at index ${i}`);
    if (label === '') throw new ArgumentError(argument, expected, `an empty string at index ${i}`);
    const first = seen.get(label);
    if (first !== undefined) throw new ArgumentError(argument, expected, `${describeValue(label)} twice, at indices ${first} and ${i}`);
    seen.set(label, i);
  }
  return Object.freeze([...(labels as string[])]);
}
