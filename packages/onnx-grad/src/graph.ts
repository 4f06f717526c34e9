import { InvalidModelError } from './errors.js';
import {
  DataType,
  checkTensorProto,
  decodeModel,
  isFloatType,
  tensorValues,
  toNumber,
  attribute,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from './proto.js';

/** A dimension: a size, or a symbol (a name such as `batch`, or `?n` for an unknown size). */
export type Dim = number | string;

/** What is known about a tensor: element type, shape and, for small integer tensors, the values. */
export interface ValueMeta {
  elemType?: number;
  /** Undefined when even the rank is unknown. */
  shape?: Dim[];
  /** Values of a rank-0/1 integer tensor (shape arithmetic), symbols where unknown. */
  value?: Dim[];
}

/**
 * A decoded ONNX model with the facts the gradient builder needs: producers, constants, the default-domain
 * opset, and inferred element types and shapes of every tensor.
 */
export class Graph {
  readonly model: ModelProto;
  /** The default-domain opset (raised by the upgrade pass, see `setOpset`). */
  private version: number;
  readonly initializers = new Map<string, TensorProto>();
  readonly producers = new Map<string, NodeProto>();
  readonly meta = new Map<string, ValueMeta>();
  private symbolCount = 0;
  /** Decoded initializer values, by name (large constants are read once). */
  private readonly decoded = new Map<string, number[]>();

  constructor(source: Uint8Array | ModelProto) {
    let model: ModelProto;
    try {
      model = source instanceof Uint8Array ? decodeModel(source) : source;
    } catch (e) {
      throw new InvalidModelError(`The bytes are not an ONNX model: ${(e as Error).message}`, { cause: e });
    }
    if (!model.graph || model.graph.node.length === 0 || model.graph.output.length === 0) {
      throw new InvalidModelError('The ONNX model has no graph, no nodes or no outputs.');
    }
    this.model = model;
    const op = model.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx');
    this.version = op ? toNumber(op.version) : 1;
    // The file is untrusted: constants whose dims disagree with their data would mislead every rule.
    for (const t of model.graph.initializer) checkTensorProto(t, 'Initializer');
    for (const n of model.graph.node) {
      for (const a of n.attribute) if (a.t) checkTensorProto(a.t, `The tensor attribute '${a.name}' of node '${Graph.label(n)}'`);
    }
    this.refresh();
  }

  /** Re-reads the initializers and producers after a pass changed the graph's nodes or initializers. */
  refresh(): void {
    this.initializers.clear();
    this.producers.clear();
    this.decoded.clear();
    for (const t of this.graph.initializer) this.initializers.set(t.name, t);
    for (const n of this.graph.node) for (const o of n.output) if (o) this.producers.set(o, n);
  }

  /** The default-domain opset. */
  get opset(): number {
    return this.version;
  }

  /** Declares a new default-domain opset (after a pass converted every node to it). */
  setOpset(version: number): void {
    this.version = version;
    const imports = this.model.opsetImport.filter((o) => o.domain && o.domain !== 'ai.onnx');
    this.model.opsetImport = [{ domain: '', version }, ...imports];
  }

  get graph(): GraphProto {
    return this.model.graph as GraphProto;
  }

  /** Graph inputs that are not initializers. */
  get inputs(): ValueInfoProto[] {
    return this.graph.input.filter((i) => !this.initializers.has(i.name));
  }

  /** A fresh unknown dimension. */
  fresh(): string {
    return `?${++this.symbolCount}`;
  }

  /** The constant values of a tensor (an initializer or a Constant node's output), if it is one. */
  constant(name: string): number[] | undefined {
    const init = this.initializers.get(name);
    if (init) {
      let values = this.decoded.get(name);
      if (!values) {
        values = tensorValues(init);
        this.decoded.set(name, values);
      }
      return values;
    }
    const node = this.producers.get(name);
    if (node?.opType === 'Constant') {
      const t = attribute(node, 'value')?.t;
      if (t) return tensorValues(t);
      const vi = attribute(node, 'value_int');
      if (vi) return [toNumber(vi.i)];
      const vis = attribute(node, 'value_ints');
      if (vis) return vis.ints.map(toNumber);
      const vf = attribute(node, 'value_float');
      if (vf) return [vf.f];
      const vfs = attribute(node, 'value_floats');
      if (vfs) return [...vfs.floats];
    }
    return undefined;
  }

  /** Metadata of a tensor (empty when nothing is known). */
  info(name: string): ValueMeta {
    return this.meta.get(name) ?? {};
  }

  /** Whether a tensor is floating point. */
  isFloat(name: string): boolean {
    return isFloatType(this.info(name).elemType);
  }

  /** A short label for a node in messages. */
  static label(node: NodeProto): string {
    return node.name || node.output[0] || node.opType;
  }
}

/** The subgraphs a node carries (the branches of `If`, the bodies of `Loop` and `Scan`). */
export function subgraphs(node: NodeProto): GraphProto[] {
  const out: GraphProto[] = [];
  for (const a of node.attribute) {
    if (a.g) out.push(a.g);
    for (const sub of a.graphs ?? []) out.push(sub);
  }
  return out;
}

/** Names a subgraph reads from its enclosing scopes (inputs of its nodes, at any depth, that it does not define). */
export function outerNames(g: GraphProto): Set<string> {
  const defined = new Set<string>([...g.input.map((i) => i.name), ...g.initializer.map((t) => t.name)]);
  for (const n of g.node) for (const o of n.output) if (o) defined.add(o);
  const out = new Set<string>();
  for (const n of g.node) {
    for (const name of nodeReads(n)) if (name && !defined.has(name)) out.add(name);
  }
  return out;
}

/** Every name a node reads: its inputs and the outer-scope names its subgraphs read. */
export function nodeReads(node: NodeProto): string[] {
  const names = node.input.filter((i) => i);
  for (const g of subgraphs(node)) for (const name of outerNames(g)) names.push(name);
  return names;
}

/** Reads a value info's element type and shape (dim_param names kept, missing dims made fresh). */
export function metaOfValueInfo(vi: ValueInfoProto, fresh: () => string): ValueMeta {
  const tt = vi.type?.tensorType;
  if (!tt) return {};
  const shape = tt.shape ? tt.shape.dim.map((d) => (d.dimParam ? d.dimParam : d.dimValue !== undefined && d.dimValue !== null && toNumber(d.dimValue) > 0 ? toNumber(d.dimValue) : fresh())) : undefined;
  return { elemType: tt.elemType ?? undefined, shape };
}

export { DataType };
