import { getGradient } from './gradients/index.js';
import { Graph, type Dim } from './graph.js';
import { typeName, type ModelProto } from './proto.js';
import { inferShapes } from './shapes.js';

/** What `attribution inspect` shows of a model. */
export interface ModelSummary {
  readonly opset: number;
  readonly producer: string;
  readonly inputs: readonly { name: string; type: string; shape?: readonly Dim[] }[];
  readonly outputs: readonly { name: string; type: string; shape?: readonly Dim[] }[];
  /** Operator counts, and whether each has a backward rule. */
  readonly ops: readonly { op: string; count: number; gradient: boolean }[];
  /** The float tensors the nodes compute, in graph order: the layers layer and neuron methods can explain. */
  readonly layers: readonly { name: string; op: string; shape?: readonly Dim[] }[];
}

/** Summarises a model: inputs, outputs with inferred shapes, operators and gradient coverage. */
export function inspectModel(source: Uint8Array | ModelProto): ModelSummary {
  const graph = new Graph(source);
  inferShapes(graph);
  const counts = new Map<string, number>();
  for (const n of graph.graph.node) {
    const op = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.opType}` : n.opType;
    counts.set(op, (counts.get(op) ?? 0) + 1);
  }
  const describe = (name: string): { name: string; type: string; shape?: readonly Dim[] } => ({
    name,
    type: typeName(graph.info(name).elemType),
    shape: graph.info(name).shape,
  });
  const structural = new Set(['Constant', 'Shape', 'Size', 'ConstantOfShape', 'Range', 'Equal', 'Greater', 'Less', 'Not', 'And', 'Or', 'ArgMax', 'ArgMin', 'NonZero']);
  return {
    opset: graph.opset,
    producer: `${graph.model.producerName} ${graph.model.producerVersion}`.trim(),
    inputs: graph.inputs.map((i) => describe(i.name)),
    outputs: graph.graph.output.map((o) => describe(o.name)),
    ops: [...counts].sort((a, b) => b[1] - a[1]).map(([op, count]) => ({ op, count, gradient: Boolean(getGradient(op.includes('.') ? op.slice(op.lastIndexOf('.') + 1) : op, 'gradient', op.includes('.') ? op.slice(0, op.lastIndexOf('.')) : '')) || structural.has(op) })),
    layers: graph.graph.node.flatMap((n) => n.output.filter((o) => o && graph.isFloat(o)).map((name) => ({ name, op: n.opType, shape: graph.info(name).shape }))),
  };
}
