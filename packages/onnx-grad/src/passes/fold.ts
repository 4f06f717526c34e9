import type { Dim, Graph, ValueMeta } from '../graph.js';
import { subgraphs } from '../graph.js';
import { DataType, attrFloat, attrInt, attrInts, attribute, makeTensor, tensorValues, toNumber, type NodeProto, type TensorProto } from '../proto.js';
import { inferShapes } from '../shapes.js';

/** A constant tensor while folding: element type, dims and row-major values. */
interface Value {
  readonly type: number;
  readonly dims: readonly number[];
  readonly data: ArrayLike<number>;
}

/** The largest constant (in elements) a fold may produce. */
export const FOLD_LIMIT = 1 << 20;

/** Element types folding computes in (others are left to the runtime). */
const FOLDABLE = new Set<number>([
  DataType.FLOAT, DataType.DOUBLE, DataType.INT64, DataType.INT32, DataType.INT16, DataType.INT8,
  DataType.UINT8, DataType.UINT16, DataType.UINT32, DataType.UINT64, DataType.BOOL,
]);

const isInt = (t: number): boolean => t !== DataType.FLOAT && t !== DataType.DOUBLE && t !== DataType.BOOL;

class TooLarge extends Error {}

const count = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

function alloc(dims: readonly number[]): Float64Array {
  if (!dims.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new TooLarge();
  const n = count(dims);
  if (n > FOLD_LIMIT) throw new TooLarge();
  return new Float64Array(n);
}

/** Rounds a computed value to what the element type holds. */
function cast(v: number, type: number): number {
  switch (type) {
    case DataType.FLOAT: return Math.fround(v);
    case DataType.DOUBLE: return v;
    case DataType.BOOL: return v !== 0 && !Number.isNaN(v) ? 1 : 0;
    case DataType.INT32: return Math.trunc(v) | 0;
    case DataType.INT16: return (Math.trunc(v) << 16) >> 16;
    case DataType.INT8: return (Math.trunc(v) << 24) >> 24;
    case DataType.UINT8: return Math.trunc(v) & 0xff;
    case DataType.UINT16: return Math.trunc(v) & 0xffff;
    case DataType.UINT32: return Math.trunc(v) >>> 0;
    default: return Number.isFinite(v) ? Math.trunc(v) : v;
  }
}

const strides = (dims: readonly number[]): number[] => {
  const s = new Array<number>(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = (s[i + 1] as number) * (dims[i + 1] as number);
  return s;
};

function broadcastDims(shapes: (readonly number[])[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    let d = 1;
    for (const s of shapes) {
      const v = s[s.length - rank + i] ?? 1;
      if (v === 1) continue;
      if (d !== 1 && d !== v) throw new Error('shapes do not broadcast');
      d = v;
    }
    out.push(d);
  }
  return out;
}

/** For each output element, the flat index into an input broadcast to `out`. */
function broadcastIndex(from: readonly number[], out: readonly number[]): Int32Array {
  const n = count(out);
  const idx = new Int32Array(n);
  const lead = out.length - from.length;
  const fs = strides(from);
  const os = strides(out);
  for (let k = 0; k < n; k++) {
    let rest = k;
    let f = 0;
    for (let i = 0; i < out.length; i++) {
      const q = Math.floor(rest / (os[i] as number));
      rest -= q * (os[i] as number);
      const j = i - lead;
      if (j >= 0 && from[j] !== 1) f += q * (fs[j] as number);
    }
    idx[k] = f;
  }
  return idx;
}

function elementwise(inputs: readonly Value[], type: number, f: (...xs: number[]) => number): Value {
  const dims = broadcastDims(inputs.map((v) => v.dims));
  const out = alloc(dims);
  const maps = inputs.map((v) => broadcastIndex(v.dims, dims));
  const xs = new Array<number>(inputs.length);
  for (let k = 0; k < out.length; k++) {
    for (let i = 0; i < inputs.length; i++) xs[i] = (inputs[i] as Value).data[(maps[i] as Int32Array)[k] as number] as number;
    out[k] = cast(f(...xs), type);
  }
  return { type, dims, data: out };
}

const normalize = (axis: number, rank: number): number => {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) throw new Error('axis out of range');
  return axis < 0 ? axis + rank : axis;
};

/** Values of an optional 1-D integer input, or of an attribute in older opsets. */
function listArg(node: NodeProto, inputs: readonly (Value | undefined)[], i: number, attr: string, fromInput: boolean): number[] | undefined {
  if (fromInput) {
    const v = inputs[i];
    return v ? Array.from(v.data) : undefined;
  }
  return attrInts(node, attr);
}

function reshape(x: Value, dims: number[]): Value {
  if (count(dims) !== count(x.dims)) throw new Error('reshape size mismatch');
  return { type: x.type, dims, data: x.data };
}

function slice(x: Value, starts: number[], ends: number[], axes: number[], steps: number[]): Value {
  const rank = x.dims.length;
  const begin = new Array<number>(rank).fill(0);
  const step = new Array<number>(rank).fill(1);
  const dims = [...x.dims];
  axes.forEach((a, k) => {
    const axis = normalize(a, rank);
    const d = x.dims[axis] as number;
    const st = steps[k] ?? 1;
    if (st === 0) throw new Error('zero step');
    let s = starts[k] as number;
    let e = ends[k] as number;
    s = s < 0 ? s + d : s;
    e = e < 0 ? e + d : e;
    if (st > 0) {
      s = Math.min(Math.max(s, 0), d);
      e = Math.min(Math.max(e, 0), d);
      dims[axis] = Math.max(0, Math.ceil((e - s) / st));
    } else {
      s = Math.min(Math.max(s, -1), d - 1);
      e = Math.min(Math.max(e, -1), d - 1);
      dims[axis] = Math.max(0, Math.ceil((s - e) / -st));
    }
    begin[axis] = s;
    step[axis] = st;
  });
  const out = alloc(dims);
  const xs = strides(x.dims);
  const os = strides(dims);
  for (let k = 0; k < out.length; k++) {
    let rest = k;
    let f = 0;
    for (let i = 0; i < rank; i++) {
      const q = Math.floor(rest / (os[i] as number));
      rest -= q * (os[i] as number);
      f += ((begin[i] as number) + q * (step[i] as number)) * (xs[i] as number);
    }
    out[k] = x.data[f] as number;
  }
  return { type: x.type, dims, data: out };
}

function gather(x: Value, indices: Value, axis0: number): Value {
  const rank = x.dims.length;
  const axis = normalize(axis0, rank);
  const size = x.dims[axis] as number;
  const outer = count(x.dims.slice(0, axis));
  const inner = count(x.dims.slice(axis + 1));
  const dims = [...x.dims.slice(0, axis), ...indices.dims, ...x.dims.slice(axis + 1)];
  const out = alloc(dims);
  const n = indices.data.length;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < n; j++) {
      let i = indices.data[j] as number;
      if (i < 0) i += size;
      if (i < 0 || i >= size) throw new Error('gather index out of range');
      for (let r = 0; r < inner; r++) out[(o * n + j) * inner + r] = x.data[(o * size + i) * inner + r] as number;
    }
  }
  return { type: x.type, dims, data: out };
}

function concat(values: readonly Value[], axis0: number): Value {
  const first = values[0] as Value;
  const rank = first.dims.length;
  const axis = normalize(axis0, rank);
  const dims = [...first.dims];
  dims[axis] = values.reduce((a, v) => a + (v.dims[axis] as number), 0);
  const out = alloc(dims);
  const outer = count(first.dims.slice(0, axis));
  let at = 0;
  for (let o = 0; o < outer; o++) {
    for (const v of values) {
      const block = count(v.dims.slice(axis));
      for (let r = 0; r < block; r++) out[at++] = v.data[o * block + r] as number;
    }
  }
  return { type: first.type, dims, data: out };
}

function transpose(x: Value, perm: readonly number[]): Value {
  const dims = perm.map((p) => x.dims[p] as number);
  const out = alloc(dims);
  const xs = strides(x.dims);
  const os = strides(dims);
  for (let k = 0; k < out.length; k++) {
    let rest = k;
    let f = 0;
    for (let i = 0; i < dims.length; i++) {
      const q = Math.floor(rest / (os[i] as number));
      rest -= q * (os[i] as number);
      f += q * (xs[perm[i] as number] as number);
    }
    out[k] = x.data[f] as number;
  }
  return { type: x.type, dims, data: out };
}

function reduce(x: Value, axes: number[] | undefined, keep: boolean, noop: boolean, init: number, f: (acc: number, v: number) => number, finish: (acc: number, n: number) => number = (a) => a): Value {
  const rank = x.dims.length;
  if ((!axes || axes.length === 0) && noop) return x;
  const list = axes && axes.length > 0 ? axes.map((a) => normalize(a, rank)) : x.dims.map((_, i) => i);
  const kept = x.dims.map((d, i) => (list.includes(i) ? 1 : d));
  const out = alloc(kept).fill(init);
  const n = count(x.dims) / Math.max(1, count(kept));
  const map = broadcastIndex(kept, x.dims);
  for (let k = 0; k < x.data.length; k++) out[map[k] as number] = f(out[map[k] as number] as number, x.data[k] as number);
  for (let k = 0; k < out.length; k++) out[k] = cast(finish(out[k] as number, n), x.type);
  return { type: x.type, dims: keep ? kept : x.dims.filter((_, i) => !list.includes(i)), data: out };
}

const unary = (f: (v: number) => number) => (_: NodeProto, [x]: readonly (Value | undefined)[]): Value[] => [elementwise([x as Value], (x as Value).type, f)];
const binary = (f: (a: number, b: number, type: number) => number, bool = false) => (_: NodeProto, [a, b]: readonly (Value | undefined)[]): Value[] => {
  const type = (a as Value).type;
  return [elementwise([a as Value, b as Value], bool ? DataType.BOOL : type, (x, y) => f(x, y, type))];
};
const variadic = (f: (a: number, b: number) => number) => (_: NodeProto, inputs: readonly (Value | undefined)[]): Value[] => {
  const vs = inputs.filter((v): v is Value => v !== undefined);
  const type = (vs[0] as Value).type;
  return [elementwise(vs, type, (...xs) => xs.reduce(f))];
};

/** An integer divisor (integer division by zero is undefined: such a node is left to the runtime). */
function nonZero(b: number): number {
  if (b === 0) throw new Error('integer division by zero');
  return b;
}

function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

type Evaluator = (node: NodeProto, inputs: readonly (Value | undefined)[], opset: number) => Value[];

const evaluators: Record<string, Evaluator> = {
  Identity: (_, [x]) => [x as Value],
  Cast: (node, [x]) => {
    const to = attrInt(node, 'to', DataType.FLOAT);
    if (!FOLDABLE.has(to)) throw new Error('unfoldable type');
    return [elementwise([x as Value], to, (v) => v)];
  },
  CastLike: (_, [x, like]) => [elementwise([x as Value], (like as Value).type, (v) => v)],
  Reshape: (node, [x, shape]) => {
    const target = Array.from((shape as Value).data);
    const allowZero = attrInt(node, 'allowzero', 0) === 1;
    const dims = target.map((d, i) => (d === 0 && !allowZero ? ((x as Value).dims[i] as number) : d));
    const neg = dims.indexOf(-1);
    if (neg >= 0) dims[neg] = count((x as Value).dims) / Math.max(1, count(dims.filter((_, i) => i !== neg)));
    return [reshape(x as Value, dims)];
  },
  Flatten: (node, [x]) => {
    const v = x as Value;
    const axis = attrInt(node, 'axis', 1);
    const a = axis < 0 ? axis + v.dims.length : axis;
    return [reshape(v, [count(v.dims.slice(0, a)), count(v.dims.slice(a))])];
  },
  Squeeze: (node, inputs, opset) => {
    const x = inputs[0] as Value;
    const axes = listArg(node, inputs, 1, 'axes', opset >= 13)?.map((a) => normalize(a, x.dims.length));
    return [reshape(x, x.dims.filter((d, i) => (axes ? !axes.includes(i) : d !== 1)))];
  },
  Unsqueeze: (node, inputs, opset) => {
    const x = inputs[0] as Value;
    const axes = listArg(node, inputs, 1, 'axes', opset >= 13) ?? [];
    const rank = x.dims.length + axes.length;
    const list = axes.map((a) => normalize(a, rank));
    const dims: number[] = [];
    let k = 0;
    for (let i = 0; i < rank; i++) dims.push(list.includes(i) ? 1 : (x.dims[k++] as number));
    return [reshape(x, dims)];
  },
  Concat: (node, inputs) => [concat(inputs.filter((v): v is Value => v !== undefined), attrInt(node, 'axis', 0))],
  Gather: (node, [x, i]) => [gather(x as Value, i as Value, attrInt(node, 'axis', 0))],
  Slice: (node, inputs, opset) => {
    const x = inputs[0] as Value;
    const fromInput = opset >= 10;
    const starts = listArg(node, inputs, 1, 'starts', fromInput) as number[];
    const ends = listArg(node, inputs, 2, 'ends', fromInput) as number[];
    const axes = listArg(node, inputs, 3, 'axes', fromInput) ?? starts.map((_, i) => i);
    const steps = (fromInput ? listArg(node, inputs, 4, 'steps', true) : undefined) ?? starts.map(() => 1);
    return [slice(x, starts, ends, axes, steps)];
  },
  Transpose: (node, [x]) => {
    const v = x as Value;
    return [transpose(v, attrInts(node, 'perm') ?? v.dims.map((_, i) => v.dims.length - 1 - i))];
  },
  Expand: (_, [x, shape]) => {
    const v = x as Value;
    const dims = broadcastDims([v.dims, Array.from((shape as Value).data)]);
    const out = alloc(dims);
    const map = broadcastIndex(v.dims, dims);
    for (let k = 0; k < out.length; k++) out[k] = v.data[map[k] as number] as number;
    return [{ type: v.type, dims, data: out }];
  },
  Tile: (_, [x, repeats]) => {
    const v = x as Value;
    const reps = Array.from((repeats as Value).data);
    const dims = v.dims.map((d, i) => d * (reps[i] as number));
    const out = alloc(dims);
    const os = strides(dims);
    const xs = strides(v.dims);
    for (let k = 0; k < out.length; k++) {
      let rest = k;
      let f = 0;
      for (let i = 0; i < dims.length; i++) {
        const q = Math.floor(rest / (os[i] as number));
        rest -= q * (os[i] as number);
        f += (q % (v.dims[i] as number)) * (xs[i] as number);
      }
      out[k] = v.data[f] as number;
    }
    return [{ type: v.type, dims, data: out }];
  },
  ConstantOfShape: (node, [shape]) => {
    const t = attribute(node, 'value')?.t;
    const type = t?.dataType ?? DataType.FLOAT;
    if (!FOLDABLE.has(type)) throw new Error('unfoldable type');
    const fill = t ? (tensorValues(t)[0] ?? 0) : 0;
    const dims = Array.from((shape as Value).data);
    return [{ type, dims, data: alloc(dims).fill(fill) }];
  },
  Range: (_, [start, limit, delta]) => {
    const [s, l, d] = [(start as Value).data[0] as number, (limit as Value).data[0] as number, (delta as Value).data[0] as number];
    if (d === 0) throw new Error('zero delta');
    const n = Math.max(0, Math.ceil((l - s) / d));
    const out = alloc([n]);
    for (let i = 0; i < n; i++) out[i] = cast(s + i * d, (start as Value).type);
    return [{ type: (start as Value).type, dims: [n], data: out }];
  },
  Where: (_, [c, a, b]) => [elementwise([c as Value, a as Value, b as Value], (a as Value).type, (cond, x, y) => (cond ? x : y))],
  Trilu: (node, [x, k]) => {
    const v = x as Value;
    const upper = attrInt(node, 'upper', 1) === 1;
    const shift = k ? ((k as Value).data[0] as number) : 0;
    const rows = v.dims[v.dims.length - 2] as number;
    const cols = v.dims[v.dims.length - 1] as number;
    const out = alloc(v.dims);
    for (let p = 0; p < out.length; p++) {
      const j = p % cols;
      const i = Math.floor(p / cols) % rows;
      const inside = upper ? j - i >= shift : j - i <= shift;
      out[p] = inside ? (v.data[p] as number) : 0;
    }
    return [{ type: v.type, dims: v.dims, data: out }];
  },
  Add: binary((a, b) => a + b),
  Sub: binary((a, b) => a - b),
  Mul: binary((a, b) => a * b),
  Div: binary((a, b, t) => (isInt(t) ? Math.trunc(a / nonZero(b)) : a / b)),
  Mod: (node, inputs) => {
    const fmod = attrInt(node, 'fmod', 0) === 1;
    return binary((a, b) => (fmod ? a % b : a - b * Math.floor(a / b)))(node, inputs);
  },
  Pow: (_, [a, b]) => [elementwise([a as Value, b as Value], (a as Value).type, (x, y) => x ** y)],
  Max: variadic((a, b) => Math.max(a, b)),
  Min: variadic((a, b) => Math.min(a, b)),
  Sum: variadic((a, b) => a + b),
  Equal: binary((a, b) => (a === b ? 1 : 0), true),
  Less: binary((a, b) => (a < b ? 1 : 0), true),
  LessOrEqual: binary((a, b) => (a <= b ? 1 : 0), true),
  Greater: binary((a, b) => (a > b ? 1 : 0), true),
  GreaterOrEqual: binary((a, b) => (a >= b ? 1 : 0), true),
  And: binary((a, b) => (a && b ? 1 : 0), true),
  Or: binary((a, b) => (a || b ? 1 : 0), true),
  Xor: binary((a, b) => (Boolean(a) !== Boolean(b) ? 1 : 0), true),
  Not: unary((v) => (v ? 0 : 1)),
  Neg: unary((v) => -v),
  Abs: unary(Math.abs),
  Sign: unary(Math.sign),
  Floor: unary(Math.floor),
  Ceil: unary(Math.ceil),
  Round: unary(roundHalfEven),
  Sqrt: unary(Math.sqrt),
  Reciprocal: unary((v) => 1 / v),
  Exp: unary(Math.exp),
  Log: unary(Math.log),
  Relu: unary((v) => Math.max(v, 0)),
  ReduceSum: (node, inputs, opset) => {
    const x = inputs[0] as Value;
    return [reduce(x, listArg(node, inputs, 1, 'axes', opset >= 13), attrInt(node, 'keepdims', 1) === 1, attrInt(node, 'noop_with_empty_axes', 0) === 1, 0, (a, v) => a + v)];
  },
  ReduceProd: (node, inputs, opset) => {
    const x = inputs[0] as Value;
    return [reduce(x, listArg(node, inputs, 1, 'axes', opset >= 18), attrInt(node, 'keepdims', 1) === 1, attrInt(node, 'noop_with_empty_axes', 0) === 1, 1, (a, v) => a * v)];
  },
  ReduceMax: (node, inputs, opset) => {
    const x = inputs[0] as Value;
    return [reduce(x, listArg(node, inputs, 1, 'axes', opset >= 18), attrInt(node, 'keepdims', 1) === 1, attrInt(node, 'noop_with_empty_axes', 0) === 1, -Infinity, Math.max)];
  },
  ReduceMin: (node, inputs, opset) => {
    const x = inputs[0] as Value;
    return [reduce(x, listArg(node, inputs, 1, 'axes', opset >= 18), attrInt(node, 'keepdims', 1) === 1, attrInt(node, 'noop_with_empty_axes', 0) === 1, Infinity, Math.min)];
  },
  ReduceMean: (node, inputs, opset) => {
    const x = inputs[0] as Value;
    return [reduce(x, listArg(node, inputs, 1, 'axes', opset >= 18), attrInt(node, 'keepdims', 1) === 1, attrInt(node, 'noop_with_empty_axes', 0) === 1, 0, (a, v) => a + v, (a, n) => a / n)];
  },
  Clip: (node, inputs, opset) => {
    const x = inputs[0] as Value;
    const lo = opset >= 11 ? (inputs[1]?.data[0] as number | undefined) : attrFloat(node, 'min', -Infinity);
    const hi = opset >= 11 ? (inputs[2]?.data[0] as number | undefined) : attrFloat(node, 'max', Infinity);
    return [elementwise([x], x.type, (v) => Math.min(Math.max(v, lo ?? -Infinity), hi ?? Infinity))];
  },
};

/** Operators the folding pass evaluates. */
export const foldableOps = (): string[] => [...Object.keys(evaluators), 'Constant', 'Shape', 'Size'].sort();

/**
 * Constant folding, interleaved with shape inference in one pass over the (topologically sorted) graph:
 * a node of the default domain whose inputs are all constants (initializers, `Constant` nodes, or
 * earlier folds) is evaluated here and becomes an initializer of the same name; `Shape` and `Size` fold
 * when their input's shape is fully known (as it is once the inputs are given concrete shapes). This turns
 * the shape arithmetic exporters emit (`Shape → Gather → Add → Div → Mul → Slice`, `ConstantOfShape`,
 * `Range`, masks from comparisons) into constants, so the backward rules see static bounds. Values over
 * {@link FOLD_LIMIT} elements, types other than plain numbers, and anything that fails to evaluate are
 * left to the runtime. Returns whether any node was folded.
 */
export function foldConstants(graph: Graph): boolean {
  const folded = new Set<NodeProto>();
  const opset = graph.opset;
  const constantValue = (name: string): Value | undefined => {
    if (!name) return undefined;
    const init = graph.initializers.get(name);
    if (!init || !FOLDABLE.has(init.dataType)) return undefined;
    if (count(init.dims.map(toNumber)) > FOLD_LIMIT) return undefined;
    try {
      const data = graph.constant(name);
      return data ? { type: init.dataType, dims: init.dims.map(toNumber), data } : undefined;
    } catch {
      return undefined;
    }
  };
  const record = (node: NodeProto, values: readonly Value[]): ValueMeta[] => {
    const tensors = values.map((v, k) => makeTensor(node.output[k] as string, v.type, v.dims, v.data));
    for (const t of tensors) {
      graph.graph.initializer.push(t);
      graph.initializers.set(t.name, t);
    }
    folded.add(node);
    return values.map((v) => ({
      elemType: v.type,
      shape: [...v.dims],
      value: (v.type === DataType.INT64 || v.type === DataType.INT32) && v.data.length <= 64 ? Array.from(v.data) : undefined,
    }));
  };
  const fold = (node: NodeProto, inferred: readonly ValueMeta[]): ValueMeta[] | undefined => {
    if (node.domain && node.domain !== 'ai.onnx') return undefined;
    if (node.output.length !== 1 || !node.output[0] || subgraphs(node).length > 0) return undefined;
    if (node.opType === 'Constant') return foldConstantNode(graph, node, folded);
    if (node.opType === 'Shape' || node.opType === 'Size') {
      const shape = graph.info(node.input[0] ?? '').shape;
      if (!shape || !shape.every((d): d is number => typeof d === 'number')) return undefined;
      if (node.opType === 'Size') return record(node, [{ type: DataType.INT64, dims: [], data: [count(shape)] }]);
      const clamp = (v: number): number => Math.min(Math.max(v < 0 ? v + shape.length : v, 0), shape.length);
      const dims = shape.slice(clamp(attrInt(node, 'start', 0)), clamp(attrInt(node, 'end', shape.length)));
      return record(node, [{ type: DataType.INT64, dims: [dims.length], data: dims }]);
    }
    const evaluate = evaluators[node.opType];
    const inputs = node.input.map((name) => (name ? constantValue(name) : undefined));
    if (evaluate && inputs[0] && !node.input.some((name, i) => name && !inputs[i])) {
      try {
        const out = evaluate(node, inputs, opset);
        if (out.every((v) => FOLDABLE.has(v.type) && v.data.length === count(v.dims))) return record(node, out);
      } catch {
        // Left to the runtime.
      }
    }
    // Shape arithmetic inference already resolved (Gather of a static dimension of a symbolic shape).
    const meta = inferred[0];
    const known = (d: Dim | undefined): d is number => typeof d === 'number';
    if (meta?.value && meta.shape && meta.shape.length <= 1 && meta.shape.every(known) && meta.value.every(known) && (meta.elemType === DataType.INT64 || meta.elemType === DataType.INT32)) {
      if (meta.value.length !== count(meta.shape as number[])) return undefined;
      return record(node, [{ type: meta.elemType, dims: meta.shape as number[], data: meta.value as number[] }]);
    }
    return undefined;
  };
  inferShapes(graph, fold);
  if (folded.size === 0) return false;
  graph.graph.node = graph.graph.node.filter((n) => !folded.has(n));
  graph.refresh();
  return true;
}

/** A `Constant` node becomes an initializer (its tensor moved, not decoded) when it holds a tensor. */
function foldConstantNode(graph: Graph, node: NodeProto, folded: Set<NodeProto>): ValueMeta[] | undefined {
  const name = node.output[0] as string;
  let t = attribute(node, 'value')?.t ?? undefined;
  if (!t) {
    const vi = attribute(node, 'value_int');
    const vis = attribute(node, 'value_ints');
    const vf = attribute(node, 'value_float');
    const vfs = attribute(node, 'value_floats');
    if (vi) t = makeTensor(name, DataType.INT64, [], [toNumber(vi.i)]);
    else if (vis) t = makeTensor(name, DataType.INT64, [vis.ints.length], vis.ints.map(toNumber));
    else if (vf) t = makeTensor(name, DataType.FLOAT, [], [vf.f]);
    else if (vfs) t = makeTensor(name, DataType.FLOAT, [vfs.floats.length], vfs.floats);
  }
  if (!t) return undefined;
  const moved: TensorProto = t;
  moved.name = name;
  graph.graph.initializer.push(moved);
  graph.initializers.set(name, moved);
  folded.add(node);
  const dims = moved.dims.map(toNumber);
  const small = (moved.dataType === DataType.INT64 || moved.dataType === DataType.INT32) && count(dims) <= 64;
  let value: Dim[] | undefined;
  if (small) {
    try {
      value = graph.constant(name);
    } catch {
      value = undefined;
    }
  }
  return [{ elemType: moved.dataType, shape: dims, value }];
}
