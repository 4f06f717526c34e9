import type { Emitter } from '../emitter.js';
import { InvalidModelError } from '../errors.js';
import { DataType, makeTensor } from '../proto.js';
import { oneHot } from './one-hot.js';
import type { GradContext, GradientRule } from './types.js';

/**
 * y = gather_nd(x, indices, batch_dims b): dx accumulates dy at the gathered slices, duplicates summed.
 * Without batch dimensions from opset 16: ScatterND with reduction 'add' into zeros. Otherwise the index
 * tuples (and the batch position) become row numbers of x flattened over its first b + m dimensions
 * (m = indices.shape[-1]), and the rows of dy are summed into those rows: ScatterND 'add' from opset 16,
 * before it a product with the one-hot matrix of the rows, onehotᵀ @ dy (memory: rows × that product).
 */
export const gatherNDGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const { e } = c;
    const [x, indices] = [c.input(0), c.input(1)];
    const dy = c.dy() as string;
    const r = c.rank(x);
    const q = c.rank(indices);
    const b = c.attrInt('batch_dims', 0);
    const m = c.shape(indices)?.[q - 1];
    if (typeof m !== 'number') return c.unsupported('the length of the index tuples (the last dimension of indices) is not known');
    if (!Number.isInteger(b) || b < 0 || b >= Math.min(q, r) || m < 1 || m > r - b) {
      throw new InvalidModelError(`GatherND node '${c.node.name || c.output(0)}': batch_dims ${b} and index tuples of length ${m} do not fit data of rank ${r} and indices of rank ${q}.`);
    }
    // Negative indices count from the end of their dimension.
    const sizes = e.slice(e.shape(x), e.ints([b]), e.ints([b + m]), [0]);
    const idx = e.op('Where', [e.op('Less', [indices, e.ints([0])]), e.add(indices, sizes), indices]);
    if (b === 0 && c.opset >= 16) return [e.op('ScatterND', [e.zerosLike(x), idx, dy], { reduction: 'add' })];
    return [scatterRows(c, x, idx, dy, b, m, q)];
  },
};

/** Product of a slice of a shape vector, as a 1-element tensor (1 for an empty slice). */
function prodOf(e: Emitter, shape: string, from: number, to: number): string {
  return from >= to ? e.ints([1]) : e.op('ReduceProd', [e.slice(shape, e.ints([from]), e.ints([to]), [0])], { keepdims: 1 });
}

function scatterRows(c: GradContext, x: string, idx: string, dy: string, b: number, m: number, q: number): string {
  const { e } = c;
  const r = c.rank(x);
  const xs = e.shape(x);
  // Row number of each index tuple in x viewed as [Π dims[0 .. b+m), rest …].
  const strides = e.op('Concat', Array.from({ length: m }, (_, k) => prodOf(e, xs, b + k + 1, b + m)), { axis: 0 });
  let row = e.reduceSum(e.mul(idx, strides), [q - 1], false);
  if (b > 0) {
    const scalar = (v: number): string => e.constant([v], DataType.INT64, []);
    const range = e.op('Range', [scalar(0), e.squeeze(prodOf(e, xs, 0, b), [0]), scalar(1)]);
    const batchShape = e.op('Concat', [e.slice(e.shape(idx), e.ints([0]), e.ints([b]), [0]), e.ints(new Array<number>(q - 1 - b).fill(1))], { axis: 0 });
    row = e.add(row, e.mul(e.op('Reshape', [range, batchShape]), prodOf(e, xs, b, b + m)));
  }
  const rows = e.op('Reshape', [row, e.ints([-1])]);
  const n = prodOf(e, xs, 0, b + m);
  let flat: string;
  if (c.opset >= 16) {
    const rest = e.slice(xs, e.ints([b + m]), e.ints([r]), [0]);
    const updates = e.op('Reshape', [dy, e.op('Concat', [e.ints([-1]), rest], { axis: 0 })]);
    const zero = makeTensor('', e.floatType(x), [1], [0]);
    const zeros = e.op('ConstantOfShape', [e.op('Concat', [n, rest], { axis: 0 })], { value: { t: zero } });
    flat = e.op('ScatterND', [zeros, e.unsqueeze(rows, [1]), updates], { reduction: 'add' });
  } else {
    const updates = e.op('Reshape', [dy, e.op('Concat', [e.ints([-1]), prodOf(e, xs, b + m, r)], { axis: 0 })]);
    flat = e.op('MatMul', [e.transpose(oneHot(e, rows, n, x), [1, 0]), updates]);
  }
  return e.reshapeLike(flat, x);
}
