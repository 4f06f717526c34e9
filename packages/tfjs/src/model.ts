import * as tf from '@tensorflow/tfjs-core';
import {
  ArgumentError,
  AttributionError,
  BackendError,
  ModelError,
  ShapeError,
  describeValue,
  formatShape,
  shapesEqual,
  type ForwardRequest,
  type ForwardResult,
  type GradientRequest,
  type GradientResult,
  type LayerRef,
  type Model,
} from '@attribution/tensor';
import { isTfTensor, tfjsBackend } from './backend.js';
import { withBackwardRule } from './rules.js';

/**
 * Marks a named layer inside a plain-function model: `tap('hidden', t)` returns `t` (or the value a layer
 * method substitutes) and lets layer methods read, replace and differentiate with respect to it.
 */
export type Tap = (name: string, value: tf.Tensor) => tf.Tensor;

/** A plain function model: called as `fn(...inputs, ...additionalForwardArgs, tap)`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type TfjsFunction = (...args: any[]) => tf.Tensor | tf.Tensor[] | tf.NamedTensorMap;

/** The parts of a `tf.LayersModel` the adapter uses (no dependency on tfjs-layers). */
export interface LayersModelLike {
  apply(inputs: tf.Tensor | tf.Tensor[], kwargs?: Record<string, unknown>): unknown;
  readonly inputs: readonly unknown[];
  readonly outputNames?: readonly string[];
  readonly layers: readonly unknown[];
}

/** The parts of a `tf.GraphModel` the adapter uses (no dependency on tfjs-converter). */
export interface GraphModelLike {
  execute(inputs: tf.NamedTensorMap, outputs?: string | string[]): tf.Tensor | tf.Tensor[];
  readonly inputNodes: readonly string[];
  readonly outputNodes: readonly string[];
}

/** Anything {@link fromTfjs} accepts. */
export type TfjsModelSource = TfjsFunction | LayersModelLike | GraphModelLike;

/** Options of {@link fromTfjs}. */
export interface TfjsModelOptions {
  /** Which output to explain when the model has several: its position or name (default: the first). */
  readonly output?: number | string;
}

type Kind = 'function' | 'layers' | 'graph';

function kindOf(net: unknown): Kind {
  if (typeof net === 'function') return 'function';
  const n = net as Partial<LayersModelLike & GraphModelLike> | null;
  if (n && typeof n.execute === 'function' && Array.isArray(n.inputNodes) && Array.isArray(n.outputNodes)) return 'graph';
  if (n && typeof n.apply === 'function' && Array.isArray(n.layers) && Array.isArray(n.inputs)) return 'layers';
  throw new ArgumentError(
    'net',
    'a function (...inputs) => tf.Tensor, a tf.LayersModel or a tf.GraphModel',
    describeValue(net),
  );
}

/** Collects and substitutes tapped layer tensors during one model call. */
class TapContext {
  readonly seen: string[] = [];
  readonly captured = new Map<string, tf.Tensor>();

  constructor(
    private readonly capture: ReadonlySet<string>,
    private readonly replace: ReadonlyMap<string, tf.Tensor>,
    private readonly deltas: ReadonlyMap<string, tf.Tensor>,
  ) {}

  readonly tap: Tap = (name, value) => {
    if (typeof name !== 'string' || !isTfTensor(value)) {
      throw new ArgumentError('tap(name, tensor)', 'a layer name and a tf.Tensor', `${describeValue(name)} and ${describeValue(value)}`);
    }
    if (this.seen.includes(name)) {
      throw new ModelError(`The layer '${name}' was tapped twice in one call; give every tap its own name.`);
    }
    this.seen.push(name);
    let out = value;
    const replacement = this.replace.get(name);
    if (replacement !== undefined) {
      if (!shapesEqual(replacement.shape, value.shape)) {
        throw new ShapeError(`replacement for layer '${name}'`, `shape ${formatShape(value.shape)}`, `shape ${formatShape(replacement.shape)}`);
      }
      out = replacement;
    }
    const delta = this.deltas.get(name);
    if (delta !== undefined) out = tf.add(out, delta);
    if (this.capture.has(name)) this.captured.set(name, out);
    return out;
  };

  /** Throws when a requested layer was never tapped. */
  checkAllSeen(names: Iterable<string>): void {
    for (const name of names) {
      if (!this.seen.includes(name)) {
        throw new ArgumentError(
          'layer',
          this.seen.length ? `one of the tapped layers: ${this.seen.map((s) => `'${s}'`).join(', ')}` : 'a layer tapped by the model (it taps none)',
          `'${name}'`,
        );
      }
    }
  }
}

function layerKey(ref: LayerRef): string {
  if ((ref.side ?? 'output') !== 'output' || (ref.index ?? 0) !== 0) {
    throw new ArgumentError('layer', `the output of a tapped layer (a tap is one tensor)`, `side '${ref.side}' index ${ref.index ?? 0} of '${ref.layer}'`);
  }
  return ref.layer;
}

/**
 * When a gradient computation fails midway, tfjs leaves its tape behind, holding kept copies of the tensors
 * it saved for the backward pass; nothing else would ever free them.
 */
function releaseAbandonedTape(): void {
  const state = tf.engine().state as unknown as {
    gradientDepth: number;
    activeTape: Array<{ saved?: tf.Tensor[] }> | null;
  };
  if (state.gradientDepth !== 0 || !state.activeTape) return;
  for (const node of state.activeTape) for (const t of node.saved ?? []) t.dispose();
  state.activeTape = null;
}

/** Turns a tfjs failure into a typed error with a hint. */
function wrapFailure(error: unknown, what: string): AttributionError {
  if (error instanceof AttributionError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (/gradient function not found/i.test(message)) {
    return new BackendError(
      `TensorFlow.js has no registered gradient here (${message}). Import '@tensorflow/tfjs' (which registers every gradient) ` +
        'or register the missing one with tf.registerGradient before attributing.',
      { cause: error },
    );
  }
  if (/Cannot compute gradient of y=f\(x\) with respect to x/.test(message)) {
    return new ModelError(`An input or layer you attribute to does not influence the model output (${message})`, { cause: error });
  }
  const hint = /got 'Function'/.test(message)
    ? ' (A function model receives `tap` after its inputs and additional arguments; declare that parameter, e.g. (x, extra, tap) => ….)'
    : '';
  return new ModelError(`The model failed during ${what}: ${message}${hint}`, { cause: error });
}

/** A TensorFlow.js model seen through the {@link Model} contract. */
export class TfjsModel implements Model<tf.Tensor> {
  readonly backend = tfjsBackend;
  readonly inputNames?: readonly string[];
  private readonly kind: Kind;
  private lastLayers: readonly string[] = [];
  private readonly layerShapes = new Map<string, readonly number[]>();

  constructor(
    private readonly net: TfjsModelSource,
    private readonly options: TfjsModelOptions = {},
  ) {
    this.kind = kindOf(net);
    if (this.kind === 'graph') this.inputNames = [...(net as GraphModelLike).inputNodes];
  }

  /** Calls the underlying model once and picks the explained output. */
  private run(inputs: readonly tf.Tensor[], args: readonly unknown[], tap: Tap): tf.Tensor {
    let raw: unknown;
    if (this.kind === 'function') raw = (this.net as TfjsFunction)(...inputs, ...args, tap);
    else {
      if (args.length > 0) {
        throw new ArgumentError('additionalForwardArgs', `none for a tf.${this.kind === 'layers' ? 'LayersModel' : 'GraphModel'}`, `${args.length} argument(s)`);
      }
      if (this.kind === 'layers') {
        const net = this.net as LayersModelLike;
        raw = net.apply(inputs.length === 1 ? (inputs[0] as tf.Tensor) : [...inputs], { training: false });
      } else {
        const net = this.net as GraphModelLike;
        const feed: tf.NamedTensorMap = {};
        net.inputNodes.forEach((name, i) => (feed[name] = inputs[i] as tf.Tensor));
        raw = net.execute(feed);
      }
    }
    return this.pickOutput(raw);
  }

  private pickOutput(raw: unknown): tf.Tensor {
    if (isTfTensor(raw)) return raw;
    const want = this.options.output ?? 0;
    if (Array.isArray(raw) && raw.some(isTfTensor)) {
      const names = this.kind === 'graph' ? (this.net as GraphModelLike).outputNodes : (this.net as LayersModelLike).outputNames;
      const index = typeof want === 'number' ? want : (names ?? []).indexOf(want);
      const picked: unknown = raw[index];
      if (!isTfTensor(picked)) {
        throw new ArgumentError('output', `an output position in [0, ${raw.length})${names ? ` or a name among ${names.join(', ')}` : ''}`, String(want));
      }
      return picked;
    }
    if (raw !== null && typeof raw === 'object' && !Array.isArray(raw) && Object.values(raw).some(isTfTensor)) {
      const map = raw as Record<string, unknown>;
      const key = typeof want === 'string' ? want : Object.keys(map)[want];
      const picked = key === undefined ? undefined : map[key];
      if (!isTfTensor(picked)) {
        throw new ArgumentError('output', `an output name among ${Object.keys(map).join(', ')}`, String(want));
      }
      return picked;
    }
    throw new ModelError(`The model returned ${describeValue(raw)}, not a tf.Tensor.`);
  }

  private checkRequest(request: ForwardRequest<tf.Tensor>, layerGradients = false): void {
    const expected =
      this.kind === 'layers' ? (this.net as LayersModelLike).inputs.length : this.kind === 'graph' ? this.inputNames?.length : undefined;
    if (expected !== undefined && request.inputs.length !== expected) {
      throw new ArgumentError('inputs', `${expected} tensor(s), one per model input`, `${request.inputs.length}`);
    }
    const usesLayers = layerGradients || (request.capture?.length ?? 0) > 0 || (request.replace?.length ?? 0) > 0;
    if (usesLayers && this.kind !== 'function') {
      throw new BackendError(
        'Layer access on a tf.LayersModel or tf.GraphModel is not supported by this adapter version; wrap the model in a function that taps the layer.',
      );
    }
  }

  async forward(request: ForwardRequest<tf.Tensor>): Promise<ForwardResult<tf.Tensor>> {
    this.checkRequest(request);
    const capture = new Set((request.capture ?? []).map(layerKey));
    const replace = new Map((request.replace ?? []).map((r) => [layerKey(r.ref), r.value] as const));
    try {
      const [output, ...captured] = tf.tidy(() => {
        const ctx = new TapContext(capture, replace, new Map());
        const out = this.run(request.inputs, request.args ?? [], ctx.tap);
        ctx.checkAllSeen([...capture, ...replace.keys()]);
        this.remember(ctx);
        return [tf.clone(out), ...(request.capture ?? []).map((r) => tf.clone(ctx.captured.get(layerKey(r)) as tf.Tensor))];
      });
      return { output: output as tf.Tensor, captured };
    } catch (e) {
      throw wrapFailure(e, 'the forward pass');
    }
  }

  async gradient(request: GradientRequest<tf.Tensor>): Promise<GradientResult<tf.Tensor>> {
    const layerSources = request.wrt.filter((s): s is LayerRef => 'layer' in s);
    this.checkRequest(request, layerSources.length > 0);
    const replace = new Map((request.replace ?? []).map((r) => [layerKey(r.ref), r.value] as const));
    const capture = new Set((request.capture ?? []).map(layerKey));
    const batch = request.inputs[0]?.shape[0] ?? 0;
    // Layers not replaced get a zero "delta" added at the tap: the gradient wrt the delta is the gradient wrt the layer.
    const missing = layerSources.map(layerKey).filter((k) => !replace.has(k) && !this.layerShapes.has(k));
    if (missing.length > 0) {
      const probe = await this.forward({ inputs: request.inputs, args: request.args, replace: request.replace, capture: missing.map((layer) => ({ layer })) });
      tf.dispose([probe.output, ...probe.captured]);
    }
    const owned: tf.Tensor[] = [];
    const xs = request.wrt.map((s) => {
      if ('input' in s) {
        const x = request.inputs[s.input];
        if (!x) throw new ArgumentError('wrt', `input positions in [0, ${request.inputs.length})`, String(s.input));
        return x;
      }
      const key = layerKey(s);
      const r = replace.get(key);
      if (r) return r;
      const delta = tf.zeros([batch, ...(this.layerShapes.get(key) ?? [])]);
      owned.push(delta);
      return delta;
    });
    try {
      let captured: tf.Tensor[] = [];
      const f = (...vars: tf.Tensor[]): tf.Tensor => {
        const inputs = [...request.inputs];
        const rep = new Map(replace);
        const deltas = new Map<string, tf.Tensor>();
        request.wrt.forEach((s, k) => {
          const v = vars[k] as tf.Tensor;
          if ('input' in s) inputs[s.input] = v;
          else if (rep.has(layerKey(s))) rep.set(layerKey(s), v);
          else deltas.set(layerKey(s), v);
        });
        const ctx = new TapContext(capture, rep, deltas);
        const out = this.run(inputs, request.args ?? [], ctx.tap);
        ctx.checkAllSeen([...capture, ...rep.keys(), ...deltas.keys()]);
        this.remember(ctx);
        captured = (request.capture ?? []).map((r) => tf.keep(tf.clone(ctx.captured.get(layerKey(r)) as tf.Tensor)));
        return out;
      };
      // tidy: tfjs leaks the forward value when it throws "cannot compute gradient"; this frees it.
      const { value, grads } = withBackwardRule(request.rule, () => tf.tidy(() => tf.valueAndGrads(f)(xs, request.outputWeights)));
      return { output: value, captured, gradients: grads };
    } catch (e) {
      releaseAbandonedTape();
      throw wrapFailure(e, 'the gradient computation');
    } finally {
      tf.dispose(owned);
    }
  }

  private remember(ctx: TapContext): void {
    this.lastLayers = [...ctx.seen];
    for (const [name, t] of ctx.captured) this.layerShapes.set(name, t.shape.slice(1));
  }

  async layers(): Promise<readonly string[]> {
    if (this.kind !== 'function') {
      const net = this.net as LayersModelLike;
      return this.kind === 'layers' ? net.layers.map((l) => String((l as { name?: string }).name)) : [];
    }
    return this.lastLayers;
  }

  dispose(): void {
    this.layerShapes.clear();
  }
}

/**
 * Wraps a TensorFlow.js model for the attribution algorithms: a plain function `(...inputs) => tf.Tensor`
 * (optionally tapping named layers with its last parameter), a `tf.LayersModel` or a `tf.GraphModel`.
 *
 * Gradients need TensorFlow.js's gradient definitions: import `@tensorflow/tfjs` (or register them) first.
 */
export function fromTfjs(net: TfjsModelSource, options: TfjsModelOptions = {}): TfjsModel {
  return new TfjsModel(net, options);
}
