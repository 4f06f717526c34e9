import { ArgumentError } from '@attribution/tensor';
import { nodeContext } from './context.js';
import { expandNodes, getDecomposition, isExpansion } from './decompose/index.js';
import { Emitter } from './emitter.js';
import { UnsupportedOperatorError, type UnsupportedOperator } from './errors.js';
import { getGradient, type GradientRule, type RuleSet } from './gradients/index.js';
import { checkLrpRules, isLrp, lrpGradient, UnsupportedLrpLayerError, type LrpOptions } from './lrp/index.js';
import { Graph, nodeReads, type Dim } from './graph.js';
import { foldConstants } from './passes/fold.js';
import { inlineFunctions } from './passes/inline-functions.js';
import { inlineConstantIfs } from './passes/inline-if.js';
import { prune } from './passes/prune.js';
import { specialiseInputs, specialiseValues } from './passes/specialise.js';
import { topoSort } from './passes/topo-sort.js';
import { upgradeOpset } from './passes/upgrade.js';
import { encodeModel, isFloatType, makeNode, makeValueInfo, toNumber, typeName, type ModelProto, type NodeProto } from './proto.js';
import { checkLimit, type BuildLimits } from './limits.js';
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
   * Floating-point initializers (weights) to turn into graph inputs of the same name: their values are fed
   * at run time (the model's own, or another checkpoint's), and gradients may be taken with respect to them
   * (list them in `wrt` too). Constant folding leaves whatever depends on them.
   */
  readonly params?: readonly string[];
  /**
   * How nonlinearities are differentiated (default `'gradient'`). `'deeplift'` expects a batch of inputs
   * followed by their references and uses DeepLift's Rescale rule; `'guided-backprop'` and
   * `'deconvolution'` change the ReLU backward pass. `{ lrp: { rules } }` propagates relevance with
   * Captum's LRP rules (see `lrp/`): the "gradients" returned are relevances.
   */
  readonly rules?: RuleSet | { readonly lrp: LrpOptions };
  /**
   * Concrete shapes of the inputs (graph inputs and replaced tensors, by name) the model will be run with.
   * With them the shape arithmetic of the graph (`Shape → Gather → … → Reshape`) folds to constants before
   * the backward graph is built; the model built is then valid for these shapes only. See
   * {@link hasShapeArithmetic}.
   */
  readonly inputShapes?: Readonly<Record<string, readonly number[]>>;
  /**
   * Values of scalar integer or boolean inputs (a sample rate, a flag) to build the gradient model for:
   * they become constants, so control flow on them folds (an `If` on them is inlined). The inputs disappear
   * from the model built.
   */
  readonly inputValues?: Readonly<Record<string, readonly number[]>>;
  /** Bounds on what the builder creates (nodes, constant sizes); see {@link BuildLimits}. */
  readonly limits?: BuildLimits;
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
 * dropped. Weights are constants, except the initializers listed in `params`, which become inputs that may
 * be differentiated.
 *
 * The passes, in order: calls of model-local functions expanded; topological sort; concrete input shapes (`inputShapes`) and values
 * (`inputValues`); shape inference; for gradients, models of opset 7–10 converted to opset 11; replaced
 * tensors become inputs; and, for gradients, constant folding with `If`s on constant conditions inlined,
 * then decompositions of operators without a rule (RNNs unrolled); the backward graph; pruning.
 */
export function transformModel(source: Uint8Array | ModelProto, options: TransformOptions = {}): TransformedModel {
  const graph = new Graph(source);
  const wantsGradients = (options.wrt?.length ?? 0) > 0;
  // Model-local functions are expanded into their operators (the plain forward pass runs the file itself).
  inlineFunctions(graph, source instanceof Uint8Array ? source : undefined);
  topoSort(graph.graph);
  graph.refresh();
  if (options.params?.length) paramsToInputs(graph, options.params);
  if (options.inputShapes) specialiseInputs(graph, options.inputShapes, options.replace ?? []);
  if (options.inputValues && wantsGradients) specialiseValues(graph, options.inputValues);
  inferShapes(graph);
  // Backward rules write opset 11 and newer: older models are converted first (gradients only).
  if (wantsGradients && upgradeOpset(graph)) inferShapes(graph);
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
    const meta = graph.info(name);
    const shape = options.inputShapes?.[name] ?? meta.shape;
    g.input.push(makeValueInfo(name, meta.elemType ?? 1, shape));
  }
  graph.refresh();
  if (options.replace?.length) inferShapes(graph);

  const newOutputs: { name: string; elemType: number; shape?: Dim[] }[] = [{ name: output, ...metaOf(graph, output) }];
  let gradients: string[] = [];
  let weights: string | undefined;
  checkLimit('maxNodes', graph.graph.node.length, options.limits, 'The model\'s node count');
  let emitter = new Emitter(graph, '__grad', options.limits);
  if (options.wrt && wantsGradients) {
    for (const name of options.wrt) {
      if (!graph.isFloat(name)) {
        throw new ArgumentError('wrt', 'floating-point tensors (gradients need real numbers)', `'${name}' of type ${emitter.describeType(name)}`);
      }
    }
    const outMeta = metaOf(graph, output);
    if (!isFloatType(outMeta.elemType)) throw new ArgumentError('output', 'a floating-point output', `'${output}' of type ${emitter.describeType(output)}`);
    const rules = options.rules ?? 'gradient';
    if (isLrp(rules)) checkLrpRules(graph, rules.lrp);
    simplify(graph, output, options.wrt, rules, options.limits);
    emitter = new Emitter(graph, '__grad', options.limits);
    weights = WEIGHTS_INPUT;
    const weightsMeta = metaOf(graph, output);
    g.input.push(makeValueInfo(weights, weightsMeta.elemType, weightsMeta.shape));
    graph.meta.set(weights, { elemType: weightsMeta.elemType, shape: weightsMeta.shape });
    newOutputs[0] = { name: output, ...weightsMeta };
    let raw: string[];
    try {
      raw = backward(graph, emitter, output, weights, options.wrt, rules);
    } catch (e) {
      if (isLrp(rules) && e instanceof UnsupportedOperatorError) throw new UnsupportedLrpLayerError(e.operators);
      throw e;
    }
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

  checkLimit('maxNodes', g.node.length + emitter.nodes.length, options.limits, 'The gradient model\'s node count');
  // (No spreading: a gradient model can have hundreds of thousands of nodes.)
  for (const n of emitter.nodes) g.node.push(n);
  for (const t of emitter.initializers) g.initializer.push(t);
  g.output = newOutputs.map((o) => makeValueInfo(o.name, o.elemType, o.shape));
  prune(g);
  graph.refresh();
  const inputs = graph.inputs.map((vi) => ({ name: vi.name, ...metaOf(graph, vi.name) }));
  return { bytes: encodeModel(graph.model), output, weights, gradients, captured, inputs };
}

/** Turns initializers into graph inputs of the same name (see {@link TransformOptions.params}). */
function paramsToInputs(graph: Graph, params: readonly string[]): void {
  const g = graph.graph;
  const floats = g.initializer.filter((t) => isFloatType(t.dataType)).map((t) => t.name);
  for (const name of params) {
    const init = graph.initializers.get(name);
    if (!init || !isFloatType(init.dataType)) {
      const listed = floats.slice(0, 8).map((n) => `'${n}'`).join(', ');
      throw new ArgumentError('params', `floating-point initializers (weights) of the model (${floats.length} of them: ${listed}${floats.length > 8 ? ', …' : ''})`, `'${name}'${init ? ` of type ${typeName(init.dataType)}` : ''}`);
    }
    const dims = init.dims.map((d) => toNumber(d));
    g.initializer = g.initializer.filter((t) => t.name !== name);
    // Models of IR version < 4 list their initializers among the inputs too.
    if (!g.input.some((i) => i.name === name)) g.input.push(makeValueInfo(name, init.dataType, dims));
  }
  graph.refresh();
}

function metaOf(graph: Graph, name: string): { elemType: number; shape?: Dim[] } {
  const m = graph.info(name);
  return { elemType: m.elemType ?? 1, shape: m.shape };
}

type Rules = RuleSet | { readonly lrp: LrpOptions };

/** The backward rule of an operator in a rule set (LRP's rule set lives in `lrp/`). */
function ruleFor(opType: string, rules: Rules, domain: string): GradientRule | undefined {
  return isLrp(rules) ? lrpGradient(opType, domain, rules.lrp) : getGradient(opType, rules, domain);
}

/**
 * Reduces the graph before differentiating it: constant folding (with the shape inference it needs) and
 * inlining of `If`s whose condition became constant, until nothing changes; then decompositions of the
 * operators on the gradient path that have no rule, and folding again.
 */
function simplify(graph: Graph, output: string, wrt: readonly string[], rules: Rules, limits?: BuildLimits): void {
  const settle = (): void => {
    for (let round = 0; round < 32; round++) {
      const folded = foldConstants(graph);
      const inlined = inlineConstantIfs(graph);
      if (!folded && !inlined) return;
    }
  };
  settle();
  const { onPath } = analyse(graph, output, wrt, rules);
  const expanded = expandNodes(graph, (node) => onPath.has(node) && !ruleFor(node.opType, rules, node.domain) && getDecomposition(node.opType, node.domain) !== undefined, limits);
  if (expanded) {
    topoSort(graph.graph);
    graph.refresh();
    settle();
  }
  inferShapes(graph);
}

/** Which tensors the backward pass visits, the rule of each node, and the nodes without a usable rule. */
interface Analysis {
  /** Tensors that depend differentiably on a `wrt` tensor. */
  readonly reached: Set<string>;
  /** Tensors the output depends on. */
  readonly relevant: Set<string>;
  readonly ruleOf: Map<NodeProto, GradientRule | undefined>;
  /** Nodes between the `wrt` tensors and the output. */
  readonly onPath: Set<NodeProto>;
  /** Nodes on the path without a rule. */
  readonly missing: NodeProto[];
}

/**
 * Forward from the `wrt` tensors (through every name a node reads, subgraphs included) and backward from
 * the output. Integer, boolean and piecewise-constant paths are not reached, so masks, positions, ids and
 * shape arithmetic need no rule.
 */
function analyse(graph: Graph, output: string, wrt: readonly string[], rules: Rules): Analysis {
  const nodes = graph.graph.node;
  const opset = graph.opset;
  const reached = new Set<string>(wrt);
  const ruleOf = new Map<NodeProto, GradientRule | undefined>();
  const touching: NodeProto[] = [];
  for (const node of nodes) {
    // Nodes of an expansion (an unrolled LSTM's gates) take ordinary gradients in every rule set.
    const rule = ruleFor(node.opType, isExpansion(node) ? 'gradient' : rules, node.domain);
    ruleOf.set(node, rule);
    if (!nodeReads(node).some((i) => reached.has(i))) continue;
    if (rule) {
      const slots = typeof rule.inputs === 'function' ? rule.inputs(node, opset) : rule.inputs;
      if (!slots.some((i) => reached.has(node.input[i] ?? ''))) continue;
      for (const o of node.output) if (o && (graph.isFloat(o) || rule.straightThrough)) reached.add(o);
      touching.push(node);
    } else {
      let differentiable = false;
      for (const o of node.output) {
        if (o && (graph.isFloat(o) || graph.info(o).elemType === undefined)) {
          reached.add(o);
          differentiable = true;
        }
      }
      if (differentiable) touching.push(node);
    }
  }
  const relevant = new Set<string>([output]);
  for (let k = nodes.length - 1; k >= 0; k--) {
    const node = nodes[k] as NodeProto;
    if (node.output.some((o) => relevant.has(o))) for (const i of nodeReads(node)) relevant.add(i);
  }
  const onPath = new Set(touching.filter((n) => n.output.some((o) => reached.has(o) && relevant.has(o))));
  const missing = [...onPath].filter((n) => !ruleOf.get(n));
  return { reached, relevant, ruleOf, onPath, missing };
}

/** Groups unsupported nodes by operator type, in graph order. */
function group(entries: readonly { node: NodeProto; detail?: string }[]): UnsupportedOperator[] {
  const byType = new Map<string, { opType: string; count: number; node: string; detail?: string }>();
  for (const { node, detail } of entries) {
    const opType = node.domain && node.domain !== 'ai.onnx' ? `${node.domain}.${node.opType}` : node.opType;
    const entry = byType.get(opType);
    if (entry) entry.count++;
    else byType.set(opType, { opType, count: 1, node: Graph.label(node), detail });
  }
  return [...byType.values()];
}

/** What finite differences would cost for these tensors, for the refusal's advice. */
function finiteDifferenceCost(graph: Graph, wrt: readonly string[]): string | undefined {
  const sizes = wrt.map((name) => graph.info(name).shape?.slice(1));
  if (!sizes.every((s): s is Dim[] => s !== undefined && s.every((d) => typeof d === 'number'))) return undefined;
  const elements = sizes.reduce((a, s) => a + (s as number[]).reduce((p, d) => p * d, 1), 0);
  return `Here finite differences cost ${(2 * elements).toLocaleString('en-US')} forward evaluations per example for each gradient.`;
}

/**
 * The operators without a usable backward rule between `wrt` and `output` (empty when gradients can be
 * built): what `attribution inspect` reports and what {@link transformModel} refuses.
 */
export function unsupportedOperators(source: Uint8Array | ModelProto, options: Pick<TransformOptions, 'output' | 'wrt' | 'rules' | 'inputShapes'> = {}): UnsupportedOperator[] {
  try {
    transformModel(source, { ...options, wrt: options.wrt ?? new Graph(source).inputs.filter((i) => isFloatType(i.type?.tensorType?.elemType ?? undefined)).map((i) => i.name) });
    return [];
  } catch (e) {
    if (e instanceof UnsupportedOperatorError) return [...e.operators];
    throw e;
  }
}

/** Reverse-mode accumulation from `output` (seeded with `weights`) back to each `wrt` tensor. */
function backward(graph: Graph, e: Emitter, output: string, weights: string, wrt: readonly string[], rules: Rules): string[] {
  const nodes = graph.graph.node;
  const opset = graph.opset;
  const { reached, relevant, ruleOf, missing } = analyse(graph, output, wrt, rules);
  const refused: { node: NodeProto; detail?: string }[] = missing.map((node) => ({ node }));

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
    let grads: ReadonlyArray<string | undefined>;
    try {
      grads = rule.backward(nodeContext(graph, e, node, dys, needed));
    } catch (error) {
      // Keep going, so that one error names every operator the model needs. Once an operator is missing,
      // other failures (unknown shapes after it) are its consequences.
      if (error instanceof UnsupportedOperatorError) refused.push({ node, detail: error.operators[0]?.detail });
      else if (refused.length === 0) throw error;
      // Zeros stand in for the refused node's input gradients, so that the nodes before it are visited and
      // refused too (the model is not built).
      grads = node.input.map((name, i) => (needed.includes(i) ? e.zerosLike(name) : undefined));
    }
    for (const i of needed) {
      const gi = grads[i];
      const name = node.input[i] as string;
      if (!gi) continue;
      const list = contributions.get(name) ?? [];
      list.push(gi);
      contributions.set(name, list);
    }
  }
  if (refused.length > 0) {
    const order = new Map(nodes.map((n, k) => [n, k]));
    refused.sort((a, b) => (order.get(a.node) ?? 0) - (order.get(b.node) ?? 0));
    throw new UnsupportedOperatorError(group(refused), undefined, undefined, finiteDifferenceCost(graph, wrt));
  }
  return wrt.map((name) => total(name) ?? e.zerosLike(name));
}
