import {
  ArgumentError,
  BackendError,
  ShapeError,
  broadcastShapes,
  formatShape,
  sizeOf,
  stridesOf,
  type Backend,
  type DType,
  type Operand,
  type Shape,
  type TensorData,
} from '@attribution/tensor';
import { HostTensor, arrayFor, fromNumbers, hostType, type HostType } from './host-tensor.js';

/**
 * A tensor of the ONNX backend: a {@link HostTensor}, or anything shaped like ONNX Runtime's `Tensor`
 * (`data`, `dims`, `type`) holding CPU data.
 */
export interface OnnxTensor {
  readonly dims: readonly number[];
  readonly type: string;
  readonly data: unknown;
}

const TYPES: Record<string, HostType | undefined> = {
  float32: 'float32',
  float64: 'float64',
  int32: 'int32',
  int64: 'int64',
  bool: 'bool',
};

function isTypedArray(v: unknown): v is TensorData {
  return v instanceof Float32Array || v instanceof Float64Array || v instanceof Int32Array || v instanceof BigInt64Array || v instanceof Uint8Array;
}

/** Whether a value is a tensor the ONNX backend can use. */
export function isOnnxTensor(value: unknown): value is OnnxTensor {
  if (value instanceof HostTensor) return true;
  if (value === null || typeof value !== 'object') return false;
  const v = value as Partial<OnnxTensor> & { location?: string };
  if (!Array.isArray(v.dims) || typeof v.type !== 'string') return false;
  if (v.location !== undefined && v.location !== 'cpu' && v.location !== 'cpu-pinned') return false;
  try {
    return isTypedArray(v.data);
  } catch {
    return false;
  }
}

function typeOf(t: OnnxTensor): HostType {
  const type = TYPES[t.type];
  if (!type) throw new BackendError(`ONNX tensors of type ${t.type} are not supported here (float32, float64, int32, int64, bool are).`);
  return type;
}

function dataOf(t: OnnxTensor): TensorData {
  return t.data as TensorData;
}

/** Values as numbers (int64 converted), without copying when they already are. */
function numbers(t: OnnxTensor): Exclude<TensorData, BigInt64Array> {
  const d = dataOf(t);
  if (!(d instanceof BigInt64Array)) return d;
  const out = new Float64Array(d.length);
  for (let i = 0; i < d.length; i++) out[i] = Number(d[i]);
  return out;
}

function make(data: TensorData, dims: readonly number[], type: HostType): HostTensor {
  return new HostTensor(data, dims, type);
}

/** The result type of arithmetic between two operands. */
function promote(a: HostType | number, b: HostType | number): HostType {
  const types = [a, b].filter((t): t is HostType => typeof t === 'string');
  const nums = [a, b].filter((t): t is number => typeof t === 'number');
  if (types.includes('float64')) return 'float64';
  if (types.includes('float32')) return 'float32';
  if (nums.some((n) => !Number.isInteger(n))) return 'float32';
  if (types.includes('int64')) return 'int64';
  if (types.includes('int32')) return 'int32';
  return types[0] ?? 'float32';
}

function normAxes(axes: number | readonly number[] | undefined, rank: number): number[] {
  if (axes === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof axes === 'number' ? [axes] : [...axes];
  return list.map((a) => (a < 0 ? a + rank : a));
}

/** Output strides for `shape` broadcast into `out` (0 where broadcast). */
function broadcastStrides(shape: Shape, out: Shape): number[] {
  const s = stridesOf(shape);
  const lead = out.length - shape.length;
  return out.map((_, i) => (i < lead || shape[i - lead] === 1 ? 0 : (s[i - lead] as number)));
}

/** Visits every element of `out` with the matching offsets into two broadcast operands. */
function forEachBroadcast(out: Shape, sa: number[], sb: number[], visit: (i: number, ia: number, ib: number) => void): void {
  const rank = out.length;
  const n = sizeOf(out);
  if (rank === 0) {
    if (n) visit(0, 0, 0);
    return;
  }
  const last = out[rank - 1] as number;
  const la = sa[rank - 1] as number;
  const lb = sb[rank - 1] as number;
  const counters = new Array<number>(rank).fill(0);
  let ia = 0;
  let ib = 0;
  for (let i = 0; i < n; i += last) {
    let a = ia;
    let b = ib;
    for (let j = 0; j < last; j++, a += la, b += lb) visit(i + j, a, b);
    for (let d = rank - 2; d >= 0; d--) {
      counters[d] = (counters[d] as number) + 1;
      ia += sa[d] as number;
      ib += sb[d] as number;
      if ((counters[d] as number) < (out[d] as number)) break;
      ia -= (sa[d] as number) * (out[d] as number);
      ib -= (sb[d] as number) * (out[d] as number);
      counters[d] = 0;
    }
  }
}

type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'max' | 'min';

const BINARY: Record<BinaryOp, (x: number, y: number) => number> = {
  add: (x, y) => x + y,
  sub: (x, y) => x - y,
  mul: (x, y) => x * y,
  div: (x, y) => x / y,
  max: (x, y) => (x > y || Number.isNaN(x) ? x : y),
  min: (x, y) => (x < y || Number.isNaN(x) ? x : y),
};

function binary(op: BinaryOp, a: Operand<OnnxTensor>, b: Operand<OnnxTensor>): HostTensor {
  const ta = typeof a === 'number' ? undefined : a;
  const tb = typeof b === 'number' ? undefined : b;
  const type = promote(ta ? typeOf(ta) : (a as number), tb ? typeOf(tb) : (b as number));
  const da = ta ? numbers(ta) : Float64Array.of(a as number);
  const db = tb ? numbers(tb) : Float64Array.of(b as number);
  const sa = ta ? ta.dims : [];
  const sb = tb ? tb.dims : [];
  const shape = broadcastShapes(sa, sb);
  if (!shape) throw new ShapeError(`${op} operands`, 'shapes that broadcast', `${formatShape(sa)} and ${formatShape(sb)}`);
  const n = sizeOf(shape);
  const out = type === 'int64' ? new Float64Array(n) : (arrayFor(type, n) as Exclude<TensorData, BigInt64Array>);
  const f = BINARY[op];
  if (da.length === n && db.length === n) {
    switch (op) {
      case 'add': for (let i = 0; i < n; i++) out[i] = (da[i] as number) + (db[i] as number); break;
      case 'sub': for (let i = 0; i < n; i++) out[i] = (da[i] as number) - (db[i] as number); break;
      case 'mul': for (let i = 0; i < n; i++) out[i] = (da[i] as number) * (db[i] as number); break;
      case 'div': for (let i = 0; i < n; i++) out[i] = (da[i] as number) / (db[i] as number); break;
      default: for (let i = 0; i < n; i++) out[i] = f(da[i] as number, db[i] as number);
    }
  } else if (db.length === 1) {
    const y = db[0] as number;
    switch (op) {
      case 'add': for (let i = 0; i < n; i++) out[i] = (da[i] as number) + y; break;
      case 'sub': for (let i = 0; i < n; i++) out[i] = (da[i] as number) - y; break;
      case 'mul': for (let i = 0; i < n; i++) out[i] = (da[i] as number) * y; break;
      case 'div': for (let i = 0; i < n; i++) out[i] = (da[i] as number) / y; break;
      default: for (let i = 0; i < n; i++) out[i] = f(da[i] as number, y);
    }
  } else if (da.length === 1) {
    const x = da[0] as number;
    for (let i = 0; i < n; i++) out[i] = f(x, db[i] as number);
  } else {
    forEachBroadcast(shape, broadcastStrides(sa, shape), broadcastStrides(sb, shape), (i, ia, ib) => {
      out[i] = f(da[ia] as number, db[ib] as number);
    });
  }
  return make(type === 'int64' ? fromNumbers('int64', out) : out, shape, type);
}

function unary(a: OnnxTensor, f: (x: number) => number, type?: HostType): HostTensor {
  const d = numbers(a);
  const t = type ?? (typeOf(a) === 'float64' ? 'float64' : 'float32');
  const out = arrayFor(t, d.length) as Exclude<TensorData, BigInt64Array>;
  for (let i = 0; i < d.length; i++) out[i] = f(d[i] as number);
  return make(out, a.dims, t);
}

type ReduceOp = 'sum' | 'mean' | 'max';

function reduce(op: ReduceOp, a: OnnxTensor, axes: number | readonly number[] | undefined, keepDims: boolean): HostTensor {
  const dims = a.dims;
  const rank = dims.length;
  const list = normAxes(axes, rank);
  for (const ax of list) if (ax < 0 || ax >= rank) throw new ArgumentError('axes', `axes in [${-rank}, ${rank})`, String(ax));
  const reduced = new Set(list);
  const outDims = dims.map((d, i) => (reduced.has(i) ? 1 : d));
  const type: HostType = typeOf(a) === 'float64' ? 'float64' : 'float32';
  const n = sizeOf(outDims);
  const out = arrayFor(type, n) as Float32Array | Float64Array;
  const d = numbers(a);
  if (op === 'max') out.fill(-Infinity);
  if (n === 1) {
    let acc = op === 'max' ? -Infinity : 0;
    if (op === 'max') for (let i = 0; i < d.length; i++) acc = Math.max(acc, d[i] as number);
    else for (let i = 0; i < d.length; i++) acc += d[i] as number;
    out[0] = acc;
  } else {
    const outStrides = stridesOf(outDims).map((s, i) => (reduced.has(i) ? 0 : s));
    const zero = new Array<number>(rank).fill(0);
    forEachBroadcast(dims, outStrides, zero, (i, io) => {
      out[io] = op === 'max' ? Math.max(out[io] as number, d[i] as number) : (out[io] as number) + (d[i] as number);
    });
  }
  if (op === 'mean') {
    const count = d.length / n;
    for (let i = 0; i < n; i++) out[i] = (out[i] as number) / count;
  }
  return make(out, keepDims ? outDims : dims.filter((_, i) => !reduced.has(i)), type);
}

/** Copies `a` into the block layout given by per-dimension source strides (transpose, broadcast, tile). */
function gatherLayout(a: OnnxTensor, outDims: readonly number[], sourceOffset: (index: number[]) => number): HostTensor {
  const type = typeOf(a);
  const src = dataOf(a);
  const n = sizeOf(outDims);
  const out = arrayFor(type, n);
  const rank = outDims.length;
  const index = new Array<number>(rank).fill(0);
  for (let i = 0; i < n; i++) {
    (out as Float64Array)[i] = (src as Float64Array)[sourceOffset(index)] as number;
    for (let d = rank - 1; d >= 0; d--) {
      index[d] = (index[d] as number) + 1;
      if ((index[d] as number) < (outDims[d] as number)) break;
      index[d] = 0;
    }
  }
  return make(out, outDims, type);
}

function matMul(a: OnnxTensor, b: OnnxTensor, transposeA = false, transposeB = false): HostTensor {
  if (a.dims.length !== 2 || b.dims.length !== 2) {
    throw new ShapeError('matMul operands', '2-D tensors', `${formatShape(a.dims)} and ${formatShape(b.dims)}`);
  }
  const [ar, ac] = a.dims as [number, number];
  const [br, bc] = b.dims as [number, number];
  const m = transposeA ? ac : ar;
  const k = transposeA ? ar : ac;
  const k2 = transposeB ? bc : br;
  const n = transposeB ? br : bc;
  if (k !== k2) throw new ShapeError('matMul operands', 'matching inner dimensions', `${formatShape(a.dims)} and ${formatShape(b.dims)}`);
  const type = promote(typeOf(a), typeOf(b)) === 'float64' ? 'float64' : 'float32';
  const da = numbers(a);
  const db = numbers(b);
  const out = arrayFor(type, m * n) as Float32Array | Float64Array;
  if (k <= 4 && !transposeB) {
    // Few terms per output (e.g. IG path points, [α 1]·[diff; start]): one pass over each output row.
    for (let i = 0; i < m; i++) {
      const row = i * n;
      const coef = Array.from({ length: k }, (_, p) => da[transposeA ? p * ac + i : i * ac + p] as number);
      if (k === 2) {
        const [c0, c1] = coef as [number, number];
        for (let j = 0; j < n; j++) out[row + j] = c0 * (db[j] as number) + c1 * (db[n + j] as number);
      } else {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let p = 0; p < k; p++) s += (coef[p] as number) * (db[p * n + j] as number);
          out[row + j] = s;
        }
      }
    }
    return make(out, [m, n], type);
  }
  const acc = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    acc.fill(0);
    for (let p = 0; p < k; p++) {
      const av = da[transposeA ? p * ac + i : i * ac + p] as number;
      if (av === 0) continue;
      if (transposeB) for (let j = 0; j < n; j++) acc[j] = (acc[j] as number) + av * (db[j * bc + p] as number);
      else {
        const row = p * bc;
        for (let j = 0; j < n; j++) acc[j] = (acc[j] as number) + av * (db[row + j] as number);
      }
    }
    out.set(acc, i * n);
  }
  return make(out, [m, n], type);
}

/**
 * The ONNX backend's tensor operations, in plain TypeScript over typed arrays (tensors live on the host;
 * ONNX Runtime runs the models). Float arithmetic accumulates in float64 and stores float32 or float64.
 */
export const hostBackend: Backend<OnnxTensor> = {
  name: 'onnx',
  isTensor: isOnnxTensor,
  isDisposed: (t) => (t instanceof HostTensor ? t.isDisposed : false),
  shape: (t) => t.dims,
  dtype: (t) => (TYPES[t.type] ?? (t.type as DType)) as DType,

  tensor(values, shape, dtype = 'float32') {
    const type = hostType(dtype);
    if (sizeOf(shape) !== values.length) {
      throw new ShapeError('tensor values', `${sizeOf(shape)} values for shape ${formatShape(shape)}`, `${values.length}`);
    }
    // A typed array of the element type is used as it is, as `new ort.Tensor` and tfjs do.
    const own =
      (type === 'float32' && values instanceof Float32Array) ||
      (type === 'float64' && values instanceof Float64Array) ||
      (type === 'int32' && values instanceof Int32Array) ||
      (type === 'int64' && values instanceof BigInt64Array);
    return make(own ? (values as TensorData) : fromNumbers(type, values), [...shape], type);
  },
  fill(shape, value, dtype = 'float32') {
    const type = hostType(dtype);
    const data = arrayFor(type, sizeOf(shape));
    if (data instanceof BigInt64Array) data.fill(BigInt(Math.trunc(value)));
    else data.fill(value);
    return make(data, [...shape], type);
  },
  data: async (t) => dataOf(t),

  add: (a, b) => binary('add', a, b),
  sub: (a, b) => binary('sub', a, b),
  mul: (a, b) => binary('mul', a, b),
  div: (a, b) => binary('div', a, b),
  maximum: (a, b) => binary('max', a, b),
  minimum: (a, b) => binary('min', a, b),
  neg: (a) => unary(a, (x) => -x, typeOf(a) === 'int32' ? 'int32' : undefined),
  abs: (a) => unary(a, Math.abs, typeOf(a) === 'int32' ? 'int32' : undefined),
  square: (a) => unary(a, (x) => x * x),
  sqrt: (a) => unary(a, Math.sqrt),
  exp: (a) => unary(a, Math.exp),
  matMul,

  sum: (a, axes, keepDims = false) => reduce('sum', a, axes, keepDims),
  mean: (a, axes, keepDims = false) => reduce('mean', a, axes, keepDims),
  max: (a, axes, keepDims = false) => reduce('max', a, axes, keepDims),

  reshape(a, shape) {
    const size = sizeOf(a.dims);
    const dims = [...shape];
    const free = dims.indexOf(-1);
    if (free >= 0) dims[free] = size / Math.max(1, sizeOf(dims.filter((_, i) => i !== free)));
    if (sizeOf(dims) !== size || !dims.every(Number.isInteger)) {
      throw new ShapeError('reshape', `a shape with ${size} elements`, formatShape(shape));
    }
    return make(dataOf(a), dims, typeOf(a));
  },
  concat(tensors, axis = 0) {
    const first = tensors[0];
    if (!first) throw new ArgumentError('concat', 'at least one tensor', 'none');
    const rank = first.dims.length;
    const ax = axis < 0 ? axis + rank : axis;
    const type = typeOf(first);
    const outer = sizeOf(first.dims.slice(0, ax));
    const dims = [...first.dims];
    dims[ax] = tensors.reduce((s, t) => s + (t.dims[ax] as number), 0);
    const out = arrayFor(type, sizeOf(dims));
    const rowOut = sizeOf(dims.slice(ax));
    let offset = 0;
    for (const t of tensors) {
      const src = typeOf(t) === type ? dataOf(t) : fromNumbers(type, dataOf(t));
      const row = sizeOf(t.dims.slice(ax));
      for (let o = 0; o < outer; o++) (out as Float64Array).set((src as Float64Array).subarray(o * row, (o + 1) * row), o * rowOut + offset);
      offset += row;
    }
    return make(out, dims, type);
  },
  slice(a, begin, size) {
    const dims = a.dims.map((d, i) => ((size[i] ?? -1) < 0 ? d - (begin[i] ?? 0) : (size[i] as number)));
    for (let i = 0; i < dims.length; i++) {
      if ((begin[i] ?? 0) < 0 || (begin[i] ?? 0) + (dims[i] as number) > (a.dims[i] as number)) {
        throw new ShapeError('slice', `a block inside shape ${formatShape(a.dims)}`, `begin ${formatShape(begin)} size ${formatShape(size)}`);
      }
    }
    const strides = stridesOf(a.dims);
    // Contiguous leading-dimension slices share nothing but copy fast.
    if (dims.slice(1).every((d, i) => d === a.dims[i + 1]) && begin.slice(1).every((b) => b === 0)) {
      const row = strides[0] ?? 1;
      const start = (begin[0] ?? 0) * row;
      return make(dataOf(a).slice(start, start + (dims[0] ?? 1) * row) as TensorData, dims, typeOf(a));
    }
    return gatherLayout(a, dims, (index) => index.reduce((s, v, i) => s + (v + (begin[i] ?? 0)) * (strides[i] as number), 0));
  },
  tile(a, reps) {
    const dims = a.dims.map((d, i) => d * (reps[i] ?? 1));
    if (reps.every((r, i) => r === 1 || i === 0) && a.dims.length > 0) {
      const src = dataOf(a);
      const out = arrayFor(typeOf(a), src.length * (reps[0] ?? 1));
      for (let r = 0; r < (reps[0] ?? 1); r++) (out as Float64Array).set(src as Float64Array, r * src.length);
      return make(out, dims, typeOf(a));
    }
    const strides = stridesOf(a.dims);
    return gatherLayout(a, dims, (index) => index.reduce((s, v, i) => s + (v % (a.dims[i] as number)) * (strides[i] as number), 0));
  },
  gather(a, indices, axis = 0) {
    const ax = axis < 0 ? axis + a.dims.length : axis;
    const size = a.dims[ax] as number;
    for (const i of indices) if (!Number.isInteger(i) || i < -size || i >= size) throw new ArgumentError('gather indices', `integers in [${-size}, ${size})`, String(i));
    const outer = sizeOf(a.dims.slice(0, ax));
    const inner = sizeOf(a.dims.slice(ax + 1));
    const dims = [...a.dims];
    dims[ax] = indices.length;
    const src = dataOf(a);
    const out = arrayFor(typeOf(a), sizeOf(dims));
    for (let o = 0; o < outer; o++) {
      indices.forEach((i0, k) => {
        const i = i0 < 0 ? i0 + size : i0;
        const from = (o * size + i) * inner;
        (out as Float64Array).set((src as Float64Array).subarray(from, from + inner), (o * indices.length + k) * inner);
      });
    }
    return make(out, dims, typeOf(a));
  },
  transpose(a, perm) {
    const strides = stridesOf(a.dims);
    const dims = perm.map((p) => a.dims[p] as number);
    const permStrides = perm.map((p) => strides[p] as number);
    return gatherLayout(a, dims, (index) => index.reduce((s, v, i) => s + v * (permStrides[i] as number), 0));
  },
  broadcastTo(a, shape) {
    const target = broadcastShapes(a.dims, shape);
    if (!target || target.length !== shape.length || target.some((d, i) => d !== shape[i])) {
      throw new ShapeError('broadcastTo', `a shape that ${formatShape(a.dims)} broadcasts to`, formatShape(shape));
    }
    const strides = broadcastStrides(a.dims, shape);
    return gatherLayout(a, shape, (index) => index.reduce((s, v, i) => s + v * (strides[i] as number), 0));
  },
  cast(a, dtype) {
    const type = hostType(dtype);
    if (type === typeOf(a)) return make(dataOf(a), a.dims, type);
    return make(fromNumbers(type, dataOf(a)), a.dims, type);
  },

  tidy: (fn) => fn(),
  dispose(tensors) {
    const list = Array.isArray(tensors) ? (tensors as readonly OnnxTensor[]) : [tensors as OnnxTensor];
    for (const t of list) if (t instanceof HostTensor) t.dispose();
  },
};
