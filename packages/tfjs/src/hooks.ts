import * as tf from '@tensorflow/tfjs-core';
import { ArgumentError, AttributionError, ModelError, describeChoices, ShapeError, describeValue, formatShape, shapesEqual, type LayerRef } from '@attribution/tensor';
import { isTfTensor } from './backend.js';

/**
 * Marks a named layer inside a plain-function model: `tap('hidden', t)` returns `t` (or the value a layer
 * method substitutes) and lets layer methods read, replace and differentiate with respect to it. A layer
 * with several output tensors taps each with its position, `tap('pair', b, 1)` (layer `{ layer: 'pair', index: 1 }`).
 */
export type Tap = (name: string, value: tf.Tensor, index?: number) => tf.Tensor;

/** The key of a layer tensor: `name` (output 0), `name:k` (output k) or `name:input:k`. */
export function layerKey(ref: LayerRef): string {
  const index = ref.index ?? 0;
  if ((ref.side ?? 'output') === 'input') return `${ref.layer}:input:${index}`;
  return index === 0 ? ref.layer : `${ref.layer}:${index}`;
}

/** The gradient tape tfjs is recording, if any. */
export function activeTape(): { id: number }[] | null {
  return (tf.engine().state as unknown as { activeTape: { id: number }[] | null }).activeTape;
}

/** Collects, substitutes and perturbs named layer tensors during one model call. */
export class HookContext {
  /** Keys met during the call, in order. */
  readonly seen: string[] = [];
  /** Values of the keys asked for in `capture` (after substitution). */
  readonly captured = new Map<string, tf.Tensor>();
  /** The layer (its path) that recorded each gradient-tape node, by node id: the innermost layer. */
  readonly layerOfTapeNode = new Map<number, string>();
  /** Tape position at the last tap of a function model: the nodes recorded since belong to the next tap's layer. */
  private lastTap = -1;

  constructor(
    private readonly capture: ReadonlySet<string>,
    private readonly replace: ReadonlyMap<string, tf.Tensor>,
    private readonly deltas: ReadonlyMap<string, tf.Tensor>,
  ) {}

  /** How many nodes the active gradient tape holds (0 outside a gradient computation). */
  tapeLength(): number {
    return activeTape()?.length ?? 0;
  }

  /** Attributes the tape nodes recorded since `start` to `layer` (those not attributed to an inner layer yet). */
  attributeTape(start: number, layer: string): void {
    const tape = activeTape();
    if (!tape) return;
    for (let i = start; i < tape.length; i++) {
      const id = (tape[i] as { id: number }).id;
      if (!this.layerOfTapeNode.has(id)) this.layerOfTapeNode.set(id, layer);
    }
  }

  /** Set for a GraphModel run whose tape nodes must be attributed to graph nodes (see {@link attributeTensors}). */
  attributeGraphNodes = false;

  /**
   * Attributes tape nodes to the layers that computed the given tensors: the node that produced each tensor,
   * and the nodes before it that only fed it (a graph node that runs several kernels), walking the tape back.
   */
  attributeTensors(layerOf: ReadonlyMap<tf.Tensor, string>): void {
    const tape = activeTape() as unknown as { id: number; inputs: Record<string, tf.Tensor | null>; outputs: tf.Tensor[] }[] | null;
    if (!tape) return;
    const named = new Set([...layerOf.keys()].map((t) => t.id));
    const owner = new Map([...layerOf].map(([t, layer]) => [t.id, layer]));
    for (let i = tape.length - 1; i >= 0; i--) {
      const node = tape[i] as (typeof tape)[number];
      const layer = node.outputs.map((t) => owner.get(t.id)).find((l) => l !== undefined);
      if (layer === undefined) continue;
      if (!this.layerOfTapeNode.has(node.id)) this.layerOfTapeNode.set(node.id, layer);
      for (const t of Object.values(node.inputs)) if (t && !named.has(t.id) && !owner.has(t.id)) owner.set(t.id, layer);
    }
  }

  /** The value given for a layer tensor, if it is replaced. */
  replacement(key: string): tf.Tensor | undefined {
    return this.replace.get(key);
  }

  /** Passes a layer tensor through: replaced, perturbed by a zero delta, and recorded as asked. */
  hook(key: string, value: tf.Tensor): tf.Tensor {
    if (this.seen.includes(key)) {
      throw new ModelError(`The layer tensor '${key}' was met twice in one call; give every tap its own name (shared layers are not supported).`);
    }
    this.seen.push(key);
    let out = value;
    const replacement = this.replace.get(key);
    if (replacement !== undefined) {
      if (!shapesEqual(replacement.shape, value.shape)) {
        throw new ShapeError(`replacement for layer '${key}'`, `shape ${formatShape(value.shape)}`, `shape ${formatShape(replacement.shape)}`);
      }
      out = replacement;
    }
    const delta = this.deltas.get(key);
    if (delta !== undefined) out = tf.add(out, delta);
    if (this.capture.has(key)) this.captured.set(key, out);
    return out;
  }

  /** The `tap` handed to function models. */
  readonly tap: Tap = (name, value, index = 0) => {
    if (typeof name !== 'string' || !isTfTensor(value)) {
      throw new ArgumentError('tap(name, tensor)', 'a layer name and a tf.Tensor', `${describeValue(name)} and ${describeValue(value)}`);
    }
    if (!Number.isInteger(index) || index < 0) throw new ArgumentError('tap(name, tensor, index)', 'a non-negative integer output index', describeValue(index));
    // The ops since the previous tap computed this layer (function models run their layers in sequence).
    if (this.lastTap >= 0) this.attributeTape(this.lastTap, name);
    const out = this.hook(layerKey({ layer: name, index }), value);
    this.lastTap = this.tapeLength();
    return out;
  };

  /** Marks the tape position where a function model starts running (its first layer's ops follow). */
  startTaps(): void {
    this.lastTap = this.tapeLength();
  }

  /** Throws when a requested layer tensor was never met, listing those that were. */
  checkAllSeen(keys: Iterable<string>, available: readonly string[] = this.seen): void {
    for (const key of keys) {
      if (!this.seen.includes(key)) {
        throw new ArgumentError(
          'layer',
          available.length ? describeChoices("the model's layers", key, available) : 'a layer tapped by the model (it taps none)',
          `'${key}'`,
        );
      }
    }
  }
}

/** The parts of tfjs-layers' symbolic graph the executor walks (no dependency on tfjs-layers). */
interface SymbolicLike {
  readonly id: number;
}
interface NodeLike {
  readonly inputTensors: readonly SymbolicLike[];
  readonly outputTensors: readonly SymbolicLike[];
  readonly inboundLayers?: readonly LayerLike[];
}
interface LayerLike {
  readonly name: string;
  readonly inboundNodes: readonly NodeLike[];
  apply(inputs: tf.Tensor | tf.Tensor[], kwargs?: Record<string, unknown>): unknown;
  getClassName?(): string;
  readonly dataFormat?: unknown;
}
/** A LayersModel, or a model used as a layer inside one. */
export interface ContainerLike {
  readonly layers: readonly unknown[];
  readonly inputs: readonly unknown[];
  readonly outputs: readonly unknown[];
}

/** Whether a layer is itself a model (functional or sequential) whose layers can be walked. */
function isContainer(layer: unknown): layer is LayerLike & ContainerLike {
  const l = layer as Partial<ContainerLike> | null;
  return !!l && Array.isArray(l.layers) && Array.isArray(l.inputs) && Array.isArray(l.outputs) && l.layers.length > 0 && hasLayerGraph(l as ContainerLike);
}

/** Whether a LayersModel exposes the graph structure the executor needs. */
export function hasLayerGraph(net: { layers: readonly unknown[]; inputs: readonly unknown[] }): boolean {
  const layers = net.layers as readonly Partial<LayerLike>[];
  return layers.every((l) => typeof l.name === 'string' && Array.isArray(l.inboundNodes) && typeof l.apply === 'function') && (net.inputs as readonly Partial<SymbolicLike>[]).every((s) => typeof s.id === 'number');
}

/**
 * Every layer of a LayersModel by its path: top-level layers by name, layers of a model used as a layer by
 * `outer/inner` (nested as deep as the models are), in execution order.
 */
export function layerPaths(net: ContainerLike, prefix = ''): Map<string, LayerLike> {
  const paths = new Map<string, LayerLike>();
  const stack: [ContainerLike, string, number][] = [[net, prefix, 0]];
  while (stack.length > 0) {
    const top = stack[stack.length - 1] as [ContainerLike, string, number];
    const [container, at, i] = top;
    const layer = container.layers[i] as LayerLike | undefined;
    if (!layer) {
      stack.pop();
      continue;
    }
    top[2] = i + 1;
    const path = `${at}${layer.name}`;
    paths.set(path, layer);
    if (isContainer(layer)) stack.push([layer, `${path}/`, 0]);
  }
  return paths;
}

/**
 * Errors that name where tfjs failed (a layer, an op) around tfjs's own error, its `cause`: the adapter still
 * reads the cause to tell a disposed model from a failing one.
 */
export const namedFailures = new WeakSet<Error>();

/** What to do about a tfjs failure whose message says what it is, if it does. */
export function failureHint(message: string): string {
  if (/Aborted\(\)|Cannot enlarge memory|out of memory|OOM/i.test(message)) {
    return ' (The backend ran out of memory: tfjs-wasm has at most 4 GB, a GPU its own. Pass a smaller internalBatchSize, or perturbationsPerEval for perturbation methods.)';
  }
  return '';
}

/** What a layer's failure says: the layer's path and class, and tfjs's message. */
function layerFailure(path: string, layer: LayerLike, error: unknown): Error {
  if (error instanceof AttributionError) return error;
  const type = typeof layer.getClassName === 'function' ? layer.getClassName() : 'layer';
  const message = error instanceof Error ? error.message : String(error);
  const failure = new ModelError(`Layer '${path}' (${type}) failed: ${message}${failureHint(message)}`, { cause: error });
  namedFailures.add(failure);
  return failure;
}

/**
 * Runs a tf.LayersModel layer by layer (its layers are in topological order), passing every layer's inputs
 * and outputs through the hook context: `name:input:k` and `name` / `name:k`; layers of a model used as a layer
 * are run the same way under `outer/inner` names. A layer that fails is named in a ModelError; the tape nodes
 * each layer records are attributed to it in `ctx.layerOfTapeNode` (for failures in the backward pass).
 */
export function runLayersModel(net: ContainerLike, inputs: readonly tf.Tensor[], ctx: HookContext, prefix = ''): tf.Tensor[] {
  // As apply() would: a disposed model says so before any of its layers does.
  (net as { assertNotDisposed?(): void }).assertNotDisposed?.();
  const values = new Map<number, tf.Tensor>();
  (net.inputs as readonly SymbolicLike[]).forEach((s, i) => values.set(s.id, inputs[i] as tf.Tensor));
  const inputIds = new Set((net.inputs as readonly SymbolicLike[]).map((s) => s.id));
  for (const layer of net.layers as readonly LayerLike[]) {
    const path = `${prefix}${layer.name}`;
    for (const node of layer.inboundNodes) {
      if (node.outputTensors.length > 0 && node.outputTensors.every((s) => inputIds.has(s.id))) {
        // An InputLayer: its output is a model input, which can be read, replaced or differentiated by name.
        node.outputTensors.forEach((s, k) => {
          const v = values.get(s.id);
          if (v) values.set(s.id, ctx.hook(k === 0 ? path : `${path}:${k}`, v));
        });
        continue;
      }
      if (node.inputTensors.length === 0 || !node.inputTensors.every((s) => values.has(s.id))) continue;
      if (node.outputTensors.every((s) => values.has(s.id))) continue;
      const xs = node.inputTensors.map((s, k) => ctx.hook(`${path}:input:${k}`, values.get(s.id) as tf.Tensor));
      const start = ctx.tapeLength();
      let outs: tf.Tensor[];
      try {
        const raw = isContainer(layer) ? runLayersModel(layer, xs, ctx, `${path}/`) : layer.apply(xs.length === 1 ? (xs[0] as tf.Tensor) : xs, { training: false });
        outs = (Array.isArray(raw) ? raw : [raw]) as tf.Tensor[];
      } catch (e) {
        throw layerFailure(path, layer, e);
      }
      ctx.attributeTape(start, path);
      outs.forEach((t, k) => {
        const symbolic = node.outputTensors[k];
        if (symbolic) values.set(symbolic.id, ctx.hook(k === 0 ? path : `${path}:${k}`, t));
      });
    }
  }
  return (net.outputs as readonly SymbolicLike[]).map((s) => {
    const t = values.get(s.id);
    if (!t) throw new ModelError(`The LayersModel${prefix ? ` '${prefix.slice(0, -1)}'` : ''} could not be executed layer by layer (an output was not reached).`);
    return t;
  });
}

/**
 * The data format a layer computes in: its own `dataFormat` (convolutions, pools), else the nearest upstream
 * layer's; undefined when none says.
 */
export function layerDataFormat(layer: LayerLike): 'channelsFirst' | 'channelsLast' | undefined {
  const seen = new Set<LayerLike>();
  let frontier: LayerLike[] = [layer];
  for (let depth = 0; depth < 64 && frontier.length > 0; depth++) {
    const next: LayerLike[] = [];
    for (const l of frontier) {
      if (l.dataFormat === 'channelsFirst' || l.dataFormat === 'channelsLast') return l.dataFormat;
      for (const node of l.inboundNodes ?? []) {
        for (const up of node.inboundLayers ?? []) {
          if (!seen.has(up)) {
            seen.add(up);
            next.push(up);
          }
        }
      }
    }
    frontier = next;
  }
  return undefined;
}

/**
 * Makes a failure in the backward pass of the tape nodes recorded since `start` a ModelError naming the op
 * (tfjs's kernel or op name) and, where known, the layer that recorded it.
 */
export function nameBackwardFailures(start: number, layerOf: ReadonlyMap<number, string>): void {
  const tape = activeTape() as { id: number; kernelName?: string; gradient?: (dys: tf.Tensor[]) => Record<string, () => tf.Tensor> }[] | null;
  if (!tape) return;
  for (let i = start; i < tape.length; i++) {
    const node = tape[i] as (typeof tape)[number];
    const original = node.gradient;
    if (!original) continue;
    const fail = (e: unknown): Error => {
      if (e instanceof AttributionError) return e;
      const layer = layerOf.get(node.id);
      const message = e instanceof Error ? e.message : String(e);
      // Custom gradients are recorded under the enclosing scope's name, which is no kernel.
      const kernel = node.kernelName !== undefined && tf.getKernel(node.kernelName, tf.getBackend()) !== undefined;
      const op = kernel ? `op '${node.kernelName}'` : 'a custom-gradient op';
      const failure = new ModelError(`The gradient of ${op}${layer ? ` in layer '${layer}'` : ''} failed: ${message}${failureHint(message)}`, { cause: e });
      namedFailures.add(failure);
      return failure;
    };
    node.gradient = (dys) => {
      let grads: Record<string, () => tf.Tensor>;
      try {
        grads = original(dys);
      } catch (e) {
        throw fail(e);
      }
      const named: Record<string, () => tf.Tensor> = {};
      for (const [input, compute] of Object.entries(grads)) {
        named[input] = () => {
          try {
            return compute();
          } catch (e) {
            throw fail(e);
          }
        };
      }
      return named;
    };
  }
}
