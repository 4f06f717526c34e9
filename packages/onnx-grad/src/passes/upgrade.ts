import { BackendError } from '@attribution/tensor';
import { UnsupportedOperatorError } from '../errors.js';
import { Graph, subgraphs } from '../graph.js';
import { DataType, attrFloat, attrInt, attrInts, attrString, attribute, makeAttribute, makeNode, makeTensor, type GraphProto, type NodeProto } from '../proto.js';

/** The opset gradient graphs are written in when a model is older. */
export const GRADIENT_MIN_OPSET = 11;

/** The oldest opset the upgrade converts from. */
export const UPGRADE_MIN_OPSET = 7;

/**
 * Converts a model of opset 7–10 to opset 11, the oldest the backward rules emit nodes for, so that old
 * exports (the ONNX model zoo's opset 7–9 files) get gradients too. Only the operators whose form changed
 * are rewritten — Clip, Pad and Slice (attributes become inputs), TopK (`k` becomes an input), Upsample and
 * Resize-10 (become Resize-11 with asymmetric coordinates), Scatter (becomes ScatterElements),
 * BatchNormalization (`spatial` dropped) — in the graph and in subgraphs; the others mean the same at
 * opset 11. The model the user gave is not changed: forward passes run it as it is. Expects inferred
 * element types (for typed constants). Returns whether the graph was converted.
 */
export function upgradeOpset(graph: Graph): boolean {
  const from = graph.opset;
  if (from >= GRADIENT_MIN_OPSET) return false;
  if (from < UPGRADE_MIN_OPSET) {
    throw new BackendError(`The model uses opset ${from}; gradient graphs need opset ${UPGRADE_MIN_OPSET} or newer (re-export the model).`);
  }
  convertGraph(graph, graph.graph, from);
  graph.setOpset(GRADIENT_MIN_OPSET);
  graph.refresh();
  return true;
}

function convertGraph(graph: Graph, g: GraphProto, from: number): void {
  const nodes: NodeProto[] = [];
  for (const node of g.node) {
    for (const sub of subgraphs(node)) convertGraph(graph, sub, from);
    if (node.domain && node.domain !== 'ai.onnx') {
      nodes.push(node);
      continue;
    }
    for (const n of convertNode(graph, node, from)) nodes.push(n);
  }
  g.node = nodes;
}

/** A Constant node holding `values`, named after the node it feeds. */
function constant(node: NodeProto, what: string, type: number, dims: readonly number[], values: readonly number[]): [NodeProto, string] {
  const name = `${Graph.label(node)}/__opset11/${what}`;
  return [makeNode('Constant', [], [name], { value: { t: makeTensor('', type, dims, values) } }), name];
}

const withoutAttributes = (node: NodeProto, names: readonly string[]): void => {
  node.attribute = node.attribute.filter((a) => !names.includes(a.name));
};

/** The element type of a node's first input (float32 when inference could not tell). */
const dataType = (graph: Graph, node: NodeProto): number => {
  const t = graph.info(node.input[0] ?? '').elemType;
  return t !== undefined ? t : DataType.FLOAT;
};

function convertNode(graph: Graph, node: NodeProto, from: number): NodeProto[] {
  const out: NodeProto[] = [];
  switch (node.opType) {
    case 'Clip': {
      // Clip-6: min and max attributes (defaults: the float range).
      const type = dataType(graph, node);
      const lo = attribute(node, 'min') ? attrFloat(node, 'min', 0) : undefined;
      const hi = attribute(node, 'max') ? attrFloat(node, 'max', 0) : undefined;
      const inputs = [node.input[0] as string, '', ''];
      if (lo !== undefined) {
        const [c, name] = constant(node, 'min', type, [], [lo]);
        out.push(c);
        inputs[1] = name;
      }
      if (hi !== undefined) {
        const [c, name] = constant(node, 'max', type, [], [hi]);
        out.push(c);
        inputs[2] = name;
      }
      node.input = inputs[2] ? inputs : inputs[1] ? inputs.slice(0, 2) : inputs.slice(0, 1);
      withoutAttributes(node, ['min', 'max']);
      break;
    }
    case 'Pad': {
      // Pad-2: pads, mode and value attributes.
      const pads = attrInts(node, 'pads') ?? [];
      const value = attrFloat(node, 'value', 0);
      const [p, padsName] = constant(node, 'pads', DataType.INT64, [pads.length], pads);
      out.push(p);
      node.input = [node.input[0] as string, padsName];
      if (value !== 0 && attrString(node, 'mode', 'constant') === 'constant') {
        const [v, valueName] = constant(node, 'value', dataType(graph, node), [], [value]);
        out.push(v);
        node.input.push(valueName);
      }
      withoutAttributes(node, ['pads', 'value']);
      break;
    }
    case 'Slice': {
      if (from >= 10) break;
      // Slice-1: starts, ends and axes attributes.
      const starts = attrInts(node, 'starts') ?? [];
      const ends = attrInts(node, 'ends') ?? [];
      const axes = attrInts(node, 'axes');
      const named = (what: string, values: readonly number[]): string => {
        const [c, name] = constant(node, what, DataType.INT64, [values.length], values);
        out.push(c);
        return name;
      };
      node.input = [node.input[0] as string, named('starts', starts), named('ends', ends), ...(axes ? [named('axes', axes)] : [])];
      withoutAttributes(node, ['starts', 'ends', 'axes']);
      break;
    }
    case 'TopK': {
      if (from >= 10) break;
      const [c, k] = constant(node, 'k', DataType.INT64, [1], [attrInt(node, 'k', 1)]);
      out.push(c);
      node.input = [node.input[0] as string, k];
      withoutAttributes(node, ['k']);
      break;
    }
    case 'Upsample':
    case 'Resize': {
      // Upsample-7 (scales attribute), Upsample-9/10 and Resize-10 (scales input): asymmetric coordinates,
      // nearest rounds down (Resize-11's defaults would round half to the nearest pixel).
      const mode = attrString(node, 'mode', 'nearest');
      if (mode !== 'nearest' && mode !== 'linear') {
        throw new UnsupportedOperatorError(node.opType, Graph.label(node), `mode '${mode}' of opset ${from}`);
      }
      let scales = node.input[1];
      if (!scales) {
        const values = attribute(node, 'scales')?.floats.map(Number) ?? [];
        const [c, name] = constant(node, 'scales', DataType.FLOAT, [values.length], values);
        out.push(c);
        scales = name;
      }
      const [roi, roiName] = constant(node, 'roi', DataType.FLOAT, [0], []);
      out.push(roi);
      node.opType = 'Resize';
      node.input = [node.input[0] as string, roiName, scales];
      withoutAttributes(node, ['scales', 'mode']);
      node.attribute.push(makeAttribute('mode', mode), makeAttribute('coordinate_transformation_mode', 'asymmetric'));
      if (mode === 'nearest') node.attribute.push(makeAttribute('nearest_mode', 'floor'));
      break;
    }
    case 'Scatter':
      node.opType = 'ScatterElements';
      break;
    case 'BatchNormalization': {
      if (from >= 9) break;
      if (attrInt(node, 'spatial', 1) !== 1) {
        throw new UnsupportedOperatorError('BatchNormalization', Graph.label(node), 'spatial 0 (per-element statistics, opset < 9)');
      }
      withoutAttributes(node, ['spatial', 'is_test', 'consumed_inputs']);
      break;
    }
    case 'Dropout':
      withoutAttributes(node, ['is_test']);
      break;
    default:
      break;
  }
  out.push(node);
  return out;
}
