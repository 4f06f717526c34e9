import * as tf from '@tensorflow/tfjs-core';
import { ArgumentError, ModelError, describeChoices, ShapeError, describeValue, formatShape, shapesEqual, type LayerRef } from '@attribution/tensor';
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

/** Collects, substitutes and perturbs named layer tensors during one model call. */
export class HookContext {
  /** Keys met during the call, in order. */
  readonly seen: string[] = [];
  /** Values of the keys asked for in `capture` (after substitution). */
  readonly captured = new Map<string, tf.Tensor>();

  constructor(
    private readonly capture: ReadonlySet<string>,
    private readonly replace: ReadonlyMap<string, tf.Tensor>,
    private readonly deltas: ReadonlyMap<string, tf.Tensor>,
  ) {}

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
    return this.hook(layerKey({ layer: name, index }), value);
  };

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
}
interface LayerLike {
  readonly name: string;
  readonly inboundNodes: readonly NodeLike[];
  apply(inputs: tf.Tensor | tf.Tensor[], kwargs?: Record<string, unknown>): unknown;
}

/** Whether a LayersModel exposes the graph structure the executor needs. */
export function hasLayerGraph(net: { layers: readonly unknown[]; inputs: readonly unknown[] }): boolean {
  const layers = net.layers as readonly Partial<LayerLike>[];
  return layers.every((l) => typeof l.name === 'string' && Array.isArray(l.inboundNodes) && typeof l.apply === 'function') && (net.inputs as readonly Partial<SymbolicLike>[]).every((s) => typeof s.id === 'number');
}

/**
 * Runs a tf.LayersModel layer by layer (its layers are in topological order), passing every layer's inputs
 * and outputs through the hook context: `name:input:k` and `name` / `name:k`.
 */
export function runLayersModel(
  net: { layers: readonly unknown[]; inputs: readonly unknown[]; outputs: readonly unknown[] },
  inputs: readonly tf.Tensor[],
  ctx: HookContext,
): tf.Tensor[] {
  const values = new Map<number, tf.Tensor>();
  (net.inputs as readonly SymbolicLike[]).forEach((s, i) => values.set(s.id, inputs[i] as tf.Tensor));
  const inputIds = new Set((net.inputs as readonly SymbolicLike[]).map((s) => s.id));
  for (const layer of net.layers as readonly LayerLike[]) {
    for (const node of layer.inboundNodes) {
      if (node.outputTensors.length > 0 && node.outputTensors.every((s) => inputIds.has(s.id))) {
        // An InputLayer: its output is a model input, which can be read, replaced or differentiated by name.
        node.outputTensors.forEach((s, k) => {
          const v = values.get(s.id);
          if (v) values.set(s.id, ctx.hook(k === 0 ? layer.name : `${layer.name}:${k}`, v));
        });
        continue;
      }
      if (node.inputTensors.length === 0 || !node.inputTensors.every((s) => values.has(s.id))) continue;
      if (node.outputTensors.every((s) => values.has(s.id))) continue;
      const xs = node.inputTensors.map((s, k) => ctx.hook(`${layer.name}:input:${k}`, values.get(s.id) as tf.Tensor));
      const raw = layer.apply(xs.length === 1 ? (xs[0] as tf.Tensor) : xs, { training: false });
      const outs = (Array.isArray(raw) ? raw : [raw]) as tf.Tensor[];
      outs.forEach((t, k) => {
        const symbolic = node.outputTensors[k];
        if (symbolic) values.set(symbolic.id, ctx.hook(k === 0 ? layer.name : `${layer.name}:${k}`, t));
      });
    }
  }
  return (net.outputs as readonly SymbolicLike[]).map((s) => {
    const t = values.get(s.id);
    if (!t) throw new ModelError('The LayersModel could not be executed layer by layer (an output was not reached).');
    return t;
  });
}
