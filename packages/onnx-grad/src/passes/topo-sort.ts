import { nodeReads } from '../graph.js';
import type { GraphProto, NodeProto } from '../proto.js';

/**
 * Orders the nodes of a graph so that every node comes after the producers of the names it reads
 * (including names its subgraphs read from the outer scope). The ONNX spec requires topological order, but
 * ONNX Runtime sorts nodes itself, and real files (imgly's ISNet) put some nodes last. Stable: nodes already
 * in order keep their relative order. Nodes on a cycle, or reading names nothing defines, keep their place
 * at the end — the runtime will say what is wrong with them. Returns whether the order changed.
 */
export function topoSort(g: GraphProto): boolean {
  const nodes = g.node;
  const producerIndex = new Map<string, number>();
  nodes.forEach((n, k) => {
    for (const o of n.output) if (o) producerIndex.set(o, k);
  });
  // Node k waits for the producers of what it reads (names from inputs, initializers or outer scopes are ready).
  const waiting = new Array<number>(nodes.length).fill(0);
  const consumers: number[][] = nodes.map(() => []);
  nodes.forEach((n, k) => {
    const deps = new Set<number>();
    for (const name of nodeReads(n)) {
      const p = producerIndex.get(name);
      if (p !== undefined && p !== k) deps.add(p);
    }
    waiting[k] = deps.size;
    for (const p of deps) (consumers[p] as number[]).push(k);
  });
  const heap = new MinHeap();
  waiting.forEach((w, k) => {
    if (w === 0) heap.push(k);
  });
  const order: number[] = [];
  const placed = new Array<boolean>(nodes.length).fill(false);
  while (heap.size > 0) {
    const k = heap.pop();
    order.push(k);
    placed[k] = true;
    for (const c of consumers[k] as number[]) {
      waiting[c] = (waiting[c] as number) - 1;
      if (waiting[c] === 0) heap.push(c);
    }
  }
  for (let k = 0; k < nodes.length; k++) if (!placed[k]) order.push(k);
  const changed = order.some((k, i) => k !== i);
  if (changed) g.node = order.map((k) => nodes[k] as NodeProto);
  return changed;
}

/** A binary min-heap of node indices (ready nodes leave in their original order). */
class MinHeap {
  private readonly items: number[] = [];

  get size(): number {
    return this.items.length;
  }

  push(v: number): void {
    const a = this.items;
    a.push(v);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if ((a[p] as number) <= v) break;
      a[i] = a[p] as number;
      i = p;
    }
    a[i] = v;
  }

  pop(): number {
    const a = this.items;
    const top = a[0] as number;
    const last = a.pop() as number;
    if (a.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        let mv = last;
        if (l < a.length && (a[l] as number) < mv) {
          m = l;
          mv = a[l] as number;
        }
        if (r < a.length && (a[r] as number) < mv) m = r;
        if (m === i) break;
        a[i] = a[m] as number;
        i = m;
      }
      a[i] = last;
    }
    return top;
  }
}
