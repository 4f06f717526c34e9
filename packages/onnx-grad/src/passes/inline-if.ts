import { Graph, outerNames, subgraphs } from '../graph.js';
import { attribute, makeNode, type GraphProto, type NodeProto } from '../proto.js';

/**
 * Replaces each `If` whose condition is a constant (after folding) by the nodes of the branch it takes, so
 * that gradients flow through it. Names the branch defines are prefixed with the node's label; names it
 * reads from the outer scope are kept. Returns whether any node was inlined.
 */
export function inlineConstantIfs(graph: Graph): boolean {
  let changed = false;
  const nodes: NodeProto[] = [];
  for (const node of graph.graph.node) {
    const taken = node.opType === 'If' && (!node.domain || node.domain === 'ai.onnx') ? takenBranch(graph, node) : undefined;
    if (!taken) {
      nodes.push(node);
      continue;
    }
    const [branch, which] = taken;
    const prefix = `${Graph.label(node)}/${which}/`;
    const local = new Set<string>([...branch.initializer.map((t) => t.name), ...branch.node.flatMap((n) => n.output.filter((o) => o))]);
    const rename = (name: string): string => (name && local.has(name) ? prefix + name : name);
    for (const t of branch.initializer) {
      t.name = rename(t.name);
      graph.graph.initializer.push(t);
    }
    for (const n of branch.node) {
      n.input = n.input.map(rename);
      n.output = n.output.map(rename);
      if (n.name) n.name = prefix + n.name;
      for (const g of subgraphs(n)) renameOuter(g, rename);
      nodes.push(n);
    }
    branch.output.forEach((o, k) => {
      const target = node.output[k];
      if (target) nodes.push(makeNode('Identity', [rename(o.name)], [target], {}, `${prefix}output_${k}`));
    });
    changed = true;
  }
  if (changed) {
    graph.graph.node = nodes;
    graph.refresh();
  }
  return changed;
}

/** The branch an `If` takes when its condition is a constant. */
function takenBranch(graph: Graph, node: NodeProto): [GraphProto, 'then' | 'else'] | undefined {
  let cond: number[] | undefined;
  try {
    cond = graph.constant(node.input[0] ?? '');
  } catch {
    return undefined;
  }
  if (!cond || cond.length !== 1) return undefined;
  const which = cond[0] ? 'then' : 'else';
  const branch = attribute(node, `${which}_branch`)?.g;
  return branch ? [branch, which] : undefined;
}

/** Renames, inside a nested subgraph, the outer-scope names it reads. */
function renameOuter(g: GraphProto, rename: (name: string) => string): void {
  const outer = outerNames(g);
  for (const n of g.node) {
    n.input = n.input.map((i) => (outer.has(i) ? rename(i) : i));
    for (const inner of subgraphs(n)) renameOuter(inner, (name) => (outer.has(name) ? rename(name) : name));
  }
}
