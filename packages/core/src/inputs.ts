import {
  ArgumentError,
  describeValue,
  formatShape,
  isFloatDType,
  type Backend,
  type Shape,
} from '@attribution/tensor';

/** One input tensor or an array of them (a model with several inputs). */
export type Inputs<T> = T | readonly T[];

/** Inputs after validation: always a list, with the facts algorithms need. */
export interface PreparedInputs<T> {
  /** The input tensors, in model order. */
  readonly tensors: readonly T[];
  /** Whether the caller passed one tensor (results are then one tensor too). */
  readonly single: boolean;
  /** Dimension 0, shared by every input: the number of examples. */
  readonly batchSize: number;
  /** Each input's shape. */
  readonly shapes: readonly Shape[];
}

/** Describes a value that should have been a tensor of `backend`. */
export function describeTensorLike<T>(backend: Backend<T>, value: unknown): string {
  if (backend.isTensor(value)) {
    return `a ${backend.dtype(value)} tensor of shape ${formatShape(backend.shape(value))}`;
  }
  const text = describeValue(value);
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !ArrayBuffer.isView(value)
    ? `${text} that is not a tensor of the ${backend.name} backend (tensors from different backends cannot be mixed)`
    : text;
}

/** Checks that `value` is a live tensor of `backend`. */
export function checkTensor<T>(backend: Backend<T>, argument: string, value: unknown): T {
  if (!backend.isTensor(value)) {
    throw new ArgumentError(argument, `a tensor of the ${backend.name} backend`, describeTensorLike(backend, value));
  }
  if (backend.isDisposed(value)) {
    throw new ArgumentError(argument, `a live tensor of the ${backend.name} backend`, 'a tensor that has been disposed');
  }
  return value;
}

/** Checks that every value of a tensor is finite (no NaN or ±Infinity). */
export async function checkFinite<T>(backend: Backend<T>, argument: string, t: T): Promise<void> {
  const dtype = backend.dtype(t);
  if (!isFloatDType(dtype)) return;
  const data = await backend.data(t);
  for (let i = 0; i < data.length; i++) {
    const v = data[i] as number;
    if (!Number.isFinite(v)) {
      throw new ArgumentError(argument, 'finite values', `${v} at flat index ${i}`);
    }
  }
}

/**
 * Validates the `inputs` argument: one tensor or a non-empty array of live tensors of the model's backend,
 * all with the same non-zero batch size; floating point and finite when gradients are needed.
 */
export async function prepareInputs<T>(
  backend: Backend<T>,
  inputs: unknown,
  options: { readonly needsGradient: boolean; readonly argument?: string },
): Promise<PreparedInputs<T>> {
  const argument = options.argument ?? 'inputs';
  const single = !Array.isArray(inputs);
  const list: readonly unknown[] = single ? [inputs] : (inputs as readonly unknown[]);
  if (list.length === 0) {
    throw new ArgumentError(argument, `a tensor of the ${backend.name} backend or a non-empty array of them`, 'an empty array');
  }
  const tensors = list.map((value, i) => checkTensor(backend, single ? argument : `${argument}[${i}]`, value));
  const shapes = tensors.map((t) => backend.shape(t));
  const first = shapes[0] as Shape;
  if (first.length === 0) {
    throw new ArgumentError(single ? argument : `${argument}[0]`, 'a tensor whose dimension 0 is the batch', 'a scalar (rank 0)');
  }
  const batchSize = first[0] as number;
  for (let i = 0; i < tensors.length; i++) {
    const name = single ? argument : `${argument}[${i}]`;
    const shape = shapes[i] as Shape;
    if (shape.length === 0 || shape[0] !== batchSize) {
      throw new ArgumentError(
        name,
        `dimension 0 (the batch) equal to ${batchSize}, as in ${argument}[0]`,
        `shape ${formatShape(shape)}`,
      );
    }
    if (options.needsGradient && !isFloatDType(backend.dtype(tensors[i] as T))) {
      throw new ArgumentError(
        name,
        'a float32 or float64 tensor (gradients need real numbers)',
        `dtype ${backend.dtype(tensors[i] as T)}`,
        'For integer inputs such as token ids, attribute to a layer (e.g. LayerIntegratedGradients on the embedding).',
      );
    }
  }
  if (batchSize === 0) {
    throw new ArgumentError(argument, 'at least one example (dimension 0 ≥ 1)', `an empty batch of shape ${formatShape(first)}`);
  }
  for (let i = 0; i < tensors.length; i++) {
    await checkFinite(backend, single ? argument : `${argument}[${i}]`, tensors[i] as T);
  }
  return { tensors, single, batchSize, shapes };
}

/** Returns results in the structure the caller used: one tensor for one input, else an array. */
export function restoreStructure<T>(prepared: { readonly single: boolean }, tensors: readonly T[]): T | T[] {
  return prepared.single ? (tensors[0] as T) : [...tensors];
}
