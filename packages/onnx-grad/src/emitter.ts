import { BackendError } from '@attribution/tensor';
import { type Graph, type Dim } from './graph.js';
import { checkLimit, type BuildLimits } from './limits.js';
import { DataType, makeNode, makeTensor, typeName, type AttrValue, type NodeProto, type TensorProto } from './proto.js';

const isNum = (d: Dim | undefined): d is number => typeof d === 'number';

/**
 * Appends backward nodes to a graph: unique names, constants as initializers, and opset-aware helpers for
 * the operators whose signature changed across opsets (axes as attribute or input).
 */
export class Emitter {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private count = 0;
  private readonly shapes = new Map<string, string>();
  private readonly constants = new Map<string, string>();

  constructor(
    readonly graph: Graph,
    readonly prefix = '__grad',
    readonly limits?: BuildLimits,
  ) {}

  get opset(): number {
    return this.graph.opset;
  }

  /** A fresh tensor name. */
  name(hint: string): string {
    return `${this.prefix}/${hint}_${++this.count}`;
  }

  /** Appends a node with one output and returns the output's name. */
  op(type: string, inputs: readonly string[], attrs: Readonly<Record<string, AttrValue | undefined>> = {}): string {
    return this.opN(type, inputs, 1, attrs)[0] as string;
  }

  /** Appends a node with `outputs` outputs and returns their names. */
  opN(type: string, inputs: readonly string[], outputs: number, attrs: Readonly<Record<string, AttrValue | undefined>> = {}): string[] {
    const names = Array.from({ length: outputs }, () => this.name(type));
    this.nodes.push(makeNode(type, inputs, names, attrs, this.name(`${type}_node`)));
    return names;
  }

  /** A constant tensor (an initializer); equal constants are shared. */
  constant(values: ArrayLike<number>, type: number, dims: readonly number[]): string {
    checkLimit('maxConstantElements', values.length, this.limits, 'A constant of the gradient model');
    const key = `${type}|${dims.join(',')}|${Array.from(values).join(',')}`;
    let name = this.constants.get(key);
    if (!name) {
      name = this.name('const');
      this.initializers.push(makeTensor(name, type, dims, values));
      this.constants.set(key, name);
    }
    return name;
  }

  /** A large constant (an initializer), never shared: for derived weights. */
  weights(values: ArrayLike<number>, type: number, dims: readonly number[]): string {
    checkLimit('maxConstantElements', values.length, this.limits, 'A constant of the gradient model');
    const name = this.name('weights');
    this.initializers.push(makeTensor(name, type, dims, values));
    return name;
  }

  /** Multiplies `g` by a boolean mask (cheaper than Where in ONNX Runtime): `g · float(mask)`. */
  mask(g: string, mask: string, like: string): string {
    return this.mul(g, this.op('Cast', [mask], { to: this.floatType(like) }));
  }

  /**
   * `g · 1{lo < y < hi}` for a tensor `y` whose values lie in [lo, hi] (the output of a ReLU or a clip;
   * infinite bounds are left out). Reading the mask from the activation's output rather than its input
   * leaves the input with one consumer, so ONNX Runtime can fuse the activation into the producing Conv.
   */
  intervalMask(g: string, y: string, lo: number, hi: number): string {
    let keep = Number.isFinite(lo) ? this.op('Greater', [y, this.scalar(lo, y)]) : undefined;
    if (Number.isFinite(hi)) {
      const below = this.op('Less', [y, this.scalar(hi, y)]);
      keep = keep ? this.op('And', [keep, below]) : below;
    }
    return keep ? this.mask(g, keep, y) : g;
  }

  /**
   * For a batch made of two halves, inputs then references (DeepLift): `[h₁ − h₂; h₁ − h₂]`, the difference
   * of every row from its partner row, repeated for both halves as Captum does.
   */
  halfDelta(t: string): string {
    const half = this.op('Div', [this.dim(t, 0), this.ints([2])]);
    const first = this.slice(t, this.ints([0]), half, [0]);
    const second = this.slice(t, half, this.dim(t, 0), [0]);
    const delta = this.sub(first, second);
    return this.op('Concat', [delta, delta], { axis: 0 });
  }

  /** The two halves of a batch along dimension 0. */
  halves(t: string): [string, string] {
    const half = this.op('Div', [this.dim(t, 0), this.ints([2])]);
    return [this.slice(t, this.ints([0]), half, [0]), this.slice(t, half, this.dim(t, 0), [0])];
  }

  /** A 1-D int64 constant. */
  ints(values: readonly number[]): string {
    return this.constant(values, DataType.INT64, [values.length]);
  }

  /** A scalar of the element type of tensor `like` (the type gradients flowing through it have). */
  scalar(value: number, like: string): string {
    return this.constant([value], this.floatType(like), []);
  }

  /** The floating-point element type of a tensor (float32 when unknown). */
  floatType(name: string): number {
    const t = this.graph.info(name).elemType;
    return t === DataType.DOUBLE || t === DataType.FLOAT16 ? t : DataType.FLOAT;
  }

  /** `Shape(x)`, computed once per tensor. */
  shape(x: string): string {
    let s = this.shapes.get(x);
    if (!s) {
      s = this.op('Shape', [x]);
      this.shapes.set(x, s);
    }
    return s;
  }

  /** The size of dimension `axis` of `x`, as a 1-element int64 tensor. */
  dim(x: string, axis: number): string {
    return this.op('Slice', [this.shape(x), this.ints([axis]), this.ints([axis + 1]), this.ints([0])]);
  }

  /** The rank of a tensor; throws when it cannot be inferred. */
  rank(name: string): number {
    const shape = this.graph.info(name).shape;
    if (!shape) throw new BackendError(`Cannot infer the rank of tensor '${name}', which its gradient needs.`);
    return shape.length;
  }

  reduceSum(x: string, axes: readonly number[], keepdims: boolean): string {
    if (axes.length === 0) return x;
    const keep = keepdims ? 1 : 0;
    return this.opset >= 13
      ? this.op('ReduceSum', [x, this.ints(axes)], { keepdims: keep })
      : this.op('ReduceSum', [x], { axes, keepdims: keep });
  }

  unsqueeze(x: string, axes: readonly number[]): string {
    if (axes.length === 0) return x;
    return this.opset >= 13 ? this.op('Unsqueeze', [x, this.ints(axes)]) : this.op('Unsqueeze', [x], { axes });
  }

  squeeze(x: string, axes: readonly number[]): string {
    if (axes.length === 0) return x;
    return this.opset >= 13 ? this.op('Squeeze', [x, this.ints(axes)]) : this.op('Squeeze', [x], { axes });
  }

  /** `Slice` along given axes with tensor-valued or constant bounds. */
  slice(x: string, starts: string, ends: string, axes: readonly number[]): string {
    return this.op('Slice', [x, starts, ends, this.ints(axes)]);
  }

  transpose(x: string, perm: readonly number[]): string {
    return perm.every((p, i) => p === i) ? x : this.op('Transpose', [x], { perm });
  }

  reshapeLike(g: string, x: string): string {
    return this.op('Reshape', [g, this.shape(x)]);
  }

  /** Zeros shaped and typed like `x`. */
  zerosLike(x: string): string {
    const zero = makeTensor('', this.floatType(x), [1], [0]);
    return this.op('ConstantOfShape', [this.shape(x)], { value: { t: zero } });
  }

  mul(a: string, b: string): string {
    return this.op('Mul', [a, b]);
  }

  add(a: string, b: string): string {
    return this.op('Add', [a, b]);
  }

  sub(a: string, b: string): string {
    return this.op('Sub', [a, b]);
  }

  div(a: string, b: string): string {
    return this.op('Div', [a, b]);
  }

  neg(a: string): string {
    return this.op('Neg', [a]);
  }

  /** Adds gradient contributions. */
  sum(parts: readonly string[]): string {
    if (parts.length === 1) return parts[0] as string;
    return this.op('Sum', parts);
  }

  /**
   * Reduces a gradient shaped like a broadcasting op's output (`out`: a tensor name or its shape) to the
   * shape of its input `x` (a tensor name, or `[name, shape]` for a tensor the emitter made): leading
   * dimensions are summed away; dimensions where `x` has size 1 are summed with keepdims. Where the shapes
   * cannot tell, the decision is taken at run time from `Shape(x)`.
   */
  sumTo(g: string, out: string | readonly Dim[], x: string | readonly [string, readonly Dim[]]): string {
    const os = typeof out === 'string' ? this.graph.info(out).shape : out;
    const [xName, xs] = typeof x === 'string' ? [x, this.graph.info(x).shape] : x;
    if (!os || !xs) {
      throw new BackendError(`Cannot infer the ranks of '${xName}' and its consumer's output, which the gradient of a broadcasting operator needs.`);
    }
    if (os.length === xs.length && os.every((d, i) => d === xs[i])) return g;
    const lead = os.length - xs.length;
    let r = lead > 0 ? this.reduceSum(g, Array.from({ length: lead }, (_, i) => i), false) : g;
    const staticAxes: number[] = [];
    const dynamicAxes: number[] = [];
    xs.forEach((xd, i) => {
      const od = os[i + lead];
      if (xd === od || od === 1 || (isNum(xd) && xd !== 1)) return;
      if (xd === 1) staticAxes.push(i);
      else dynamicAxes.push(i);
    });
    r = this.reduceSum(r, staticAxes, true);
    for (const axis of dynamicAxes) {
      const size = this.dim(xName, axis);
      const isOne = this.op('Equal', [size, this.ints([1])]);
      const reduced = this.reduceSum(r, [axis], true);
      const chosen = this.op('Where', [isOne, reduced, r]);
      r = this.slice(chosen, this.ints([0]), size, [axis]);
    }
    return r;
  }

  /** Casts to the element type of `like` when it differs from that of `x`. */
  castLike(x: string, from: string, like: string): string {
    const a = this.graph.info(from).elemType;
    const b = this.graph.info(like).elemType;
    return a === b || b === undefined ? x : this.op('Cast', [x], { to: b });
  }

  describeType(name: string): string {
    return typeName(this.graph.info(name).elemType);
  }
}
