import { ArgumentError, BackendError } from '@attribution/tensor';
import { Emitter } from './emitter.js';
import { UnsupportedOperatorError } from './errors.js';
import { getGradient, type GradContext, type GradientRule, type RuleSet } from './gradients/index.js';
import { Graph, type Dim } from './graph.js';
import { attrFloat, attrInt, attrInts, attrString, encodeModel, isFloatType, makeNode, makeValueInfo, type ModelProto, type NodeProto } from './proto.js';
import { inferShapes } from './shapes.js';

/** What to build from a model. */
export interface TransformOptions {
  /** The output explained (default: the first graph output). */
  readonly output?: string;
  /** Tensors (graph inputs or intermediate) to return gradients for. */
  readonly wrt?: readonly string[];
  /** Intermediate tensors to turn into graph inputs of the same name, so their value can be replaced. */
  readonly replace?: readonly string[];
  /** Tensors to return as extra outputs. */
  readonly capture?: readonly string[];
  /**
   * How nonlinearities are differentiated (default `'gradient'`). `'deeplift'` expects a batch of inputs
   * followed by their references and uses DeepLift's Rescale rule; `'guided-backprop'` and
   * `'deconvolution'` change the ReLU backward pass.
   */
  readonly rules?: RuleSet;
}

/** A model input of a transformed model. */
export interface ModelInput {
  readonly name: string;
  readonly elemType: number;
  readonly shape?: readonly Dim[];
}

/** The result of {@link transformModel}. */
export interface TransformedModel {
  /** The serialised ONNX model. */
  readonly bytes: Uint8Array;
  /** The explained output's name (the first graph output of the new model). */
  readonly output: string;
  /** The input carrying the output weights `w`, when gradients were asked for. */
  readonly weights?: string;
  /** Output names of the gradients, one per `wrt` entry. */
  readonly gradients: readonly string[];
  /** Output names of the captured tensors, one per `capture` entry. */
  readonly captured: readonly string[];
  /** The inputs the new model needs, in order. */
  readonly inputs: readonly ModelInput[];
}

export const WEIGHTS_INPUT = '__attribution/w';

/**
 * Builds a model that computes, in one run, the chosen output, the gradient of `sum(output ⊙ w)` with
 * respect to each `wrt` tensor (`w` is a new input fed at run time, so one model serves every target),
 * and the captured tensors. Tensors listed in `replace` become inputs. Nodes the outputs do not need are
 * dropped. Only input gradients are built; weights are constants.
 */
export function transformModel(source: Uint8Array | ModelProto, options: TransformOptions = {}): TransformedModel {
  const graph = new Graph(source);
  if (graph.opset < 11 && (options.wrt?.length ?? 0) > 0) {
    throw new BackendError(`The model uses opset ${graph.opset}; gradient graphs need opset 11 or newer (re-export the model).`);
  }
  inferShapes(graph);
  const g = graph.graph;
  const known = (name: string): boolean => graph.meta.has(name) || graph.initializers.has(name);
  const outputs = g.output.map((o) => o.name);
  const output = options.output ?? (outputs[0] as string);
  const check = (argument: string, name: string): void => {
    if (!known(name) || graph.initializers.has(name)) {
      throw new ArgumentError(argument, `a tensor of the model (outputs: ${outputs.join(', ')})`, `'${name}'`);
    }
  };
  check('output', output);
  for (const name of options.wrt ?? []) check('wrt', name);
  for (const name of options.replace ?? []) check('replace', name);
  for (const name of options.capture ?? []) check('capture', name);

  // Replaced tensors become inputs: their producer's output is renamed (and later dropped if unused).
  for (const name of options.replace ?? []) {
    const producer = graph.producers.get(name);
    if (!producer) continue;
    producer.output = producer.output.map((o) => (o === name ? `${name}/__replaced` : o));
    graph.producers.delete(name);
    const meta = graph.info(name);
    g.input.push(makeValueInfo(name, meta.elemType ?? 1, meta.shape));
  }

  const emitter = new Emitter(graph);
  const newOutputs: { name: string; elemType: number; shape?: Dim[] }[] = [{ name: output, ...metaOf(graph, output) }];
  let gradients: string[] = [];
  let weights: string | undefined;
  if (options.wrt && options.wrt.length > 0) {
    for (const name of options.wrt) {
      if (!graph.isFloat(name)) {
        throw new ArgumentError('wrt', 'floating-point tensors (gradients need real numbers)', `'${name}' of type ${emitter.describeType(name)}`);
      }
    }
    weights = WEIGHTS_INPUT;
    const outMeta = metaOf(graph, output);
    if (!isFloatType(outMeta.elemType)) throw new ArgumentError('output', 'a floating-point output', `'${output}' of type ${emitter.describeType(output)}`);
    g.input.push(makeValueInfo(weights, outMeta.elemType, outMeta.shape));
    graph.meta.set(weights, { elemType: outMeta.elemType, shape: outMeta.shape });
    const raw = backward(graph, emitter, output, weights, options.wrt, options.rules ?? 'gradient');
    gradients = raw.map((r, i) => {
      const name = `__attribution/grad/${i}`;
      emitter.nodes.push(makeNode('Identity', [r], [name]));
      newOutputs.push({ name, ...metaOf(graph, options.wrt?.[i] as string) });
      return name;
    });
  }
  const captured = (options.capture ?? []).map((t, i) => {
    const name = `__attribution/captured/${i}`;
    emitter.nodes.push(makeNode('Identity', [t], [name]));
    newOutputs.push({ name, ...metaOf(graph, t) });
    return name;
  });

  g.node.push(...emitter.nodes);
  g.initializer.push(...emitter.initializers);
  g.output = newOutputs.map((o) => makeValueInfo(o.name, o.elemType, o.shape));
  prune(graph);
  const inputs = graph.inputs.map((vi) => ({ name: vi.name, ...metaOf(graph, vi.name) }));
  return { bytes: encodeModel(graph.model), output, weights, gradients, captured, inputs };
}

function metaOf(graph: Graph, name: string): { elemType: number; shape?: Dim[] } {
  const m = graph.info(name);
  return { elemType: m.elemType ?? 1, shape: m.shape };
}

/** Reverse-mode accumulation from `output` (seeded with `weights`) back to each `wrt` tensor. */
function backward(graph: Graph, e: Emitter, output: string, weights: string, wrt: readonly string[], rules: RuleSet): string[] {
  const nodes = graph.graph.node;
  const opset = graph.opset;
  // Forward: tensors that depend differentiably on a wrt tensor.
  const reached = new Set<string>(wrt);
  const unsupported = new Map<string, NodeProto>();
  const ruleOf = new Map<NodeProto, GradientRule | undefined>();
  for (const node of nodes) {
    const rule = getGradient(node.opType, rules, node.domain);
    ruleOf.set(node, rule);
    const touches = node.input.some((i) => reached.has(i));
    if (!touches) continue;
    if (rule) {
      const slots = typeof rule.inputs === 'function' ? rule.inputs(node, opset) : rule.inputs;
      if (!slots.some((i) => reached.has(node.input[i] ?? ''))) continue;
      for (const o of node.output) if (o && graph.isFloat(o)) reached.add(o);
    } else {
      for (const o of node.output) {
        if (o && (graph.isFloat(o) || graph.info(o).elemType === undefined)) {
          reached.add(o);
          unsupported.set(o, node);
        }
      }
    }
  }
  // Backward: tensors the output depends on.
  const relevant = new Set<string>([output]);
  for (let k = nodes.length - 1; k >= 0; k--) {
    const node = nodes[k] as NodeProto;
    if (node.output.some((o) => relevant.has(o))) for (const i of node.input) if (i) relevant.add(i);
  }
  for (const [name, node] of unsupported) {
    if (relevant.has(name)) throw new UnsupportedOperatorError(node.opType + (node.domain ? ` (domain ${node.domain})` : ''), Graph.label(node));
  }

  const contributions = new Map<string, string[]>([[output, [weights]]]);
  const totals = new Map<string, string>();
  const total = (name: string): string | undefined => {
    const done = totals.get(name);
    if (done) return done;
    const parts = contributions.get(name);
    if (!parts || parts.length === 0) return undefined;
    const sum = e.sum(parts);
    totals.set(name, sum);
    return sum;
  };
  for (let k = nodes.length - 1; k >= 0; k--) {
    const node = nodes[k] as NodeProto;
    const rule = ruleOf.get(node);
    if (!rule || !node.output.some((o) => reached.has(o) && relevant.has(o))) continue;
    const dys = node.output.map((o) => (reached.has(o) ? total(o) : undefined));
    if (dys.every((d) => d === undefined)) continue;
    const slots = typeof rule.inputs === 'function' ? rule.inputs(node, opset) : rule.inputs;
    const needed = slots.filter((i) => reached.has(node.input[i] ?? ''));
    const ctx = context(graph, e, node, dys, needed);
    const grads = rule.backward(ctx);
    for (const i of needed) {
      const gi = grads[i];
      const name = node.input[i] as string;
      if (!gi) continue;
      const list = contributions.get(name) ?? [];
      list.push(gi);
      contributions.set(name, list);
    }
  }
  return wrt.map((name) => total(name) ?? e.zerosLike(name));
}

function context(graph: Graph, e: Emitter, node: NodeProto, dys: (string | undefined)[], needed: number[]): GradContext {
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
      throw new UnsupportedOperatorError(node.opType, label, detail);
    },
  };
}

/** Drops nodes, initializers and inputs the graph outputs do not need. */
function prune(graph: Graph): void {
  const g = graph.graph;
  const needed = new Set<string>(g.output.map((o) => o.name));
  const keep: NodeProto[] = [];
  for (let k = g.node.length - 1; k >= 0; k--) {
    const node = g.node[k] as NodeProto;
    if (node.output.some((o) => needed.has(o))) {
      keep.push(node);
      for (const i of node.input) if (i) needed.add(i);
    }
  }
  g.node = keep.reverse();
  g.initializer = g.initializer.filter((t) => needed.has(t.name));
  g.input = g.input.filter((vi) => needed.has(vi.name) && !graph.initializers.has(vi.name) || (graph.initializers.has(vi.name) && needed.has(vi.name)));
  g.valueInfo = [];
}
