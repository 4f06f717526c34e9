/** Element types a backend tensor may hold; only the numeric ones can be created through a backend. */
export type DType = 'float32' | 'float64' | 'int32' | 'int64' | 'bool' | 'string' | 'complex64';

/** Host-side data of a tensor, in row-major order; the array type follows the dtype. */
export type TensorData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;

/** Whether `dtype` holds real numbers that gradients can flow through. */
export function isFloatDType(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64';
}

/** Converts any {@link TensorData} to plain JavaScript numbers (int64 values beyond 2^53 lose precision). */
export function toNumbers(data: TensorData): Float64Array {
  if (data instanceof BigInt64Array) {
    const out = new Float64Array(data.length);
    for (let i = 0; i < data.length; i++) out[i] = Number(data[i]);
    return out;
  }
  return Float64Array.from(data);
}
