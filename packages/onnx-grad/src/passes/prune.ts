import { nodeReads } from '../graph.js';
import type { GraphProto, NodeProto } from '../proto.js';

/**
 * Drops the nodes and initializers the graph outputs do not need, and graph inputs nothing reads. Names a
 * subgraph reads from the outer scope (an `If` branch reading a graph input or an initializer) count as
 * read. Expects topological order (see `topoSort`).
 */
export function prune(g: GraphProto): void {
  const needed = new Set<string>(g.output.map((o) => o.name));
  const keep: NodeProto[] = [];
  for (let k = g.node.length - 1; k >= 0; k--) {
    const node = g.node[k] as NodeProto;
    if (node.output.some((o) => needed.has(o))) {
      keep.push(node);
      for (const name of nodeReads(node)) needed.add(name);
    }
  }
  g.node = keep.reverse();
  g.initializer = g.initializer.filter((t) => needed.has(t.name));
  if (g.sparseInitializer) g.sparseInitializer = g.sparseInitializer.filter((t) => needed.has(t.values?.name ?? ''));
  g.input = g.input.filter((vi) => needed.has(vi.name));
  g.valueInfo = [];
}
