import { ArgumentError, ShapeError, formatShape, shapesEqual, type Backend } from '@attribution/tensor';
import { checkFinite, checkTensor, describeTensorLike, type PreparedInputs } from './inputs.js';

/** Baselines drawn from a distribution: one tensor per input with any number of reference rows, or a function of the inputs. */
export type BaselineDistribution<T> = T | readonly T[] | ((inputs: T | T[]) => T | readonly T[]);

/**
 * Validates a baseline distribution against the inputs: one tensor per input whose shape matches the input's
 * except in dimension 0 (the number of references, the same for every input, at least `minRows`).
 */
export async function prepareDistribution<T>(
  backend: Backend<T>,
  baselines: unknown,
  inputs: PreparedInputs<T>,
  minRows = 1,
): Promise<{ tensors: T[]; rows: number }> {
  let value = baselines;
  if (typeof value === 'function') value = (value as (x: unknown) => unknown)(inputs.single ? inputs.tensors[0] : [...inputs.tensors]);
  if (value === undefined || value === null) {
    throw new ArgumentError('baselines', `reference rows for every input (a tensor${inputs.single ? '' : ' per input'}, or a function returning them)`, 'none');
  }
  const list = Array.isArray(value) ? (value as readonly unknown[]) : [value];
  if (list.length !== inputs.tensors.length) {
    throw new ArgumentError('baselines', `one distribution per input (${inputs.tensors.length})`, `${list.length}`);
  }
  const tensors: T[] = [];
  let rows = -1;
  for (let i = 0; i < list.length; i++) {
    const name = inputs.single ? 'baselines' : `baselines[${i}]`;
    const t = checkTensor(backend, name, list[i]);
    const shape = backend.shape(t);
    const inputShape = inputs.shapes[i] ?? [];
    if (shape.length !== inputShape.length || !shapesEqual(shape.slice(1), inputShape.slice(1))) {
      throw new ShapeError(name, `shape [B, ${inputShape.slice(1).join(', ')}] (B reference rows)`, `shape ${formatShape(shape)}`);
    }
    const b = shape[0] as number;
    if (rows >= 0 && b !== rows) throw new ShapeError(name, `${rows} reference rows, as the other inputs`, `${b}`);
    if (b < minRows) {
      throw new ArgumentError(name, `at least ${minRows} reference rows`, `${b}`, minRows > 1 ? 'With one reference, use DeepLift.' : undefined);
    }
    rows = b;
    await checkFinite(backend, name, t);
    if (backend.dtype(t) !== backend.dtype(inputs.tensors[i] as T)) {
      throw new ArgumentError(name, `dtype ${backend.dtype(inputs.tensors[i] as T)} like its input`, describeTensorLike(backend, t));
    }
    tensors.push(t);
  }
  return { tensors, rows };
}
