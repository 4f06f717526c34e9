import type { Emitter } from './emitter.js';
import { UnsupportedOperatorError } from './errors.js';
import { Graph } from './graph.js';
import type { GradContext } from './gradients/types.js';
import { attrFloat, attrInt, attrInts, attrString, type NodeProto } from './proto.js';

/**
 * What a backward rule (or a decomposition) sees of one node: its inputs, outputs, attributes, inferred
 * shapes and constant inputs, and the emitter that appends new nodes. `dys` are the gradients flowing into
 * the node's outputs and `needed` the input positions that need gradients (none for a decomposition).
 */
export function nodeContext(graph: Graph, e: Emitter, node: NodeProto, dys: readonly (string | undefined)[] = [], needed: readonly number[] = []): GradContext {
  const label = Graph.label(node);
  return {
    node,
    graph,
    e,
    opset: graph.opset,
    input: (i) => node.input[i] ?? '',
    output: (i) => node.output[i] ?? '',
    dy: (i = 0) => dys[i],
    needs: (i) => needed.includes(i),
    shape: (name) => graph.info(name).shape,
    rank: (name) => e.rank(name),
    constant: (i) => (node.input[i] ? graph.constant(node.input[i] as string) : undefined),
    attrInt: (name, fallback) => attrInt(node, name, fallback),
    attrInts: (name, fallback) => attrInts(node, name, fallback),
    attrFloat: (name, fallback) => attrFloat(node, name, fallback),
    attrString: (name, fallback) => attrString(node, name, fallback),
    unsupported: (detail) => {
      throw new UnsupportedOperatorError(node.opType + (node.domain && node.domain !== 'ai.onnx' ? ` (domain ${node.domain})` : ''), label, detail);
    },
  };
}
