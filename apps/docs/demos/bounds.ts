/** Bounds of the demos' number options, enforced in the page (on change, before a run) and again in the worker. */

/** A bound of a number option: its range and whether it is an integer. */
export interface Bound {
  readonly min: number;
  readonly max: number;
  readonly integer: boolean;
}

/**
 * `value` brought into `bound` (rounded for integers; the default for what is not a number), and a note saying
 * what was changed (`''` when the value was valid).
 */
export function clampOption(name: string, value: unknown, bound: Bound, fallback: number): { value: number; note: string } {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  if (!Number.isFinite(n)) return { value: fallback, note: `${name} must be a number: set to ${fallback}` };
  const rounded = bound.integer ? Math.round(n) : n;
  const clamped = Math.min(bound.max, Math.max(bound.min, rounded));
  if (clamped === n) return { value: n, note: '' };
  const why = n > bound.max ? `at most ${bound.max}` : n < bound.min ? `at least ${bound.min}` : 'a whole number';
  return { value: clamped, note: `${name} is ${why} here: ${String(n)} was set to ${clamped}` };
}
