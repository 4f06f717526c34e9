import { ArgumentError, ShapeError, formatShape, shapesEqual, type Backend } from '@attribution/tensor';
import { checkFinite, checkTensor, describeTensorLike, type PreparedInputs } from './inputs.js';
import type { Scope } from './scope.js';

/** A baseline for one input: a number used everywhere, or a tensor shaped like the input or with batch size 1. */
export type Baseline<T> = number | T;

/** Baselines for all inputs: one value for every input, or an array with one entry per input. */
export type Baselines<T> = Baseline<T> | readonly Baseline<T>[];

/**
 * Validates baselines against the inputs and returns one tensor per input with exactly the input's shape
 * (numbers are filled in, batch-1 tensors are broadcast). Missing baselines are zeros. Tensors created here
 * belong to `scope`.
 */
export async function prepareBaselines<T>(
  backend: Backend<T>,
  baselines: unknown,
  inputs: PreparedInputs<T>,
  scope: Scope<T>,
): Promise<T[]> {
  const count = inputs.tensors.length;
  let list: readonly unknown[];
  if (baselines === undefined || baselines === null) list = new Array<unknown>(count).fill(0);
  else if (Array.isArray(baselines)) {
    if (baselines.length !== count) {
      throw new ArgumentError(
        'baselines',
        `one baseline per input (${count})`,
        `an array of ${baselines.length}`,
        inputs.single ? 'For a single input, pass the baseline itself (a number or a tensor).' : undefined,
      );
    }
    list = baselines;
  } else if (typeof baselines === 'number' || inputs.single || count === 1) list = new Array<unknown>(count).fill(baselines);
  else {
    throw new ArgumentError('baselines', `a number or an array of ${count} baselines (one per input)`, describeTensorLike(backend, baselines));
  }
  const out: T[] = [];
  for (let i = 0; i < count; i++) {
    const name = inputs.single ? 'baselines' : `baselines[${i}]`;
    const input = inputs.tensors[i] as T;
    const shape = inputs.shapes[i] ?? [];
    const dtype = backend.dtype(input);
    const value = list[i];
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw new ArgumentError(name, 'a finite number or a tensor', String(value));
      out.push(scope.track(backend.fill(shape, value, dtype)));
      continue;
    }
    if (value === undefined || value === null) {
      out.push(scope.track(backend.fill(shape, 0, dtype)));
      continue;
    }
    const t = checkTensor(backend, name, value);
    const bShape = backend.shape(t);
    const perBatch = [1, ...shape.slice(1)];
    if (!shapesEqual(bShape, shape) && !shapesEqual(bShape, perBatch)) {
      const hint = shapesEqual(bShape, shape.slice(1))
        ? `Add a batch dimension: a baseline of shape ${formatShape(perBatch)} is used for every example.`
        : undefined;
      throw new ShapeError(
        name,
        `shape ${formatShape(shape)} (one baseline per example) or ${formatShape(perBatch)} (one for all)`,
        `shape ${formatShape(bShape)}`,
        hint,
      );
    }
    await checkFinite(backend, name, t);
    const cast = backend.dtype(t) === dtype ? undefined : scope.track(backend.cast(t, dtype));
    const source = cast ?? t;
    out.push(shapesEqual(bShape, shape) ? source : scope.track(backend.broadcastTo(source, shape)));
  }
  return out;
}
