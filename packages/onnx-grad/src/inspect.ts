import { unsupportedOperators } from './builder.js';
import type { UnsupportedOperator } from './errors.js';
import { opKey } from './gradients/index.js';
import { Graph, type Dim } from './graph.js';
import { hasShapeArithmetic } from './passes/specialise.js';
import { topoSort } from './passes/topo-sort.js';
import { DataType, isFloatType, typeName, type ModelProto } from './proto.js';
import { inferShapes } from './shapes.js';

/** What `attribution inspect` shows of a model. */
export interface ModelSummary {
  readonly opset: number;
  readonly producer: string;
  readonly inputs: readonly { name: string; type: string; shape?: readonly Dim[] }[];
  readonly outputs: readonly { name: string; type: string; shape?: readonly Dim[] }[];
  /**
   * Operator counts, and whether gradients pass each one: it has a backward rule or a decomposition, or
   * it is not on a differentiable path (integer shape arithmetic, masks, ids).
   */
  readonly ops: readonly { op: string; count: number; gradient: boolean }[];
  /**
   * The operators gradient methods would refuse (what `explain` names when it refuses), computed by
   * building the gradient model of the first output with respect to the floating-point inputs (or, for
   * models with integer inputs such as token ids, the tensors that first turn them into floats).
   */
  readonly unsupported: readonly UnsupportedOperator[];
  /**
   * The operators LRP would refuse with its default rules (Captum's: linear, convolution, pooling and
   * batch-norm layers, ReLU/Tanh/Dropout passing relevance), in the same gradient model; empty when it
   * runs, and when no floating-point input is differentiated; undefined when it could not be told (weights
   * in external data).
   */
  readonly lrpUnsupported?: readonly UnsupportedOperator[];
  /** The tensors that gradient check differentiated. */
  readonly differentiated: readonly string[];
  /** The float tensors the nodes compute, in graph order: the layers layer and neuron methods can explain. */
  readonly layers: readonly { name: string; op: string; shape?: readonly Dim[] }[];
}


/** Summarises a model: inputs, outputs with inferred shapes, operators and gradient coverage. */
export function inspectModel(source: Uint8Array | ModelProto): ModelSummary {
  const graph = new Graph(source);
  topoSort(graph.graph);
  graph.refresh();
  inferShapes(graph);
  const counts = new Map<string, number>();
  for (const n of graph.graph.node) {
    const op = opKey(n.opType, n.domain);
    counts.set(op, (counts.get(op) ?? 0) + 1);
  }
  const describe = (name: string): { name: string; type: string; shape?: readonly Dim[] } => ({
    name,
    type: typeName(graph.info(name).elemType),
    shape: graph.info(name).shape,
  });
  const differentiated = differentiable(graph);
  // Shape arithmetic folds once the inputs have concrete shapes, as they do when a method runs. A symbol
  // names one size across the inputs (an RNN's batch is dim 0 of X and dim 1 of its initial state).
  const symbols = new Map<string, number>();
  const size = (d: Dim, i: number): number => {
    if (typeof d === 'number') return d;
    if (!symbols.has(d)) symbols.set(d, i === 0 ? 1 : 2);
    return symbols.get(d) as number;
  };
  const inputShapes = hasShapeArithmetic(graph)
    ? Object.fromEntries(graph.inputs.map((vi) => [vi.name, (graph.info(vi.name).shape ?? []).map(size)]))
    : undefined;
  const checkable = differentiated.length > 0 && isFloatType(graph.info(graph.graph.output[0]?.name ?? '').elemType);
  const model = source instanceof Uint8Array ? source : graph.model;
  const unsupported = checkable ? unsupportedOperators(model, { wrt: differentiated, inputShapes }) : [];
  let lrpUnsupported: UnsupportedOperator[] | undefined = [];
  try {
    if (checkable) lrpUnsupported = unsupportedOperators(model, { wrt: differentiated, inputShapes, rules: { lrp: {} } });
  } catch {
    // LRP's rules read weights the summary cannot (external data): undetermined.
    lrpUnsupported = undefined;
  }
  // Not refused: a rule, a decomposition, or not on a differentiable path of this model.
  const refused = new Set(unsupported.map((u) => u.opType));
  return {
    opset: graph.opset,
    producer: `${graph.model.producerName} ${graph.model.producerVersion}`.trim(),
    inputs: graph.inputs.map((i) => describe(i.name)),
    outputs: graph.graph.output.map((o) => describe(o.name)),
    ops: [...counts].sort((a, b) => b[1] - a[1]).map(([op, count]) => ({ op, count, gradient: !refused.has(op) })),
    unsupported,
    lrpUnsupported,
    differentiated,
    layers: graph.graph.node.flatMap((n) => n.output.filter((o) => o && graph.isFloat(o)).map((name) => ({ name, op: n.opType, shape: graph.info(name).shape }))),
  };
}

/**
 * What gradient methods differentiate: the floating-point graph inputs, or, when there are none (token
 * ids), the first floating-point tensors computed from the integer inputs (embeddings).
 */
function differentiable(graph: Graph): string[] {
  const floats = graph.inputs.filter((vi) => graph.isFloat(vi.name)).map((vi) => vi.name);
  if (floats.length > 0) return floats;
  const integer = new Set(graph.inputs.filter((vi) => graph.info(vi.name).elemType !== DataType.BOOL).map((vi) => vi.name));
  const out: string[] = [];
  for (const n of graph.graph.node) {
    if (!n.input.some((i) => integer.has(i))) continue;
    for (const o of n.output) if (o && graph.isFloat(o)) out.push(o);
  }
  return out;
}
