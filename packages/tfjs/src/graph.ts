import type * as tf from '@tensorflow/tfjs-core';
import { ArgumentError, describeChoices, type LayerRef } from '@attribution/tensor';
import { layerKey, type HookContext } from './hooks.js';

/**
 * Layer access on a tf.GraphModel: its intermediate tensors are named by node (`name` or `name:k` for a node's
 * k-th output). A node's value is computed with `execute(feed, name)`; replacing it, or differentiating with
 * respect to it, feeds it back: `execute({ ...inputs, [name]: value })` runs the rest of the graph from there
 * (tfjs-converter stops at fed nodes; branches that bypass the node are computed from the inputs).
 */

/** The parts of tfjs-converter's graph the adapter reads (no dependency on tfjs-converter). */
interface GraphNodeLike {
  readonly name: string;
  readonly op: string;
  readonly inputNames: readonly string[];
  readonly inputs: readonly GraphNodeLike[];
  readonly attrParams?: Record<string, { value?: unknown } | undefined>;
}

/** The parts of a tf.GraphModel used here. */
export interface GraphModelInternals {
  execute(inputs: tf.NamedTensorMap, outputs?: string | string[]): tf.Tensor | tf.Tensor[];
  readonly inputNodes: readonly string[];
  readonly outputNodes?: readonly string[];
  readonly weights?: Record<string, readonly tf.Tensor[]>;
  readonly executor?: { readonly graph?: { readonly nodes?: Record<string, GraphNodeLike> } };
}

/** Ops whose outputs are not computed values: weights and inputs are named by their own node. */
const NOT_LAYERS = new Set(['Const', 'NoOp']);

/** The graph's nodes, or undefined when the model does not expose them. */
function nodesOf(net: GraphModelInternals): Record<string, GraphNodeLike> | undefined {
  return net.executor?.graph?.nodes;
}

/** Node names a LayerRef may use on a GraphModel, in graph order. */
export function graphLayerNames(net: GraphModelInternals): string[] {
  const nodes = nodesOf(net);
  return nodes ? Object.values(nodes).filter((n) => !NOT_LAYERS.has(n.op)).map((n) => n.name) : [];
}

/**
 * The float weights of a GraphModel (`Const` nodes), in the order nodes first read them, each named by its node
 * and attributed to the first node that reads it.
 */
export function graphParameters(net: GraphModelInternals): { name: string; shape: number[]; layer: string; tensor: tf.Tensor }[] {
  const nodes = nodesOf(net);
  if (!nodes || !net.weights) return [];
  const order = topologicalIndex(nodes);
  const readers = Object.values(nodes).sort((a, b) => (order.get(a.name) ?? 0) - (order.get(b.name) ?? 0));
  const seen = new Set<string>();
  const list: { name: string; shape: number[]; layer: string; tensor: tf.Tensor }[] = [];
  for (const node of readers) {
    for (const input of node.inputs) {
      const tensor = input.op === 'Const' ? net.weights[input.name]?.[0] : undefined;
      if (!tensor || seen.has(input.name) || tensor.dtype !== 'float32') continue;
      seen.add(input.name);
      list.push({ name: input.name, shape: [...tensor.shape], layer: node.name, tensor });
    }
  }
  return list;
}

function splitName(name: string): [string, number] {
  const m = /^(.*):(\d+)$/.exec(name);
  return m ? [m[1] as string, Number(m[2])] : [name, 0];
}

/** The tensor name (`node` or `node:k`) a LayerRef designates on a GraphModel; throws listing candidates. */
export function graphTensorName(net: GraphModelInternals, ref: LayerRef): string {
  const nodes = nodesOf(net);
  if (!nodes) throw new ArgumentError('layer', 'a tf.GraphModel that exposes its graph (model.executor.graph)', 'a model without one');
  const [name, suffix] = splitName(ref.layer);
  const node = nodes[name];
  if (!node || NOT_LAYERS.has(node.op)) {
    throw new ArgumentError('layer', describeChoices("the graph's nodes", ref.layer, graphLayerNames(net), 'list them with listLayers(model)'), `'${ref.layer}'`);
  }
  if ((ref.side ?? 'output') === 'input') {
    const input = node.inputNames[ref.index ?? 0];
    if (input === undefined) throw new ArgumentError('layer', `an input index in [0, ${node.inputNames.length}) of node '${name}'`, String(ref.index ?? 0));
    return input;
  }
  const index = ref.index ?? suffix;
  return index === 0 ? name : `${name}:${index}`;
}

/** The data format a node computes in (`NHWC`/`NCHW` attributes of convolutions, pools, batch norms), searched upstream. */
export function graphDataFormat(net: GraphModelInternals, tensor: string): 'channelsFirst' | 'channelsLast' | undefined {
  const nodes = nodesOf(net);
  if (!nodes) return undefined;
  const seen = new Set<string>();
  let frontier: GraphNodeLike[] = [nodes[splitName(tensor)[0]] as GraphNodeLike].filter(Boolean);
  // Breadth-first, bounded: the nearest node that states a format decides.
  for (let depth = 0; depth < 64 && frontier.length > 0; depth++) {
    const next: GraphNodeLike[] = [];
    for (const node of frontier) {
      const format = node.attrParams?.dataFormat?.value;
      if (typeof format === 'string' && /^N.*C$/i.test(format)) return 'channelsLast';
      if (typeof format === 'string' && /^NC/i.test(format)) return 'channelsFirst';
      for (const input of node.inputs) {
        if (!seen.has(input.name) && !NOT_LAYERS.has(input.op)) {
          seen.add(input.name);
          next.push(input);
        }
      }
    }
    frontier = next;
  }
  return undefined;
}

/** Position of every node in a topological order of the graph (inputs first). */
const orders = new WeakMap<object, Map<string, number>>();

function topologicalIndex(nodes: Record<string, GraphNodeLike>): Map<string, number> {
  const cached = orders.get(nodes);
  if (cached) return cached;
  const order = new Map<string, number>();
  const state = new Map<string, 'open' | 'done'>();
  for (const root of Object.values(nodes)) {
    if (state.has(root.name)) continue;
    const stack: [GraphNodeLike, number][] = [[root, 0]];
    state.set(root.name, 'open');
    while (stack.length > 0) {
      const top = stack[stack.length - 1] as [GraphNodeLike, number];
      const [node, i] = top;
      const child = node.inputs[i];
      if (child) {
        top[1] = i + 1;
        if (!state.has(child.name)) {
          state.set(child.name, 'open');
          stack.push([child, 0]);
        }
        continue;
      }
      stack.pop();
      state.set(node.name, 'done');
      order.set(node.name, order.size);
    }
  }
  orders.set(nodes, order);
  return order;
}

/**
 * Runs a GraphModel once, passing the requested intermediate tensors through the hook context (replaced,
 * perturbed, captured) in graph order, and returns the model's outputs.
 */
export function runGraphModel(net: GraphModelInternals, inputs: readonly tf.Tensor[], ctx: HookContext, refs: readonly LayerRef[]): tf.Tensor | tf.Tensor[] {
  const feed: tf.NamedTensorMap = {};
  net.inputNodes.forEach((name, i) => (feed[name] = inputs[i] as tf.Tensor));
  const nodes = nodesOf(net);
  const index = nodes ? topologicalIndex(nodes) : new Map<string, number>();
  const requested = new Map<string, { key: string; tensor: string }>();
  for (const ref of refs) {
    const key = layerKey(ref);
    if (!requested.has(key)) requested.set(key, { key, tensor: graphTensorName(net, ref) });
  }
  const ordered = [...requested.values()].sort((a, b) => (index.get(splitName(a.tensor)[0]) ?? 0) - (index.get(splitName(b.tensor)[0]) ?? 0));
  for (const { key, tensor } of ordered) {
    const value = ctx.replacement(key) ?? (feed[tensor] as tf.Tensor | undefined) ?? (net.execute({ ...feed }, tensor) as tf.Tensor);
    feed[tensor] = ctx.hook(key, value);
  }
  if (!ctx.attributeGraphNodes || !net.outputNodes) return net.execute(feed);
  // Every node's output too, so that the tape nodes each one records are attributed to it (LRP's rules by
  // node name, and the names in its refusals).
  const outputs = [...net.outputNodes];
  const named = graphLayerNames(net).filter((n) => !(n in feed) && !outputs.includes(n));
  const all = net.execute(feed, [...outputs, ...named]) as tf.Tensor[];
  ctx.attributeTensors(new Map([...outputs, ...named].map((n, i) => [all[i] as tf.Tensor, n])));
  return outputs.length === 1 ? (all[0] as tf.Tensor) : all.slice(0, outputs.length);
}
