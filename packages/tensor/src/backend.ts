import type { DType, TensorData } from './dtype.js';
import type { Shape } from './shape.js';

/** A tensor operand: a backend tensor or a plain number broadcast as a scalar. */
export type Operand<T> = T | number;

/**
 * The tensor operations every backend provides. Algorithms see tensors only as the opaque type `T`
 * and manipulate them through these members, so they run unchanged on any backend.
 *
 * Conventions: shapes are row-major; binary operations broadcast like NumPy; every operation returns a
 * new tensor owned by the caller (free it with {@link Backend.dispose} or inside {@link Backend.tidy})
 * and never modifies its operands; axes may be negative (counted from the end).
 */
export interface Backend<T> {
  /** Short name for messages, e.g. `tfjs-cpu` or `onnx`. */
  readonly name: string;

  /** Whether `value` is a tensor of this backend. */
  isTensor(value: unknown): value is T;
  /** Whether the tensor's memory has been released. */
  isDisposed(t: T): boolean;
  /** The tensor's shape. */
  shape(t: T): Shape;
  /** The tensor's element type. */
  dtype(t: T): DType;

  /** Creates a tensor from row-major values (a typed array of the dtype may be kept, not copied: leave it unchanged while the tensor lives); the dtype defaults to `float32`. */
  tensor(values: ArrayLike<number> | TensorData, shape: Shape, dtype?: DType): T;
  /** Creates a tensor of the given shape with every element equal to `value`. */
  fill(shape: Shape, value: number, dtype?: DType): T;
  /** Reads the tensor's values back to the host, row-major. */
  data(t: T): Promise<TensorData>;

  /** Element-wise `a + b`. */
  add(a: Operand<T>, b: Operand<T>): T;
  /** Element-wise `a - b`. */
  sub(a: Operand<T>, b: Operand<T>): T;
  /** Element-wise `a * b`. */
  mul(a: Operand<T>, b: Operand<T>): T;
  /** Element-wise `a / b`. */
  div(a: Operand<T>, b: Operand<T>): T;
  /** Element-wise `max(a, b)`. */
  maximum(a: Operand<T>, b: Operand<T>): T;
  /** Element-wise `min(a, b)`. */
  minimum(a: Operand<T>, b: Operand<T>): T;
  /** Element-wise `-a`. */
  neg(a: T): T;
  /** Element-wise `|a|`. */
  abs(a: T): T;
  /** Element-wise `a²`. */
  square(a: T): T;
  /** Element-wise `√a`. */
  sqrt(a: T): T;
  /** Element-wise `eᵃ`. */
  exp(a: T): T;

  /** Matrix product of two 2-D tensors, optionally transposing either. */
  matMul(a: T, b: T, transposeA?: boolean, transposeB?: boolean): T;

  /** Sum over `axes` (all axes when omitted). */
  sum(a: T, axes?: number | readonly number[], keepDims?: boolean): T;
  /** Mean over `axes` (all axes when omitted). */
  mean(a: T, axes?: number | readonly number[], keepDims?: boolean): T;
  /** Maximum over `axes` (all axes when omitted). */
  max(a: T, axes?: number | readonly number[], keepDims?: boolean): T;

  /** The same values with a new shape of equal size (one entry may be -1). */
  reshape(a: T, shape: Shape): T;
  /** Joins tensors along an existing axis. */
  concat(tensors: readonly T[], axis?: number): T;
  /** The block starting at `begin` with extent `size` (-1 = to the end) in each dimension. */
  slice(a: T, begin: readonly number[], size: readonly number[]): T;
  /** Repeats the tensor `reps[d]` times along each dimension `d`. */
  tile(a: T, reps: readonly number[]): T;
  /** Selects the entries `indices` along `axis`. */
  gather(a: T, indices: readonly number[], axis?: number): T;
  /** Permutes dimensions. */
  transpose(a: T, perm: readonly number[]): T;
  /** Broadcasts to a larger shape (NumPy rules). */
  broadcastTo(a: T, shape: Shape): T;
  /** Converts to another element type. */
  cast(a: T, dtype: DType): T;

  /** Runs `fn` and frees every tensor it created except those reachable from its return value. */
  tidy<R>(fn: () => R): R;
  /** Frees tensors; freeing a freed tensor is a no-op. */
  dispose(tensors: T | readonly T[]): void;
}
