import { InvalidModelError } from '../errors.js';
import { Graph, subgraphs } from '../graph.js';
import { onnx, protobufFields as fields, type AttributeProto, type FunctionProto, type GraphProto, type NodeProto } from '../proto.js';

/** How deep function calls may nest (a hostile file could make a function call itself). */
const MAX_DEPTH = 16;

const key = (domain: string, name: string): string => `${domain}::${name}`;

/**
 * Replaces every call of a model-local function (`ModelProto.functions`, as exporters that keep module
 * boundaries write them) by the function's body, so that gradients flow through its operators. Formal
 * inputs and outputs take the caller's names, the body's own names are prefixed with the caller's label,
 * and attributes that refer to the caller's (`ref_attr_name`) take the caller's values or the function's
 * defaults (read from `source`, the model's bytes). Calls inside bodies are expanded too, up to a nesting
 * depth of 16, and the functions are dropped from the model. Returns whether any call was inlined.
 */
export function inlineFunctions(graph: Graph, source?: Uint8Array): boolean {
  const functions = new Map((graph.model.functions ?? []).map((f) => [key(f.domain, f.name), f]));
  if (functions.size === 0) return false;
  // Default attribute values (IR 9's attribute_proto) are read from the file's bytes: the protobuf schema
  // the model was decoded with predates them.
  if (source) for (const [k, defaults] of functionDefaults(source)) {
    const f = functions.get(k);
    if (f && !f.attributeProto?.length) f.attributeProto = defaults;
  }
  let changed = false;
  const expand = (g: GraphProto, depth: number): void => {
    const nodes: NodeProto[] = [];
    for (const node of g.node) {
      for (const sub of subgraphs(node)) expand(sub, depth);
      const f = functions.get(key(node.domain, node.opType));
      if (!f) {
        nodes.push(node);
        continue;
      }
      if (depth >= MAX_DEPTH) throw new InvalidModelError(`Model-local functions call each other deeper than ${MAX_DEPTH} levels (node '${Graph.label(node)}').`);
      const body: GraphProto = { name: f.name, node: instantiate(f, node), initializer: [], input: [], output: [], valueInfo: [] };
      expand(body, depth + 1);
      for (const n of body.node) nodes.push(n);
      changed = true;
    }
    g.node = nodes;
  };
  expand(graph.graph, 0);
  // Every call is expanded: the functions (which re-encoding would write without their defaults) go.
  graph.model.functions = [];
  if (changed) graph.refresh();
  return changed;
}

/** `attribute_proto` (field 11) of each `ModelProto.functions` entry (field 25), by domain and name. */
function functionDefaults(model: Uint8Array): Map<string, AttributeProto[]> {
  const out = new Map<string, AttributeProto[]>();
  const text = new TextDecoder();
  for (const f of fields(model, 25)) {
    const defaults = fields(f, 11).map((a) => onnx.AttributeProto.decode(a) as unknown as AttributeProto);
    if (defaults.length === 0) continue;
    const name = text.decode(fields(f, 1)[0] ?? new Uint8Array());
    const domain = text.decode(fields(f, 10)[0] ?? new Uint8Array());
    out.set(key(domain, name), defaults);
  }
  return out;
}

/** The body of `f` as called by `call`: names bound to the caller's, attributes resolved. */
function instantiate(f: FunctionProto, call: NodeProto): NodeProto[] {
  const prefix = `${Graph.label(call)}/${f.name}/`;
  const names = new Map<string, string>();
  f.input.forEach((formal, i) => names.set(formal, call.input[i] ?? ''));
  f.output.forEach((formal, i) => names.set(formal, call.output[i] ?? ''));
  const rename = (name: string): string => (name ? (names.get(name) ?? prefix + name) : name);
  const given = new Map(call.attribute.map((a) => [a.name, a]));
  const defaults = new Map((f.attributeProto ?? []).map((a) => [a.name, a]));
  const resolve = (a: AttributeProto): AttributeProto | undefined => {
    if (!a.refAttrName) return a;
    const source = given.get(a.refAttrName) ?? defaults.get(a.refAttrName);
    return source ? { ...source, name: a.name, refAttrName: '' } : undefined;
  };
  return f.node.map((n) => ({
    ...n,
    name: n.name ? prefix + n.name : '',
    input: n.input.map(rename),
    output: n.output.map(rename),
    attribute: n.attribute.map(resolve).filter((a): a is AttributeProto => a !== undefined),
  }));
}
