import { ArgumentError } from '@attribution/tensor';
import type { Graph } from '../graph.js';
import { DataType, attrInt, isFloatType, makeTensor, toNumber, type ValueInfoProto } from '../proto.js';

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

/**
 * Whether the graph computes with its own shapes at run time (`Shape` or `Size` of a tensor whose shape is
 * not static, or a recurrent node whose sequence length is not): such graphs get gradient models
 * specialised to the input shapes, where that arithmetic folds to constants (and RNNs unroll). Expects
 * inferred shapes.
 */
export function hasShapeArithmetic(graph: Graph): boolean {
  return graph.graph.node.some((n) => {
    if (n.domain && n.domain !== 'ai.onnx') return false;
    const shape = graph.info(n.input[0] ?? '').shape;
    // LSTM, GRU and RNN are unrolled over their time steps for gradients: the sequence length must be known.
    if (RECURRENT.has(n.opType)) return typeof shape?.[graph.opset >= 14 && attrInt(n, 'layout', 0) === 1 ? 1 : 0] !== 'number';
    if (n.opType !== 'Shape' && n.opType !== 'Size') return false;
    return !shape || shape.some((d) => typeof d !== 'number');
  });
}

const RECURRENT = new Set(['LSTM', 'GRU', 'RNN']);

/**
 * Turns small integer or boolean inputs (a sample rate, a mode flag) into constants of the given values, so
 * that control flow on them (`If`) folds and gradients pass through the branch taken. The model built is
 * then valid for these values only.
 */
export function specialiseValues(graph: Graph, values: Readonly<Record<string, readonly number[]>>): void {
  const inputs = new Map<string, ValueInfoProto>(graph.inputs.map((vi) => [vi.name, vi]));
  for (const [name, data] of Object.entries(values)) {
    const vi = inputs.get(name);
    const type = vi?.type?.tensorType?.elemType ?? undefined;
    if (!vi || type === undefined || isFloatType(type) || type === DataType.STRING) {
      throw new ArgumentError('inputValues', 'values of integer or boolean model inputs', `values for '${name}'`);
    }
    const declared = vi.type?.tensorType?.shape?.dim;
    const dims = declared && declared.length > 0 ? declared.map(() => 1) : [];
    if (data.length !== 1) throw new ArgumentError('inputValues', 'one value per specialised input', `${data.length} values for '${name}'`);
    graph.graph.input = graph.graph.input.filter((i) => i !== vi);
    graph.graph.initializer.push(makeTensor(name, type, dims, data));
  }
  graph.refresh();
}
