import { BackendError, ShapeError, type DType, type TensorData } from '@attribution/tensor';

/** Element types a host tensor holds, named as ONNX Runtime names them. */
export type HostType = 'float32' | 'float64' | 'int32' | 'int64' | 'bool';

/**
 * A tensor held in host memory as a typed array — the tensor type of the ONNX backend. Its fields mirror
 * ONNX Runtime's `Tensor` (`data`, `dims`, `type`), so `ort.Tensor`s work as inputs too.
 */
export class HostTensor {
  private values: TensorData | undefined;

  constructor(
    data: TensorData,
    /** The shape. */
    readonly dims: readonly number[],
    /** The element type. */
    readonly type: HostType,
  ) {
    let size = 1;
    for (const d of dims) {
      if (!Number.isSafeInteger(d) || d < 0) throw new ShapeError('dims', 'non-negative integers', `[${dims.join(', ')}]`);
      size *= d;
    }
    if (data.length !== size) {
      throw new ShapeError('data', `${size} values for dims [${dims.join(', ')}]`, `${data.length} values`);
    }
    this.values = data;
  }

  /** The values, row-major (do not modify them: tensors share data). */
  get data(): TensorData {
    if (!this.values) throw new BackendError('This tensor has been disposed.');
    return this.values;
  }

  /** Number of elements. */
  get size(): number {
    return this.dims.reduce((a, b) => a * b, 1);
  }

  /** Whether {@link dispose} was called. */
  get isDisposed(): boolean {
    return this.values === undefined;
  }

  /** Releases the values (the tensor is unusable afterwards). */
  dispose(): void {
    this.values = undefined;
  }
}

/** The typed array used for a host type. */
export function arrayFor(type: HostType, size: number): TensorData {
  switch (type) {
    case 'float32':
      return new Float32Array(size);
    case 'float64':
      return new Float64Array(size);
    case 'int32':
      return new Int32Array(size);
    case 'int64':
      return new BigInt64Array(size);
    case 'bool':
      return new Uint8Array(size);
  }
}

/** The host type standing for a contract dtype. */
export function hostType(dtype: DType): HostType {
  if (dtype === 'float32' || dtype === 'float64' || dtype === 'int32' || dtype === 'int64' || dtype === 'bool') return dtype;
  throw new BackendError(`The ONNX backend has no host tensors of type ${dtype}.`);
}

/** Fills a typed array of `type` from numbers. */
export function fromNumbers(type: HostType, values: ArrayLike<number> | TensorData): TensorData {
  if (values instanceof BigInt64Array) {
    if (type === 'int64') return values;
    const out = arrayFor(type, values.length) as Exclude<TensorData, BigInt64Array>;
    for (let i = 0; i < values.length; i++) out[i] = Number(values[i]);
    return out;
  }
  if (type === 'int64') {
    const out = new BigInt64Array(values.length);
    for (let i = 0; i < values.length; i++) out[i] = BigInt(Math.trunc(values[i] as number));
    return out;
  }
  const out = arrayFor(type, values.length) as Exclude<TensorData, BigInt64Array>;
  out.set(values as ArrayLike<number>);
  return out;
}
