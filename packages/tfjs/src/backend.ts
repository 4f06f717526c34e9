import * as tf from '@tensorflow/tfjs-core';
import { ArgumentError, type Backend, type DType, type Operand, type Shape, type TensorData } from '@attribution/tensor';

/** Duck-typed tensor check, so tensors from another copy of tfjs-core are recognised too. */
export function isTfTensor(value: unknown): value is tf.Tensor {
  if (value instanceof tf.Tensor) return true;
  if (value === null || typeof value !== 'object') return false;
  const v = value as Partial<tf.Tensor>;
  return Array.isArray(v.shape) && typeof v.dtype === 'string' && 'dataId' in v && typeof v.dataSync === 'function';
}

function toTfDtype(dtype: DType): tf.DataType {
  switch (dtype) {
    case 'float32':
    case 'float64':
      return 'float32';
    case 'int32':
    case 'int64':
      return 'int32';
    case 'bool':
      return 'bool';
    default:
      throw new ArgumentError('dtype', 'a numeric dtype TensorFlow.js can hold', dtype);
  }
}

function operand(x: Operand<tf.Tensor>): tf.Tensor | number {
  return x;
}

function axesOf(axes: number | readonly number[] | undefined): number | number[] | undefined {
  return axes === undefined || typeof axes === 'number' ? axes : [...axes];
}

/**
 * The {@link Backend} of TensorFlow.js: operations run on whatever tfjs backend is active
 * (`cpu`, `wasm`, `webgl`, `webgpu`); float64 and int64 are stored as float32 and int32.
 */
export const tfjsBackend: Backend<tf.Tensor> = {
  get name(): string {
    return `tfjs-${tf.getBackend() ?? 'uninitialised'}`;
  },
  isTensor: isTfTensor,
  isDisposed: (t) => t.isDisposed,
  shape: (t) => t.shape,
  dtype: (t) => t.dtype as DType,

  tensor(values: ArrayLike<number> | TensorData, shape: Shape, dtype: DType = 'float32'): tf.Tensor {
    const tfDtype = toTfDtype(dtype);
    let data: tf.TypedArray | number[];
    if (values instanceof BigInt64Array) data = Int32Array.from(values, (v) => Number(v));
    else if (tfDtype === 'float32') data = values instanceof Float32Array ? values : Float32Array.from(values);
    else if (tfDtype === 'int32') data = values instanceof Int32Array ? values : Int32Array.from(values);
    else data = Uint8Array.from(values);
    return tf.tensor(data, [...shape], tfDtype);
  },
  fill: (shape, value, dtype = 'float32') => tf.fill([...shape], value, toTfDtype(dtype)),
  data: (t) => t.data() as Promise<TensorData>,

  add: (a, b) => tf.add(operand(a), operand(b)),
  sub: (a, b) => tf.sub(operand(a), operand(b)),
  mul: (a, b) => tf.mul(operand(a), operand(b)),
  div: (a, b) => tf.div(operand(a), operand(b)),
  maximum: (a, b) => tf.maximum(operand(a), operand(b)),
  minimum: (a, b) => tf.minimum(operand(a), operand(b)),
  neg: (a) => tf.neg(a),
  abs: (a) => tf.abs(a),
  square: (a) => tf.square(a),
  sqrt: (a) => tf.sqrt(a),
  exp: (a) => tf.exp(a),

  matMul: (a, b, transposeA = false, transposeB = false) => tf.matMul(a, b, transposeA, transposeB),

  sum: (a, axes, keepDims = false) => tf.sum(a, axesOf(axes), keepDims),
  mean: (a, axes, keepDims = false) => tf.mean(a, axesOf(axes), keepDims),
  max: (a, axes, keepDims = false) => tf.max(a, axesOf(axes), keepDims),

  reshape: (a, shape) => tf.reshape(a, [...shape]),
  concat: (tensors, axis = 0) => (tensors.length === 1 ? tf.clone(tensors[0] as tf.Tensor) : tf.concat([...tensors], axis)),
  slice: (a, begin, size) => tf.slice(a, [...begin], [...size]),
  tile: (a, reps) => tf.tile(a, [...reps]),
  gather: (a, indices, axis = 0) => tf.tidy(() => tf.gather(a, tf.tensor1d([...indices], 'int32'), axis)),
  transpose: (a, perm) => tf.transpose(a, [...perm]),
  broadcastTo: (a, shape) => tf.broadcastTo(a, [...shape]),
  cast: (a, dtype) => tf.cast(a, toTfDtype(dtype)),

  tidy: <R>(fn: () => R): R => tf.tidy(fn as () => tf.TensorContainer) as R,
  dispose(tensors) {
    tf.dispose(Array.isArray(tensors) ? [...(tensors as readonly tf.Tensor[])] : (tensors as tf.Tensor));
  },
};
