import { nodeContext } from '../context.js';
import { Emitter } from '../emitter.js';
import { Graph } from '../graph.js';
import type { BuildLimits } from '../limits.js';
import type { GradContext } from '../gradients/types.js';
import { opKey } from '../gradients/index.js';
import { makeNode, type NodeProto } from '../proto.js';
import { gruDecomposition } from './GRU.js';
import { lstmDecomposition } from './LSTM.js';
import { rnnDecomposition } from './RNN.js';

/**
 * Rewrites one operator as an equivalent subgraph of operators that have backward rules (an LSTM unrolled
 * over its time steps, say), for the gradient model only. `expand` emits the nodes through `c.e` and
 * returns, per output of the node, the name of the tensor that replaces it (undefined for an output it does
 * not produce); it may call `c.unsupported(detail)` for attribute combinations it does not handle.
 * `c.dy` and `c.needs` are meaningless here.
 */
export interface Decomposition {
  expand(c: GradContext): ReadonlyArray<string | undefined>;
}

const registry = new Map<string, Decomposition>();

// Recurrent networks, unrolled over their (static) time steps.
registry.set('GRU', gruDecomposition);
registry.set('LSTM', lstmDecomposition);
registry.set('RNN', rnnDecomposition);

/**
 * Nodes that expansions emitted. They are differentiated with ordinary gradients whatever the rule set:
 * Captum's modified rules (DeepLift, guided backpropagation) replace the backward pass of nonlinearity
 * modules (nn.ReLU, nn.Sigmoid, …), which the gates inside an nn.LSTM are not.
 */
const emitted = new WeakSet<NodeProto>();

/** Whether a node was emitted by the expansion of a decomposed operator. */
export function isExpansion(node: NodeProto): boolean {
  return emitted.has(node);
}

/** Registers (or replaces) the decomposition of an operator (of the default domain unless `domain` is given). */
export function registerDecomposition(opType: string, decomposition: Decomposition, domain = ''): void {
  registry.set(opKey(opType, domain), decomposition);
}

/** The decomposition of an operator, if any. */
export function getDecomposition(opType: string, domain = ''): Decomposition | undefined {
  return registry.get(opKey(opType, domain));
}

/** Operators that have decompositions (`domain.type` outside the default domain). */
export function decomposedOps(): string[] {
  return [...registry.keys()].sort();
}

/**
 * Replaces every node `select` chooses that has a decomposition by its expansion, in place (the expansion's
 * results are renamed to the node's outputs). Returns whether the graph changed; the caller re-infers shapes.
 */
export function expandNodes(graph: Graph, select: (node: NodeProto) => boolean, limits?: BuildLimits): boolean {
  let changed = false;
  const nodes: NodeProto[] = [];
  let k = 0;
  for (const node of graph.graph.node) {
    const decomposition = select(node) ? getDecomposition(node.opType, node.domain) : undefined;
    if (!decomposition) {
      nodes.push(node);
      continue;
    }
    const e = new Emitter(graph, `__expand${k++}/${Graph.label(node)}`, limits);
    const outputs = decomposition.expand(nodeContext(graph, e, node));
    for (const n of e.nodes) emitted.add(n);
    for (const n of e.nodes) nodes.push(n);
    for (const t of e.initializers) graph.graph.initializer.push(t);
    node.output.forEach((name, i) => {
      const result = outputs[i];
      if (name && result) nodes.push(makeNode('Identity', [result], [name]));
    });
    changed = true;
  }
  if (changed) {
    graph.graph.node = nodes;
    graph.refresh();
  }
  return changed;
}
