import { ShapeError, broadcastShapes, formatShape, sizeOf, stridesOf, toNumbers, type Shape, type TensorData } from '@attribution/tensor';

/** Copies `data` (shape `from`) broadcast to shape `to` (NumPy rules), as float64. */
export function broadcastData(data: ArrayLike<number>, from: Shape, to: Shape, argument: string): Float64Array {
  const shape = broadcastShapes(from, to);
  if (!shape || shape.length !== to.length || shape.some((d, i) => d !== to[i])) {
    throw new ShapeError(argument, `a shape that broadcasts to ${formatShape(to)}`, `shape ${formatShape(from)}`);
  }
  const out = new Float64Array(sizeOf(to));
  const src = stridesOf(from);
  const lead = to.length - from.length;
  const strides = to.map((_, i) => (i < lead || from[i - lead] === 1 ? 0 : (src[i - lead] as number)));
  const index = new Array<number>(to.length).fill(0);
  for (let k = 0; k < out.length; k++) {
    let offset = 0;
    for (let d = 0; d < to.length; d++) offset += (index[d] as number) * (strides[d] as number);
    out[k] = data[offset] as number;
    for (let d = to.length - 1; d >= 0; d--) {
      index[d] = (index[d] as number) + 1;
      if ((index[d] as number) < (to[d] as number)) break;
      index[d] = 0;
    }
  }
  return out;
}

/** Host values of any tensor data as float64. */
export function hostNumbers(data: TensorData): Float64Array {
  return data instanceof Float64Array ? data : toNumbers(data);
}
