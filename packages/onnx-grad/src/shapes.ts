import { InvalidModelError } from './errors.js';
import { type Graph, metaOfValueInfo, type Dim, type ValueMeta } from './graph.js';
import { convTransposeAxis, poolOutputSize, samePoolPads } from './gradients/conv-geometry.js';
import { ELLIPSIS, labelDims, parseEinsum } from './gradients/einsum-equation.js';
import { resizeAxes, resizeScales } from './gradients/resize-geometry.js';
import { DataType, attrInt, attrInts, attrString, attribute, isFloatType, tensorValues, toNumber, type NodeProto } from './proto.js';

/** Everything a shape function sees of one node. */
interface ShapeContext {
  readonly node: NodeProto;
  readonly graph: Graph;
  /** Metadata of input `i` (empty for a missing optional input). */
  input(i: number): ValueMeta;
  /** Constant values of input `i`, or propagated integer values. */
  values(i: number): Dim[] | undefined;
  /** A fresh unknown dimension. */
  fresh(): string;
}

type ShapeFn = (ctx: ShapeContext) => ValueMeta[];

const same: ShapeFn = (c) => [{ ...c.input(0), value: undefined }];
const isNum = (d: Dim | undefined): d is number => typeof d === 'number';
/** A plausible rank (a shape tensor's length): dims of an untrusted file must not size arrays. */
const isRank = (d: Dim | undefined): d is number => typeof d === 'number' && Number.isInteger(d) && d >= 0 && d <= 64;

/**
 * Normalises a possibly negative axis, checking it against the rank (`[-rank, rank)`, or `[-rank, rank]`
 * with `inclusive`, as Flatten allows): axes come from an untrusted file and index arrays.
 */
export function normAxis(axis: number, rank: number, inclusive = false): number {
  const top = inclusive ? rank : rank - 1;
  if (!Number.isInteger(axis) || axis < -rank || axis > top) {
    throw new InvalidModelError(`Axis ${axis} is out of range for a tensor of rank ${rank}.`);
  }
  return axis < 0 ? axis + rank : axis;
}

/** Checks that `perm` is a permutation of `0 … rank−1` (a Transpose's `perm` attribute). */
export function checkPermutation(perm: readonly number[], rank: number): readonly number[] {
  const seen = new Set(perm);
  if (perm.length !== rank || seen.size !== rank || !perm.every((p) => Number.isInteger(p) && p >= 0 && p < rank)) {
    throw new InvalidModelError(`Transpose perm [${perm.join(', ')}] is not a permutation of the ${rank} axes.`);
  }
  return perm;
}

/** NumPy broadcast of symbolic shapes (a symbol against 1 gives the symbol). */
export function broadcast(shapes: (Dim[] | undefined)[], fresh: () => string): Dim[] | undefined {
  if (shapes.some((s) => s === undefined)) return undefined;
  const rank = Math.max(...shapes.map((s) => (s as Dim[]).length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const dims = shapes.map((s) => (s as Dim[])[(s as Dim[]).length - rank + i]).filter((d): d is Dim => d !== undefined && d !== 1);
    if (dims.length === 0) out.push(1);
    else if (dims.every((d) => d === dims[0])) out.push(dims[0] as Dim);
    else {
      const literal = dims.find(isNum);
      out.push(literal ?? fresh());
    }
  }
  return out;
}

function product(dims: Dim[], fresh: () => string): Dim {
  if (dims.every(isNum)) return dims.reduce((a, b) => a * b, 1);
  const symbols = dims.filter((d) => d !== 1);
  return symbols.length === 1 ? (symbols[0] as Dim) : fresh();
}

function arith(a: Dim, b: Dim, op: string, fresh: () => string): Dim {
  if (isNum(a) && isNum(b)) {
    switch (op) {
      case 'Add': return a + b;
      case 'Sub': return a - b;
      case 'Mul': return a * b;
      case 'Div': return Math.trunc(a / b);
    }
  }
  if (op === 'Mul' && a === 1) return b;
  if ((op === 'Mul' || op === 'Div') && b === 1) return a;
  return fresh();
}

function reduceShape(c: ShapeContext, axesFromInput: boolean): ValueMeta[] {
  const x = c.input(0);
  const keep = attrInt(c.node, 'keepdims', 1) === 1;
  const axes = axesFromInput ? c.values(1) : attrInts(c.node, 'axes');
  if (!x.shape) return [{ elemType: x.elemType }];
  const rank = x.shape.length;
  if (axes && !axes.every(isNum)) return [{ elemType: x.elemType, shape: keep ? x.shape.map(() => c.fresh()) : undefined }];
  const noop = attrInt(c.node, 'noop_with_empty_axes', 0) === 1;
  const list = axes && axes.length ? (axes as number[]).map((a) => normAxis(a, rank)) : noop ? [] : x.shape.map((_, i) => i);
  const shape = keep ? x.shape.map((d, i) => (list.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !list.includes(i));
  return [{ elemType: x.elemType, shape }];
}

function poolShape(c: ShapeContext): Dim[] | undefined {
  const x = c.input(0).shape;
  if (!x) return undefined;
  const spatial = x.length - 2;
  const kernel = attrInts(c.node, 'kernel_shape') ?? (c.node.opType === 'Conv' ? c.input(1).shape?.slice(2).map((d) => (isNum(d) ? d : NaN)) : undefined) ?? [];
  const strides = attrInts(c.node, 'strides') ?? new Array<number>(spatial).fill(1);
  const dil = attrInts(c.node, 'dilations') ?? new Array<number>(spatial).fill(1);
  const pads = attrInts(c.node, 'pads') ?? new Array<number>(2 * spatial).fill(0);
  const autoPad = attribute(c.node, 'auto_pad') ? new TextDecoder().decode(attribute(c.node, 'auto_pad')?.s) : 'NOTSET';
  const ceil = attrInt(c.node, 'ceil_mode', 0) === 1;
  const out: Dim[] = [x[0] as Dim, c.node.opType === 'Conv' ? (c.input(1).shape?.[0] ?? c.fresh()) : (x[1] as Dim)];
  for (let i = 0; i < spatial; i++) {
    const d = x[i + 2];
    const k = kernel[i] ?? NaN;
    const s = strides[i] ?? 1;
    if (!isNum(d) || Number.isNaN(k)) {
      out.push(c.fresh());
      continue;
    }
    const pooling = c.node.opType !== 'Conv';
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      if (!pooling) {
        out.push(Math.ceil(d / s));
        continue;
      }
      // ONNX Runtime's pooling kernels size SAME pads from the undilated kernel.
      const [head, tail] = samePoolPads(d, k, s, autoPad === 'SAME_LOWER');
      out.push(poolOutputSize(d, k, s, dil[i] ?? 1, head, tail, ceil));
      continue;
    }
    const [head, tail] = autoPad === 'VALID' ? [0, 0] : [pads[i] ?? 0, pads[i + spatial] ?? 0];
    if (pooling) out.push(poolOutputSize(d, k, s, dil[i] ?? 1, head, tail, ceil));
    else out.push(Math.floor((d + head + tail - ((dil[i] ?? 1) * (k - 1) + 1)) / s) + 1);
  }
  return out;
}

function sliceDims(c: ShapeContext, shape: Dim[], starts: number[], ends: number[], axes: number[], steps: number[]): Dim[] {
  const out = [...shape];
  axes.forEach((axis0, k) => {
    const axis = normAxis(axis0, shape.length);
    const d = shape[axis];
    const step = steps[k] ?? 1;
    if (!isNum(d)) {
      out[axis] = c.fresh();
      return;
    }
    const clamp = (v: number, lo: number, hi: number): number => Math.min(Math.max(v, lo), hi);
    let s = starts[k] as number;
    let e = ends[k] as number;
    s = s < 0 ? s + d : s;
    e = e < 0 ? e + d : e;
    if (step > 0) {
      s = clamp(s, 0, d);
      e = clamp(e, 0, d);
      out[axis] = Math.max(0, Math.ceil((e - s) / step));
    } else {
      s = clamp(s, 0, d - 1);
      e = clamp(e, -1, d - 1);
      out[axis] = Math.max(0, Math.ceil((s - e) / -step));
    }
  });
  return out;
}

const elementwise = ['Relu', 'LeakyRelu', 'Tanh', 'Sigmoid', 'Exp', 'Log', 'Sqrt', 'Neg', 'Erf', 'Abs', 'Clip', 'Identity',
  'Softmax', 'LogSoftmax', 'Floor', 'Ceil', 'Round', 'Sign', 'Reciprocal', 'HardSigmoid', 'HardSwish', 'Elu', 'Selu',
  'Softplus', 'Softsign', 'Sin', 'Cos', 'Celu', 'Gelu', 'BatchNormalization', 'InstanceNormalization', 'LRN',
  'LayerNormalization', 'Mish', 'PRelu', 'ThresholdedRelu'];

const rules: Record<string, ShapeFn> = {
  ...Object.fromEntries(elementwise.map((op) => [op, same])),
  Not: (c) => [{ elemType: DataType.BOOL, shape: c.input(0).shape }],
  IsNaN: (c) => [{ elemType: DataType.BOOL, shape: c.input(0).shape }],
  IsInf: (c) => [{ elemType: DataType.BOOL, shape: c.input(0).shape }],
  NonMaxSuppression: (c) => [{ elemType: DataType.INT64, shape: [c.fresh(), 3] }],
  Dropout: (c) => [{ ...c.input(0), value: undefined }, { elemType: DataType.BOOL, shape: c.input(0).shape }],
  GroupNormalization: same,
  LpNormalization: same,
  LayerNormalization: (c) => {
    const stats = statistics(c, attrInt(c.node, 'axis', -1), attrInt(c.node, 'stash_type', 1));
    return [{ ...c.input(0), value: undefined }, stats, stats];
  },
  // Shape-preserving operators of the ops-more rules (elementwise, normalisations, zero-gradient ones).
  ...Object.fromEntries(['Sinh', 'Cosh', 'Tan', 'Asin', 'Acos', 'Atan', 'Asinh', 'Acosh', 'Atanh', 'Shrink', 'Hardmax', 'MeanVarianceNormalization'].map((op) => [op, same])),
  ...Object.fromEntries(['RandomNormalLike', 'RandomUniformLike', 'Bernoulli', 'EyeLike'].map((op) => [op, (c: ShapeContext): ValueMeta[] => [{ elemType: attribute(c.node, 'dtype') ? attrInt(c.node, 'dtype', 1) : c.input(0).elemType, shape: c.input(0).shape }]])),
  LpPool: (c) => [{ elemType: c.input(0).elemType, shape: poolShape(c) }],
  GlobalLpPool: (c) => [{ elemType: c.input(0).elemType, shape: c.input(0).shape?.map((d, i) => (i < 2 ? d : 1)) }],
  // ONNX Runtime's RMSNorm (default domain): Y and inv_std_var (of type stash_type, float32 by default).
  SimplifiedLayerNormalization: (c) => [{ ...c.input(0), value: undefined }, statistics(c, attrInt(c.node, 'axis', -1), attrInt(c.node, 'stash_type', 1))],
  // com.microsoft contrib operators (keys are domain.type outside the default domain).
  'com.microsoft.Attention': (c) => {
    const x = c.input(0);
    const sizes = attrInts(c.node, 'qkv_hidden_sizes');
    const total = c.input(1).shape?.[1];
    const hv = sizes?.length === 3 ? sizes[2] : isNum(total) && total % 3 === 0 ? total / 3 : c.fresh();
    return [{ elemType: x.elemType, shape: x.shape?.length === 3 ? [x.shape[0] as Dim, x.shape[1] as Dim, hv as Dim] : undefined }];
  },
  'com.microsoft.BiasAdd': same,
  'com.microsoft.BiasGelu': same,
  'com.microsoft.FastGelu': same,
  'com.microsoft.Gelu': same,
  'com.microsoft.QuickGelu': same,
  'com.microsoft.SkipLayerNormalization': (c) => {
    const stats = statistics(c, -1, DataType.FLOAT);
    const y = { ...c.input(0), value: undefined };
    return [y, stats, stats, y];
  },
  'com.microsoft.SkipSimplifiedLayerNormalization': (c) => {
    const stats = statistics(c, -1, DataType.FLOAT);
    const y = { ...c.input(0), value: undefined };
    return [y, stats, stats, y];
  },
  'com.microsoft.RotaryEmbedding': same,
  'com.microsoft.MultiHeadAttention': (c) => multiHeadAttentionShape(c),
  'com.microsoft.GroupQueryAttention': (c) => groupQueryAttentionShape(c),
  Cast: (c) => [{ elemType: attrInt(c.node, 'to', 1), shape: c.input(0).shape, value: c.values(0) }],
  CastLike: (c) => [{ elemType: c.input(1).elemType, shape: c.input(0).shape, value: c.values(0) }],
  QuantizeLinear: (c) => [{ elemType: c.input(2).elemType ?? (attrInt(c.node, 'output_dtype', 0) || DataType.UINT8), shape: c.input(0).shape }],
  DequantizeLinear: (c) => [{ elemType: c.input(1).elemType, shape: c.input(0).shape }],
  DynamicQuantizeLinear: (c) => [{ elemType: DataType.UINT8, shape: c.input(0).shape }, { elemType: DataType.FLOAT, shape: [] }, { elemType: DataType.UINT8, shape: [] }],
  Shape: (c) => {
    const s = c.input(0).shape;
    const rank = s?.length;
    const start = attrInt(c.node, 'start', 0);
    const end = attrInt(c.node, 'end', rank ?? 0);
    // Shape's start and end are clamped to [0, rank], not checked.
    const clamp = (v: number, r: number): number => Math.min(Math.max(v < 0 ? v + r : v, 0), r);
    const value = s ? s.slice(clamp(start, s.length), clamp(end, s.length)) : undefined;
    return [{ elemType: DataType.INT64, shape: value ? [value.length] : [c.fresh()], value }];
  },
  Size: (c) => [{ elemType: DataType.INT64, shape: [], value: c.input(0).shape ? [product(c.input(0).shape as Dim[], () => c.fresh())] : undefined }],
  Constant: (c) => {
    const t = attribute(c.node, 'value')?.t;
    if (t) {
      const dims = t.dims.map(toNumber);
      const count = dims.reduce((a, b) => a * b, 1);
      return [{ elemType: t.dataType, shape: dims, value: count <= 64 && t.dataType !== DataType.FLOAT ? tensorValues(t) : count <= 64 ? tensorValues(t) : undefined }];
    }
    const vals = c.graph.constant(c.node.output[0] as string);
    const isFloat = Boolean(attribute(c.node, 'value_float') || attribute(c.node, 'value_floats'));
    const scalar = Boolean(attribute(c.node, 'value_float') || attribute(c.node, 'value_int'));
    return [{ elemType: isFloat ? DataType.FLOAT : DataType.INT64, shape: scalar ? [] : [vals?.length ?? c.fresh()], value: vals }];
  },
  ConstantOfShape: (c) => {
    const t = attribute(c.node, 'value')?.t;
    const shape = c.values(0);
    return [{ elemType: t?.dataType ?? DataType.FLOAT, shape: shape ? [...shape] : undefined }];
  },
  Gemm: (c) => {
    const a = c.input(0).shape;
    const b = c.input(1).shape;
    const m = a ? (attrInt(c.node, 'transA', 0) ? a[1] : a[0]) : undefined;
    const n = b ? (attrInt(c.node, 'transB', 0) ? b[0] : b[1]) : undefined;
    return [{ elemType: c.input(0).elemType, shape: [m ?? c.fresh(), n ?? c.fresh()] }];
  },
  MatMul: (c) => {
    const a = c.input(0).shape;
    const b = c.input(1).shape;
    if (!a || !b) return [{ elemType: c.input(0).elemType }];
    const a2 = a.length === 1 ? [1, a[0] as Dim] : a;
    const b2 = b.length === 1 ? [b[0] as Dim, 1] : b;
    const batch = broadcast([a2.slice(0, -2), b2.slice(0, -2)], () => c.fresh()) ?? [];
    const shape = [...batch, ...(a.length === 1 ? [] : [a2[a2.length - 2] as Dim]), ...(b.length === 1 ? [] : [b2[b2.length - 1] as Dim])];
    return [{ elemType: c.input(0).elemType, shape }];
  },
  Conv: (c) => [{ elemType: c.input(0).elemType, shape: poolShape(c) }],
  MaxPool: (c) => {
    const shape = poolShape(c);
    return [{ elemType: c.input(0).elemType, shape }, { elemType: DataType.INT64, shape }];
  },
  AveragePool: (c) => [{ elemType: c.input(0).elemType, shape: poolShape(c) }],
  GlobalAveragePool: (c) => [{ elemType: c.input(0).elemType, shape: c.input(0).shape?.map((d, i) => (i < 2 ? d : 1)) }],
  GlobalMaxPool: (c) => [{ elemType: c.input(0).elemType, shape: c.input(0).shape?.map((d, i) => (i < 2 ? d : 1)) }],
  Flatten: (c) => {
    const s = c.input(0).shape;
    if (!s) return [{ elemType: c.input(0).elemType, shape: [c.fresh(), c.fresh()] }];
    const axis = normAxis(attrInt(c.node, 'axis', 1), s.length, true);
    return [{ elemType: c.input(0).elemType, shape: [product(s.slice(0, axis), () => c.fresh()), product(s.slice(axis), () => c.fresh())] }];
  },
  Reshape: (c) => {
    const x = c.input(0);
    const target = c.values(1);
    const targetShape = c.input(1).shape;
    if (!target) {
      const len = targetShape?.[0];
      return [{ elemType: x.elemType, shape: isRank(len) ? Array.from({ length: len }, () => c.fresh()) : undefined }];
    }
    const allowZero = attrInt(c.node, 'allowzero', 0) === 1;
    const shape = target.map((d, i) => (d === 0 && !allowZero ? (x.shape?.[i] ?? c.fresh()) : d));
    const neg = shape.indexOf(-1);
    if (neg >= 0) {
      const known = shape.filter((_, i) => i !== neg);
      const total = x.shape ? product(x.shape, () => c.fresh()) : c.fresh();
      const rest = product(known, () => c.fresh());
      shape[neg] = isNum(total) && isNum(rest) ? total / rest : total === rest ? 1 : sameSymbols(x.shape, known) ?? c.fresh();
    }
    return [{ elemType: x.elemType, shape, value: x.value && shape.length <= 1 ? x.value : undefined }];
  },
  Transpose: (c) => {
    const s = c.input(0).shape;
    if (!s) return [{ elemType: c.input(0).elemType }];
    const perm = checkPermutation(attrInts(c.node, 'perm') ?? s.map((_, i) => s.length - 1 - i), s.length);
    return [{ elemType: c.input(0).elemType, shape: perm.map((p) => s[p] as Dim) }];
  },
  Concat: (c) => {
    const inputs = c.node.input.map((_, i) => c.input(i));
    const first = inputs.find((m) => m.shape)?.shape;
    if (!first) return [{ elemType: inputs[0]?.elemType }];
    const axis = normAxis(attrInt(c.node, 'axis', 0), first.length);
    const shape = [...first];
    const sizes = inputs.map((m) => m.shape?.[axis]);
    shape[axis] = sizes.every(isNum) ? (sizes as number[]).reduce((a, b) => a + b, 0) : c.fresh();
    const values = c.node.input.map((_, i) => c.values(i));
    const value = first.length === 1 && values.every((v) => v !== undefined) ? values.flat() : undefined;
    return [{ elemType: inputs[0]?.elemType, shape, value }];
  },
  Split: (c) => {
    const x = c.input(0);
    const n = c.node.output.length;
    if (!x.shape) return c.node.output.map(() => ({ elemType: x.elemType }));
    const axis = normAxis(attrInt(c.node, 'axis', 0), x.shape.length);
    const split = c.graph.opset >= 13 ? c.values(1) : attrInts(c.node, 'split');
    const d = x.shape[axis];
    // Without sizes: equal parts; from opset 18 (num_outputs) the last part is smaller when d is uneven.
    const parts = attrInt(c.node, 'num_outputs', n);
    const chunk = isNum(d) ? Math.ceil(d / parts) : undefined;
    return c.node.output.map((_, k) => {
      const shape = [...x.shape as Dim[]];
      shape[axis] = split ? (split[k] as Dim) : chunk !== undefined && isNum(d) ? (k === n - 1 ? d - chunk * (n - 1) : chunk) : c.fresh();
      return { elemType: x.elemType, shape };
    });
  },
  Slice: (c) => {
    const x = c.input(0);
    if (!x.shape) return [{ elemType: x.elemType }];
    const opsetInputs = c.graph.opset >= 10;
    const starts = opsetInputs ? c.values(1) : attrInts(c.node, 'starts');
    const ends = opsetInputs ? c.values(2) : attrInts(c.node, 'ends');
    const axes = (opsetInputs ? c.values(3) : attrInts(c.node, 'axes')) ?? starts?.map((_, i) => i);
    const steps = (opsetInputs ? c.values(4) : undefined) ?? starts?.map(() => 1);
    if (!starts || !ends || !axes || !steps || ![...starts, ...ends, ...axes, ...steps].every(isNum)) {
      return [{ elemType: x.elemType, shape: x.shape.map((d, i) => (axes && axes.every(isNum) && !(axes as number[]).map((a) => normAxis(a, x.shape!.length)).includes(i) ? d : c.fresh())) }];
    }
    const shape = sliceDims(c, x.shape, starts as number[], ends as number[], axes as number[], steps as number[]);
    let value: Dim[] | undefined;
    if (x.value && x.shape.length === 1 && shape[0] !== undefined && isNum(shape[0])) {
      const [s0, e0, st] = [starts[0] as number, ends[0] as number, steps[0] as number];
      const len = x.value.length;
      const s = Math.min(Math.max(s0 < 0 ? s0 + len : s0, 0), len);
      const e = Math.min(Math.max(e0 < 0 ? e0 + len : e0, 0), len);
      value = st === 1 ? x.value.slice(s, e) : undefined;
    }
    return [{ elemType: x.elemType, shape, value }];
  },
  Gather: (c) => {
    const x = c.input(0);
    const idx = c.input(1);
    if (!x.shape || !idx.shape) return [{ elemType: x.elemType }];
    const axis = normAxis(attrInt(c.node, 'axis', 0), x.shape.length);
    const shape = [...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)];
    const iv = c.values(1);
    let value: Dim[] | undefined;
    if (x.value && iv && x.shape.length === 1) {
      const picked = (iv as number[]).map((i) => x.value?.[normAxis(i, x.value.length)]);
      if (picked.every((v) => v !== undefined)) value = picked as Dim[];
    }
    return [{ elemType: x.elemType, shape, value }];
  },
  GatherElements: (c) => [{ elemType: c.input(0).elemType, shape: c.input(1).shape }],
  GatherND: (c) => {
    const [x, idx] = [c.input(0).shape, c.input(1).shape];
    const m = idx?.[idx.length - 1];
    const b = attrInt(c.node, 'batch_dims', 0);
    // Output: indices.shape[:-1] + data.shape[b + m:].
    if (!x || !idx || !isNum(m) || b + m > x.length) return [{ elemType: c.input(0).elemType }];
    return [{ elemType: c.input(0).elemType, shape: [...idx.slice(0, -1), ...x.slice(b + m)] }];
  },
  ScatterND: same,
  ScatterElements: same,
  Trilu: same,
  CumSum: same,
  TopK: (c) => {
    const x = c.input(0).shape;
    const k = c.graph.opset >= 10 ? c.values(1)?.[0] : attrInt(c.node, 'k', -1);
    const shape = x ? [...x] : undefined;
    if (shape) shape[normAxis(attrInt(c.node, 'axis', -1), shape.length)] = k !== undefined && k !== -1 ? k : c.fresh();
    return [{ elemType: c.input(0).elemType, shape }, { elemType: DataType.INT64, shape }];
  },
  Einsum: (c) => {
    const eq = parseEinsum(attribute(c.node, 'equation') ? new TextDecoder().decode(attribute(c.node, 'equation')?.s) : '', c.node.input.length);
    const shapes = c.node.input.map((_, i) => c.input(i).shape);
    if (shapes.some((s) => !s)) return [{ elemType: c.input(0).elemType }];
    const dims = eq.inputs.map((t, i) => labelDims(t, shapes[i] as Dim[]));
    const size = (t: string): Dim => broadcast(dims.flatMap((d) => (d.labels.has(t) ? [[d.labels.get(t) as Dim]] : [])), () => c.fresh())?.[0] ?? c.fresh();
    const ellipsis = broadcast(dims.filter((_, i) => eq.inputs[i]?.includes(ELLIPSIS)).map((d) => d.ellipsis), () => c.fresh()) ?? [];
    return [{ elemType: c.input(0).elemType, shape: eq.output.flatMap((t) => (t === ELLIPSIS ? ellipsis : [size(t)])) }];
  },
  NonZero: (c) => [{ elemType: DataType.INT64, shape: [c.input(0).shape?.length ?? c.fresh(), c.fresh()] }],
  ReduceMean: (c) => reduceShape(c, c.graph.opset >= 18),
  ReduceSum: (c) => reduceShape(c, c.graph.opset >= 13),
  ReduceMax: (c) => reduceShape(c, c.graph.opset >= 18),
  ReduceMin: (c) => reduceShape(c, c.graph.opset >= 18),
  ReduceProd: (c) => reduceShape(c, c.graph.opset >= 18),
  ReduceL1: (c) => reduceShape(c, c.graph.opset >= 18),
  ReduceL2: (c) => reduceShape(c, c.graph.opset >= 18),
  ReduceLogSumExp: (c) => reduceShape(c, c.graph.opset >= 18),
  ReduceSumSquare: (c) => reduceShape(c, c.graph.opset >= 18),
  ArgMax: (c) => reduceArg(c),
  ArgMin: (c) => reduceArg(c),
  Squeeze: (c) => {
    const x = c.input(0);
    const axes = c.graph.opset >= 13 ? c.values(1) : attrInts(c.node, 'axes');
    if (!x.shape) return [{ elemType: x.elemType }];
    const rank = x.shape.length;
    const list = axes ? (axes as number[]).map((a) => normAxis(a, rank)) : x.shape.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0);
    const value = x.value && rank <= 1 ? x.value : undefined;
    return [{ elemType: x.elemType, shape: x.shape.filter((_, i) => !list.includes(i)), value }];
  },
  Unsqueeze: (c) => {
    const x = c.input(0);
    const axes = c.graph.opset >= 13 ? c.values(1) : attrInts(c.node, 'axes');
    if (!x.shape || !axes || !axes.every(isNum)) return [{ elemType: x.elemType }];
    const rank = x.shape.length + axes.length;
    const list = (axes as number[]).map((a) => normAxis(a, rank));
    const shape: Dim[] = [];
    let k = 0;
    for (let i = 0; i < rank; i++) shape.push(list.includes(i) ? 1 : (x.shape[k++] as Dim));
    return [{ elemType: x.elemType, shape, value: x.value && x.shape.length === 0 ? x.value : x.value && rank <= 1 ? x.value : undefined }];
  },
  Expand: (c) => {
    const target = c.values(1);
    const x = c.input(0);
    const tshape = target ?? (isRank(c.input(1).shape?.[0]) ? Array.from({ length: c.input(1).shape?.[0] as number }, () => c.fresh()) : undefined);
    return [{ elemType: x.elemType, shape: tshape ? broadcast([x.shape, tshape], () => c.fresh()) : undefined }];
  },
  Tile: (c) => {
    const x = c.input(0);
    const reps = c.values(1);
    return [{ elemType: x.elemType, shape: x.shape?.map((d, i) => (isNum(d) && isNum(reps?.[i]) ? d * (reps?.[i] as number) : reps?.[i] === 1 ? d : c.fresh())) }];
  },
  Where: (c) => [{ elemType: c.input(1).elemType, shape: broadcast([c.input(0).shape, c.input(1).shape, c.input(2).shape], () => c.fresh()) }],
  Range: (c) => [{ elemType: c.input(0).elemType, shape: [c.fresh()] }],
  OneHot: (c) => {
    const idx = c.input(0).shape;
    const depth = c.values(1)?.[0] ?? c.fresh();
    if (!idx) return [{ elemType: c.input(2).elemType }];
    const axis = normAxis(attrInt(c.node, 'axis', -1), idx.length + 1);
    const shape = [...idx];
    shape.splice(axis, 0, depth);
    return [{ elemType: c.input(2).elemType, shape }];
  },
  Pad: (c) => {
    const x = c.input(0);
    const raw = c.graph.opset >= 11 ? c.values(1) : attrInts(c.node, 'pads');
    if (!x.shape) return [{ elemType: x.elemType }];
    const r = x.shape.length;
    const given = c.graph.opset >= 18 && c.node.input[3] ? c.values(3) : undefined;
    if (c.graph.opset >= 18 && c.node.input[3] && (!given || !given.every(isNum))) return [{ elemType: x.elemType, shape: x.shape.map(() => c.fresh()) }];
    const axes = given ? (given as number[]).map((a) => normAxis(a, r)) : x.shape.map((_, i) => i);
    const n = axes.length;
    return [{
      elemType: x.elemType,
      shape: x.shape.map((d, i) => {
        const k = axes.indexOf(i);
        if (k < 0) return d;
        const [b, e] = [raw?.[k], raw?.[k + n]];
        if (b === 0 && e === 0) return d;
        return isNum(d) && isNum(b) && isNum(e) ? d + b + e : c.fresh();
      }),
    }];
  },
  Resize: (c) => {
    const x = c.input(0);
    if (!x.shape) return [{ elemType: x.elemType }];
    const opset = c.graph.opset;
    const legacy = opset < 11;
    const scales = c.values(legacy ? 1 : 2);
    const sizes = legacy ? undefined : c.values(3);
    const axes = resizeAxes(opset >= 18 ? attrInts(c.node, 'axes') : undefined, x.shape.length);
    const policy = opset >= 18 ? attrString(c.node, 'keep_aspect_ratio_policy', 'stretch') : 'stretch';
    // ONNX Runtime leaves negative axes out of the aspect-ratio policy: sizes not inferred.
    const negative = policy !== 'stretch' && attrInts(c.node, 'axes')?.some((a) => a < 0);
    return [{ elemType: x.elemType, shape: resizedShape(c, x.shape, scales, sizes, negative ? undefined : axes, policy) }];
  },
  Upsample: (c) => {
    const x = c.input(0);
    if (!x.shape) return [{ elemType: x.elemType }];
    const scales = c.node.input[1] ? c.values(1) : attribute(c.node, 'scales')?.floats.map(Number);
    return [{ elemType: x.elemType, shape: resizedShape(c, x.shape, scales, undefined, x.shape.map((_, i) => i), 'stretch') }];
  },
  ConvTranspose: (c) => {
    const x = c.input(0).shape;
    const w = c.input(1).shape;
    if (!x) return [{ elemType: c.input(0).elemType }];
    const n = x.length - 2;
    const kernel = attrInts(c.node, 'kernel_shape') ?? w?.slice(2);
    const ones = new Array<number>(n).fill(1);
    const strides = attrInts(c.node, 'strides') ?? ones;
    const dilations = attrInts(c.node, 'dilations') ?? ones;
    const adj = attrInts(c.node, 'output_padding') ?? new Array<number>(n).fill(0);
    const pads = attrInts(c.node, 'pads') ?? new Array<number>(2 * n).fill(0);
    const autoPad = attrString(c.node, 'auto_pad', 'NOTSET');
    const outputShape = attrInts(c.node, 'output_shape');
    const given = outputShape && outputShape.length > 0 ? outputShape.slice(outputShape.length - n) : undefined;
    const group = attrInt(c.node, 'group', 1);
    const m = w?.[1];
    const shape: Dim[] = [x[0] as Dim, isNum(m) ? m * group : c.fresh()];
    for (let i = 0; i < n; i++) {
      const d = x[i + 2];
      const k = kernel?.[i];
      if (!isNum(k)) {
        shape.push(given?.[i] ?? c.fresh());
        continue;
      }
      const axis = convTransposeAxis(isNum(d) ? d : undefined, k, strides[i] ?? 1, dilations[i] ?? 1, adj[i] ?? 0, autoPad, [pads[i] ?? 0, pads[i + n] ?? 0], given?.[i]);
      shape.push(axis.out ?? c.fresh());
    }
    return [{ elemType: c.input(0).elemType, shape }];
  },
  DepthToSpace: (c) => {
    const x = c.input(0);
    const b = attrInt(c.node, 'blocksize', 1);
    const s = x.shape;
    if (!s || s.length !== 4) return [{ elemType: x.elemType, shape: s?.map(() => c.fresh()) }];
    const scaled = (d: Dim | undefined, f: (v: number) => number): Dim => (isNum(d) ? f(d) : b === 1 ? (d as Dim) : c.fresh());
    return [{ elemType: x.elemType, shape: [s[0] as Dim, scaled(s[1], (v) => v / (b * b)), scaled(s[2], (v) => v * b), scaled(s[3], (v) => v * b)] }];
  },
  SpaceToDepth: (c) => {
    const x = c.input(0);
    const b = attrInt(c.node, 'blocksize', 1);
    const s = x.shape;
    if (!s || s.length !== 4) return [{ elemType: x.elemType, shape: s?.map(() => c.fresh()) }];
    const scaled = (d: Dim | undefined, f: (v: number) => number): Dim => (isNum(d) ? f(d) : b === 1 ? (d as Dim) : c.fresh());
    return [{ elemType: x.elemType, shape: [s[0] as Dim, scaled(s[1], (v) => v * b * b), scaled(s[2], (v) => Math.floor(v / b)), scaled(s[3], (v) => Math.floor(v / b))] }];
  },
};

/**
 * The saved statistics of a layer normalisation (Mean, InvStdDev): shaped like input 0 with the normalised
 * axes [axis, rank) kept as 1, of element type `stash` (float32 unless another float type is named).
 */
function statistics(c: ShapeContext, axis: number, stash: number): ValueMeta {
  const elemType = stash === DataType.DOUBLE || stash === DataType.FLOAT16 || stash === DataType.BFLOAT16 ? stash : DataType.FLOAT;
  const x = c.input(0).shape;
  if (!x) return { elemType };
  const first = normAxis(axis, x.length);
  return { elemType, shape: x.map((d, i) => (i < first ? d : 1)) };
}

/**
 * com.microsoft MultiHeadAttention: output (B, S, Dv), present_key (B, N, T, H), present_value (B, N, T, Hv)
 * and qk (B, N, S, T), T = past + L; key and value (B, L, D) or per head (B, N, L, H).
 */
function multiHeadAttentionShape(c: ShapeContext): ValueMeta[] {
  const [q, k, v, past] = [c.input(0), c.input(1), c.input(2), c.input(6)];
  const type = q.elemType;
  const heads = attrInt(c.node, 'num_heads', 0);
  const qs = q.shape?.length === 3 ? q.shape : undefined;
  const perHead = k.shape?.length === 4;
  const d = qs?.[2];
  const dv = v.shape?.length === 4 ? (isNum(v.shape[1]) && isNum(v.shape[3]) ? v.shape[1] * v.shape[3] : c.fresh()) : (v.shape?.[2] ?? (c.node.input[2] ? c.fresh() : d));
  const div = (x: Dim | undefined): Dim => (isNum(x) && heads > 0 && x % heads === 0 ? x / heads : c.fresh());
  const [b, s] = [qs?.[0] ?? c.fresh(), qs?.[1] ?? c.fresh()];
  const l = perHead ? k.shape?.[2] : k.shape?.[1];
  const pastLength = past.shape?.length === 4 ? past.shape[2] : c.node.input[6] ? undefined : 0;
  const t: Dim = isNum(l) && isNum(pastLength) ? l + pastLength : pastLength === 0 && l !== undefined ? l : c.fresh();
  const nh: Dim = heads > 0 ? heads : c.fresh();
  return [
    { elemType: type, shape: [b, s, dv ?? c.fresh()] },
    { elemType: type, shape: [b, nh, t, div(d)] },
    { elemType: type, shape: [b, nh, t, div(dv)] },
    { elemType: type, shape: [b, nh, s, t] },
  ];
}

/**
 * com.microsoft GroupQueryAttention: output (B, S, N·H), present_key and present_value (B, Nk, T, H) (T = S
 * without past state, else unknown here) and output_qk (B, N, S, T); H from the query's width (N·H, or
 * (N + 2·Nk)·H when Q, K and V are packed).
 */
function groupQueryAttentionShape(c: ShapeContext): ValueMeta[] {
  const q = c.input(0);
  const type = q.elemType;
  const [heads, kvHeads] = [attrInt(c.node, 'num_heads', 0), attrInt(c.node, 'kv_num_heads', 0)];
  const qs = q.shape?.length === 3 ? q.shape : undefined;
  const [b, s, width] = [qs?.[0] ?? c.fresh(), qs?.[1] ?? c.fresh(), qs?.[2]];
  const slots = c.node.input[1] ? heads : heads + 2 * kvHeads;
  const h = isNum(width) && slots > 0 && width % slots === 0 ? width / slots : undefined;
  const pastLength = c.node.input[3] ? c.input(3).shape?.[2] : 0;
  const t: Dim = pastLength === 0 ? s : c.fresh();
  const present = { elemType: type, shape: [b, kvHeads > 0 ? kvHeads : c.fresh(), t, h ?? c.fresh()] };
  return [
    { elemType: type, shape: [b, s, h !== undefined && heads > 0 ? heads * h : c.fresh()] },
    present,
    { ...present, shape: [...present.shape] },
    { elemType: type, shape: [b, heads > 0 ? heads : c.fresh(), s, t] },
  ];
}

/** Output dims of a Resize/Upsample from constant scales or sizes (symbols where they depend on unknown dims). */
function resizedShape(c: ShapeContext, x: Dim[], scales: Dim[] | undefined, sizes: Dim[] | undefined, axes: number[] | undefined, policy: string): Dim[] {
  const unknown = (): Dim[] => x.map(() => c.fresh());
  if (!axes) return unknown();
  const numeric = (v: Dim[] | undefined): number[] | undefined => (v && v.length > 0 && v.every(isNum) ? (v as number[]) : undefined);
  if (sizes && sizes.length > 0 && !sizes.every(isNum)) {
    // Sizes from shape arithmetic: with the stretch policy they are the output dims.
    if (policy !== 'stretch' || sizes.length !== axes.length) return unknown();
    return x.map((d, i) => (axes.includes(i) ? (sizes[axes.indexOf(i)] as Dim) : d));
  }
  try {
    const { out } = resizeScales(x, numeric(scales), numeric(sizes), axes, policy);
    return out.map((d) => d ?? c.fresh());
  } catch {
    return unknown();
  }
}

function sameSymbols(full: Dim[] | undefined, known: Dim[]): Dim | undefined {
  if (!full) return undefined;
  const rest = [...full];
  for (const d of known) {
    const i = rest.indexOf(d);
    if (i < 0) return undefined;
    rest.splice(i, 1);
  }
  return rest.length === 1 ? rest[0] : rest.every(isNum) ? rest.reduce((a, b) => (a as number) * (b as number), 1) : undefined;
}

function reduceArg(c: ShapeContext): ValueMeta[] {
  const x = c.input(0).shape;
  if (!x) return [{ elemType: DataType.INT64 }];
  const axis = normAxis(attrInt(c.node, 'axis', 0), x.length);
  const keep = attrInt(c.node, 'keepdims', 1) === 1;
  return [{ elemType: DataType.INT64, shape: keep ? x.map((d, i) => (i === axis ? 1 : d)) : x.filter((_, i) => i !== axis) }];
}

/**
 * LSTM, GRU and RNN outputs: Y is [seq, directions, batch, hidden] and Y_h (and the LSTM's Y_c) are
 * [directions, batch, hidden]; with layout 1 (opset 14) [batch, seq, directions, hidden] and
 * [batch, directions, hidden]. The hidden size is the attribute, or W's rows over the number of gates.
 */
function recurrentShape(gates: number, states: number): ShapeFn {
  return (c) => {
    const x = c.input(0);
    const w = c.input(1).shape;
    const layout = c.graph.opset >= 14 ? attrInt(c.node, 'layout', 0) : 0;
    const direction = attribute(c.node, 'direction') ? new TextDecoder().decode(attribute(c.node, 'direction')?.s) : 'forward';
    const dirs = direction === 'bidirectional' ? 2 : 1;
    const rows = w?.[1];
    const hidden: Dim = attribute(c.node, 'hidden_size') ? attrInt(c.node, 'hidden_size', 0) : isNum(rows) ? rows / gates : c.fresh();
    const xs = x.shape?.length === 3 ? x.shape : undefined;
    const [seq, batch]: [Dim, Dim] = xs ? (layout === 1 ? [xs[1] as Dim, xs[0] as Dim] : [xs[0] as Dim, xs[1] as Dim]) : [c.fresh(), c.fresh()];
    const y: Dim[] = layout === 1 ? [batch, seq, dirs, hidden] : [seq, dirs, batch, hidden];
    const state: Dim[] = layout === 1 ? [batch, dirs, hidden] : [dirs, batch, hidden];
    return [{ elemType: x.elemType, shape: y }, ...Array.from({ length: states }, () => ({ elemType: x.elemType, shape: [...state] }))];
  };
}
rules.LSTM = recurrentShape(4, 2);
rules.GRU = recurrentShape(3, 1);
rules.RNN = recurrentShape(1, 1);

const binary = ['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum', 'Mean', 'Mod', 'BitShift'];
const compare = ['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or', 'Xor'];
for (const op of [...binary, ...compare]) {
  rules[op] = (c) => {
    const ins = c.node.input.map((_, i) => c.input(i));
    const shape = broadcast(ins.map((m) => m.shape), () => c.fresh());
    let value: Dim[] | undefined;
    if (['Add', 'Sub', 'Mul', 'Div'].includes(op) && shape && shape.length <= 1) {
      const a = c.values(0);
      const b = c.values(1);
      if (a && b && a.length > 0 && b.length > 0) {
        const n = Math.max(a.length, b.length);
        value = Array.from({ length: n }, (_, i) => arith(a[a.length === 1 ? 0 : i] as Dim, b[b.length === 1 ? 0 : i] as Dim, op, () => c.fresh()));
      }
    }
    return [{ elemType: compare.includes(op) ? DataType.BOOL : ins[0]?.elemType, shape, value }];
  };
}

/**
 * An operator inference does not know: outputs are assumed to have the element type of a floating-point
 * first input (shapes unknown), so that a path through it is seen as differentiable and an operator
 * without a rule is named rather than silently cut.
 */
const unknownOp: ShapeFn = (c) => {
  const t = c.input(0).elemType;
  return isFloatType(t) ? c.node.output.map(() => ({ elemType: t })) : [];
};

/**
 * Infers element types and (symbolic) shapes of every tensor of the graph, in node order. `fold`, when
 * given, is offered each node first: when it returns the node's output metadata (it folded the node into
 * constants), inference takes those.
 */
export function inferShapes(graph: Graph, fold?: (node: NodeProto, inferred: readonly ValueMeta[]) => ValueMeta[] | undefined): void {
  const fresh = (): string => graph.fresh();
  for (const vi of graph.inputs) graph.meta.set(vi.name, metaOfValueInfo(vi, fresh));
  for (const t of graph.initializers.values()) {
    const dims = t.dims.map(toNumber);
    const count = dims.reduce((a, b) => a * b, 1);
    const integer = t.dataType === DataType.INT64 || t.dataType === DataType.INT32;
    graph.meta.set(t.name, { elemType: t.dataType, shape: dims, value: integer && count <= 64 ? tensorValues(t) : undefined });
  }
  const declaredInfo = new Map(graph.graph.valueInfo.map((v) => [v.name, v]));
  for (const node of graph.graph.node) {
    const input = (i: number): ValueMeta => {
      const name = node.input[i];
      return name ? graph.info(name) : {};
    };
    const values = (i: number): Dim[] | undefined => {
      const name = node.input[i];
      if (!name) return undefined;
      const meta = graph.info(name);
      if (meta.value) return meta.value;
      const constant = graph.constant(name);
      return constant && constant.length <= 64 ? constant : undefined;
    };
    const key = !node.domain || node.domain === 'ai.onnx' ? node.opType : `${node.domain}.${node.opType}`;
    const fn = Object.hasOwn(rules, key) ? rules[key] : unknownOp;
    let metas: ValueMeta[] = [];
    try {
      metas = fn ? fn({ node, graph, input, values, fresh }) : [];
    } catch {
      metas = [];
    }
    const folded = fold?.(node, metas);
    if (folded) {
      node.output.forEach((name, k) => {
        if (name) graph.meta.set(name, folded[k] ?? {});
      });
      continue;
    }
    node.output.forEach((name, k) => {
      if (!name) return;
      const declared = declaredInfo.get(name);
      const inferred = metas[k] ?? {};
      const fromDecl = declared ? metaOfValueInfo(declared, fresh) : {};
      graph.meta.set(name, {
        elemType: inferred.elemType ?? fromDecl.elemType,
        shape: inferred.shape ?? fromDecl.shape,
        value: inferred.value,
      });
    });
  }
  // Declared graph outputs fill what inference could not.
  for (const vi of graph.graph.output) {
    const known = graph.info(vi.name);
    const decl = metaOfValueInfo(vi, fresh);
    graph.meta.set(vi.name, { ...known, elemType: known.elemType ?? decl.elemType, shape: known.shape ?? decl.shape });
  }
}
