import { ArgumentError } from '@attribution/tensor';
import type { Graph } from '../graph.js';
import { toNumber, type ValueInfoProto } from '../proto.js';

/**
 * Gives graph inputs concrete shapes (the shapes the model will be run with), so shape inference knows
 * every dimension and the shape arithmetic folds to constants. Names in `replaced` (intermediate tensors
 * about to become inputs) are checked later by the builder. Throws when a shape contradicts the declared one.
 */
export function specialiseInputs(graph: Graph, shapes: Readonly<Record<string, readonly number[]>>, replaced: readonly string[]): void {
  const inputs = new Map<string, ValueInfoProto>(graph.inputs.map((vi) => [vi.name, vi]));
  for (const [name, shape] of Object.entries(shapes)) {
    const vi = inputs.get(name);
    if (!vi) {
      if (replaced.includes(name)) continue;
      throw new ArgumentError('inputShapes', `shapes of model inputs (${[...inputs.keys()].join(', ')})`, `a shape for '${name}'`);
    }
    if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new ArgumentError('inputShapes', 'non-negative integer dimensions', `[${shape.join(', ')}] for '${name}'`);
    }
    const tt = vi.type?.tensorType;
    if (!tt) continue;
    const declared = tt.shape?.dim;
    if (declared) {
      const fits = declared.length === shape.length && declared.every((d, i) => !d.dimValue || toNumber(d.dimValue) <= 0 || toNumber(d.dimValue) === shape[i]);
      if (!fits) {
        const described = declared.map((d) => (d.dimValue && toNumber(d.dimValue) > 0 ? toNumber(d.dimValue) : d.dimParam || '?'));
        throw new ArgumentError('inputShapes', `shape [${described.join(', ')}] for input '${name}'`, `[${shape.join(', ')}]`);
      }
    }
    tt.shape = { dim: shape.map((d) => ({ dimValue: d })) };
  }
}
