import * as tf from '@tensorflow/tfjs-core';
import {
  ArgumentError,
  AttributionError,
  BackendError,
  ModelError,
  checkLabels,
  describeChoices,
  describeValue,
  formatShape,
  type ForwardRequest,
  type ForwardResult,
  type GradientRequest,
  type GradientResult,
  type GradientSource,
  type LayerRef,
  type ParameterInfo,
  type Model,
} from '@attribution/tensor';
import { isTfTensor, tfjsBackend } from './backend.js';
import { HookContext, failureHint, hasLayerGraph, layerDataFormat, layerKey, layerPaths, nameBackwardFailures, namedFailures, runLayersModel } from './hooks.js';
import { graphDataFormat, graphLayerNames, graphTensorName, runGraphModel, type GraphModelInternals } from './graph.js';
import { withBackwardRule } from './rules.js';
import { TapeKeeper, applyLrpRules, isLrp, layerOfKey, tapeNode } from './lrp.js';
import { registerMissingKernels } from './kernels.js';
import { functionParameters, graphModelParameters, layersModelParameters, type TfjsParameter } from './parameters.js';
import { recordingGradients, tapeLength, useInputOnlyGradients, wrapFusedKernels } from './input-gradients.js';

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
  /** Class names of the explained output's last axis (`labels[i]` names index i): targets may then name a class. */
  readonly labels?: readonly string[];
  /**
   * The layout of layer tensors that do not state one (a function model's taps; layers and graph nodes with no
   * convolution or pooling upstream): `'channelsLast'` (default, TensorFlow.js's) or `'channelsFirst'`.
   */
  readonly dataFormat?: 'channelsFirst' | 'channelsLast';
  /**
   * A function model's parameters (weights) by name — the tf.Tensors or tf.Variables it reads — so that gradients
   * may be taken with respect to them (`{ param: name }`). LayersModels and GraphModels list their own.
   */
  readonly parameters?: Readonly<Record<string, tf.Tensor>>;
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

/** A neuron selector function's value: one per example, shape `[N]`. */
function checkSelected(selected: unknown, layer: tf.Tensor): tf.Tensor {
  const n = layer.shape[0] as number;
  if (!isTfTensor(selected) || selected.shape.length !== 1 || selected.shape[0] !== n) {
    throw new ArgumentError(
      'neuronSelector',
      `a function of the layer tensor (shape ${formatShape(layer.shape)}) returning one value per example, shape [${n}]`,
      isTfTensor(selected) ? `shape ${formatShape(selected.shape)}` : describeValue(selected),
    );
  }
  return selected;
}

/** Whether `t` was disposed, or its data freed without marking it (`tf.disposeVariables()` frees variables so). */
function freed(t: tf.Tensor): boolean {
  if (t.isDisposed) return true;
  const info = (tf.engine().state as unknown as { tensorInfo?: { has(id: object): boolean } }).tensorInfo;
  return info !== undefined && typeof info.has === 'function' && !info.has(t.dataId);
}

/** What tfjs says when a model, a layer or a tensor is used after `dispose()`. */
const DISPOSED = /(Layer|Container) '([^']*)' is already disposed|LayersVariable (\S+) is already disposed|Tensor is disposed/;

/** Turns a tfjs failure into a typed error with a hint; `model` names the model, `disposedWeight` which weight is gone. */
function wrapFailure(error: unknown, what: string, model: string, disposedWeight: () => string | undefined): AttributionError {
  const named = error instanceof Error && namedFailures.has(error) ? (error as AttributionError) : undefined;
  if (error instanceof AttributionError && !named) return error;
  const inner = named ? named.cause : error;
  const message = inner instanceof Error ? inner.message : String(inner);
  // tfjs says so, or fails on a freed weight in its own way (e.g. "reading 'backend'" after tf.disposeVariables()).
  const disposed = DISPOSED.exec(message);
  const weight = disposed?.[1] || disposed?.[3] ? undefined : disposedWeight();
  if (disposed || weight) {
    const part =
      disposed?.[1] === 'Container'
        ? 'it has been disposed'
        : disposed?.[1] === 'Layer'
          ? `its layer '${disposed[2]}' has been disposed`
          : disposed?.[3]
            ? `its weight '${disposed[3]}' has been disposed`
            : (weight ?? 'a tensor it uses (a weight or a captured value) has been disposed');
    return new BackendError(
      `${model} cannot run ${what}: ${part}. Keep a model and its weights alive until every attribution call that uses it has finished, and dispose it after.`,
      { cause: error },
    );
  }
  if (named) return named;
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
  return new ModelError(`The model failed during ${what}: ${message}${hint}${failureHint(message)}`, { cause: error });
}

/** A TensorFlow.js model seen through the {@link Model} contract. */
export class TfjsModel implements Model<tf.Tensor> {
  readonly backend = tfjsBackend;
  readonly inputNames?: readonly string[];
  /** The class names of the explained output's last axis (the `labels` option), if given. */
  readonly labels?: readonly string[];
  private readonly kind: Kind;
  private lastLayers: readonly string[] = [];
  private readonly layerShapes = new Map<string, readonly number[]>();

  constructor(
    private readonly net: TfjsModelSource,
    private readonly options: TfjsModelOptions = {},
  ) {
    this.kind = kindOf(net);
    this.labels = checkLabels(options.labels);
    if (this.kind === 'graph') this.inputNames = [...(net as GraphModelLike).inputNodes];
    if (options.dataFormat !== undefined && options.dataFormat !== 'channelsFirst' && options.dataFormat !== 'channelsLast') {
      throw new ArgumentError('dataFormat', "'channelsFirst' or 'channelsLast'", describeValue(options.dataFormat));
    }
    if (options.parameters !== undefined && this.kind !== 'function') {
      throw new ArgumentError('parameters', 'no parameters option for a tf.LayersModel or tf.GraphModel (they list their own weights)', describeValue(options.parameters));
    }
    functionParameters(options.parameters);
    registerMissingKernels();
  }

  /** The model's parameters with the tensors it reads, by name. */
  private parameterTensors(): TfjsParameter[] {
    if (this.kind === 'function') return functionParameters(this.options.parameters);
    if (this.kind === 'graph') return graphModelParameters(this.net as GraphModelInternals);
    return hasLayerGraph(this.net as never) ? layersModelParameters(this.net as never) : [];
  }

  /**
   * The float parameters gradients may be taken with respect to: a LayersModel's trainable weights
   * (`<layer path>/<weight>`, e.g. `dense/kernel`), a GraphModel's weight nodes, a function model's
   * `parameters` option.
   */
  async parameters(): Promise<readonly ParameterInfo[]> {
    return this.parameterTensors().map(({ name, shape, layer }) => ({ name, shape, layer }));
  }

  /** The tensor of each parameter a request differentiates, by name; unknown names are refused listing the known. */
  private requestedParameters(request: GradientRequest<tf.Tensor>): Map<string, tf.Tensor> {
    const wanted = request.wrt.flatMap((s) => ('param' in s ? [s.param] : []));
    const found = new Map<string, tf.Tensor>();
    if (wanted.length === 0) return found;
    if (isLrp(request.rule) || (request.rule ?? 'gradient') !== 'gradient') {
      throw new BackendError(`Gradients with respect to parameters use ordinary gradients, not the ${typeof request.rule === 'string' ? request.rule : 'LRP'} backward rule.`);
    }
    const all = this.parameterTensors();
    for (const name of wanted) {
      const p = all.find((q) => q.name === name);
      if (!p) {
        const hint = this.kind === 'function' ? ' (declare them with fromTfjs(fn, { parameters }))' : '';
        throw new ArgumentError('wrt', describeChoices(`the model's parameters${hint}`, name, all.map((q) => q.name)), `'${name}'`);
      }
      if (freed(p.tensor)) throw new BackendError(`${this.describe()} cannot be differentiated with respect to '${name}': that weight has been disposed.`);
      found.set(name, p.tensor);
    }
    return found;
  }

  /** The model in messages: `The tf.LayersModel 'name'`, `The tf.GraphModel`, `The function model`. */
  private describe(): string {
    if (this.kind === 'function') return 'The function model';
    const name = (this.net as { name?: unknown }).name;
    return `The tf.${this.kind === 'layers' ? 'LayersModel' : 'GraphModel'}${typeof name === 'string' && name ? ` '${name}'` : ''}`;
  }

  /** Which weight of a tf.LayersModel has been disposed (`tf.disposeVariables()`, a layer disposed alone), if any. */
  private disposedWeight(): string | undefined {
    if (this.kind !== 'layers') return undefined;
    for (const layer of (this.net as LayersModelLike).layers as { name?: string; weights?: unknown[] }[]) {
      for (const w of layer.weights ?? []) {
        const value = (w as { val?: unknown }).val ?? w;
        if (isTfTensor(value) && freed(value)) return `its weight '${String((w as { name?: string }).name ?? layer.name)}' has been disposed`;
      }
    }
    return undefined;
  }

  /** Tensors of the request disposed before the call are the caller's error, named before tfjs fails on them. */
  private checkAlive(request: ForwardRequest<tf.Tensor> & { outputWeights?: tf.Tensor }): void {
    const given: [string, unknown][] = [
      ...request.inputs.map((t, i): [string, unknown] => [`inputs[${i}]`, t]),
      ...(request.args ?? []).map((t, i): [string, unknown] => [`additionalForwardArgs[${i}]`, t]),
      ...(request.replace ?? []).map((r): [string, unknown] => [`the replacement of layer '${r.ref.layer}'`, r.value]),
      ['outputWeights', request.outputWeights],
    ];
    for (const [name, t] of given) {
      if (isTfTensor(t) && t.isDisposed) throw new ArgumentError(name, 'a live tf.Tensor', 'a tensor that has been disposed');
    }
  }

  /** Calls the underlying model once, passing layer tensors through `ctx`, and picks the explained output. */
  private run(inputs: readonly tf.Tensor[], args: readonly unknown[], ctx: HookContext, layered: boolean, refs: readonly LayerRef[] = []): tf.Tensor {
    let raw: unknown;
    if (this.kind === 'function') raw = (this.net as TfjsFunction)(...inputs, ...args, ctx.tap);
    else {
      if (args.length > 0) {
        throw new ArgumentError('additionalForwardArgs', `none for a tf.${this.kind === 'layers' ? 'LayersModel' : 'GraphModel'}`, `${args.length} argument(s)`);
      }
      if (this.kind === 'layers') {
        const net = this.net as LayersModelLike;
        // Layer by layer whenever the graph is exposed, so that a failing layer is named (forward and backward).
        raw = layered || hasLayerGraph(net as never) ? runLayersModel(net as never, inputs, ctx) : net.apply(inputs.length === 1 ? (inputs[0] as tf.Tensor) : [...inputs], { training: false });
      } else {
        raw = runGraphModel(this.net as GraphModelInternals, inputs, ctx, layered ? refs : []);
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

  /**
   * Layer names a LayerRef may use: for LayersModels every layer (`outer/inner/conv` inside a model used as a
   * layer), for GraphModels every node that computes a value, for functions the taps seen so far.
   */
  private available(): string[] {
    if (this.kind === 'layers') return hasLayerGraph(this.net as never) ? [...layerPaths(this.net as never).keys()] : [];
    if (this.kind === 'graph') return graphLayerNames(this.net as GraphModelInternals);
    return [...this.lastLayers];
  }

  /**
   * The full name of a layer given by a unique suffix: `'Conv_1/Relu6'` for the GraphModel node
   * `'StatefulPartitionedCall/…/MobilenetV2/Conv_1/Relu6'`, `'conv'` for the nested layer `'backbone/conv'`.
   * Full names are kept; unknown names are left for the request check to report with candidates.
   */
  private fullName(name: string): string {
    if (this.kind === 'function') return name;
    const suffix = this.kind === 'graph' ? /:\d+$/.exec(name)?.[0] ?? '' : '';
    const base = suffix ? name.slice(0, -suffix.length) : name;
    const names = this.available();
    if (names.includes(base)) return name;
    const matches = names.filter((n) => n.endsWith(`/${base}`));
    if (matches.length > 1) {
      throw new ArgumentError('layer', `a layer name that ends exactly one layer's path (or its full path): '${base}' ends ${matches.length}`, matches.slice(0, 8).map((m) => `'${m}'`).join(', '));
    }
    return matches.length === 1 ? `${matches[0] as string}${suffix}` : name;
  }

  /** The request with every layer named by its full name. */
  private canonical<R extends ForwardRequest<tf.Tensor> & { wrt?: GradientRequest<tf.Tensor>['wrt']; of?: LayerRef }>(request: R): R {
    if (this.kind === 'function') return request;
    const ref = <L extends LayerRef>(r: L): L => ({ ...r, layer: this.fullName(r.layer) });
    return {
      ...request,
      ...(request.capture ? { capture: request.capture.map(ref) } : {}),
      ...(request.replace ? { replace: request.replace.map((r) => ({ ...r, ref: ref(r.ref) })) } : {}),
      ...(request.wrt ? { wrt: request.wrt.map((w) => ('layer' in w ? ref(w) : w)) } : {}),
      ...(request.of ? { of: ref(request.of) } : {}),
    };
  }

  private checkRequest(request: ForwardRequest<tf.Tensor>, layerRefs: readonly LayerRef[]): boolean {
    this.checkAlive(request);
    const expected =
      this.kind === 'layers' ? (this.net as LayersModelLike).inputs.length : this.kind === 'graph' ? this.inputNames?.length : undefined;
    if (expected !== undefined && request.inputs.length !== expected) {
      throw new ArgumentError('inputs', `${expected} tensor(s), one per model input`, `${request.inputs.length}`);
    }
    if (layerRefs.length === 0) return false;
    if (this.kind === 'graph') {
      for (const ref of layerRefs) graphTensorName(this.net as GraphModelInternals, ref);
    } else if (this.kind === 'layers') {
      const net = this.net as LayersModelLike;
      if (!hasLayerGraph(net as never)) throw new BackendError('This tf.LayersModel does not expose its layer graph (inboundNodes); layer access is not possible.');
      const names = this.available();
      for (const ref of layerRefs) {
        if (!names.includes(ref.layer)) {
          throw new ArgumentError('layer', describeChoices("the model's layers", ref.layer, names), `'${ref.layer}'`);
        }
      }
    } else {
      for (const ref of layerRefs) {
        if ((ref.side ?? 'output') !== 'output') {
          throw new ArgumentError('layer', 'the output of a tapped layer (a tap marks one tensor)', `the input of '${ref.layer}'`);
        }
      }
    }
    return true;
  }

  async forward(given: ForwardRequest<tf.Tensor>): Promise<ForwardResult<tf.Tensor>> {
    const request = this.canonical(given);
    const refs = [...(request.capture ?? []), ...(request.replace ?? []).map((r) => r.ref)];
    const layered = this.checkRequest(request, refs);
    const capture = new Set((request.capture ?? []).map(layerKey));
    const replace = new Map((request.replace ?? []).map((r) => [layerKey(r.ref), r.value] as const));
    try {
      const [output, ...captured] = tf.tidy(() => {
        const ctx = new HookContext(capture, replace, new Map());
        const out = this.run(request.inputs, request.args ?? [], ctx, layered, refs);
        ctx.checkAllSeen([...capture, ...replace.keys()], this.kind === 'function' ? ctx.seen : this.available());
        this.remember(ctx, request.inputs);
        return [tf.clone(out), ...(request.capture ?? []).map((r) => tf.clone(ctx.captured.get(layerKey(r)) as tf.Tensor))];
      });
      return { output: output as tf.Tensor, captured };
    } catch (e) {
      throw wrapFailure(e, 'the forward pass', this.describe(), () => this.disposedWeight());
    }
  }

  /**
   * LRP on a function model: the input of a tapped layer is read at the tap before it (a model input for the
   * first tap), which the tape check in `gradient` confirms feeds the layer.
   */
  private async lrpLayerInputs(request: GradientRequest<tf.Tensor>): Promise<{ request: GradientRequest<tf.Tensor>; feeds: Map<string, string> }> {
    const feeds = new Map<string, string>();
    if (this.kind !== 'function' || !isLrp(request.rule) || !request.wrt.some((s) => 'layer' in s && (s.side ?? 'output') === 'input')) return { request, feeds };
    const probe = await this.forward({ inputs: request.inputs, args: request.args });
    tf.dispose([probe.output, ...probe.captured]);
    const seen = this.lastLayers;
    const wrt = request.wrt.map((s): GradientSource => {
      if (!('layer' in s) || (s.side ?? 'output') !== 'input') return s;
      const at = seen.indexOf(s.layer);
      if (at < 0 || (s.index ?? 0) !== 0) {
        throw new ArgumentError('layer', 'the first input of a layer tapped by the model', `input ${s.index ?? 0} of '${s.layer}'`);
      }
      if (at === 0) return { input: 0 };
      const before = seen[at - 1] as string;
      feeds.set(before, s.layer);
      const index = before === layerOfKey(before) ? 0 : Number(before.slice(layerOfKey(before).length + 1));
      return { layer: layerOfKey(before), index };
    });
    return { request: { ...request, wrt }, feeds };
  }

  async gradient(given: GradientRequest<tf.Tensor>): Promise<GradientResult<tf.Tensor>> {
    const lrpInputs = await this.lrpLayerInputs(this.canonical(given));
    const request = lrpInputs.request;
    const layerSources = request.wrt.filter((s): s is LayerRef => 'layer' in s);
    const params = this.requestedParameters(request);
    const refs = [...layerSources, ...(request.capture ?? []), ...(request.replace ?? []).map((r) => r.ref), ...(request.of ? [request.of] : [])];
    const layered = this.checkRequest(request, refs);
    const replace = new Map((request.replace ?? []).map((r) => [layerKey(r.ref), r.value] as const));
    const ofKey = request.of ? layerKey(request.of) : undefined;
    const lrp = isLrp(request.rule) ? request.rule : undefined;
    if (lrp && (request.of || request.select)) throw new ArgumentError('rule', 'LRP of the model output (no `of` or `select`)', 'an LRP rule with `of` or `select`');
    // LRP returns relevances: each gradient times the value differentiated (layer values are captured for it).
    const capture = new Set([...(request.capture ?? []).map(layerKey), ...(ofKey ? [ofKey] : []), ...(lrp ? layerSources.map(layerKey) : [])]);
    const signature = request.inputs.map((t) => t.shape.join('x')).join('|');
    // Layers not replaced get a zero "delta" added: the gradient wrt the delta is the gradient wrt the layer.
    const missing = layerSources.map(layerKey).filter((k) => !replace.has(k) && !this.layerShapes.has(`${k}|${signature}`));
    if (missing.length > 0) {
      const probe = await this.forward({
        inputs: request.inputs,
        args: request.args,
        replace: request.replace,
        capture: layerSources.filter((s) => missing.includes(layerKey(s))),
      });
      tf.dispose([probe.output, ...probe.captured]);
    }
    const owned: tf.Tensor[] = [];
    const xs = request.wrt.map((s) => {
      // The model reads the parameter itself: differentiating with respect to that tensor.
      if ('param' in s) return params.get(s.param) as tf.Tensor;
      if ('input' in s) {
        const x = request.inputs[s.input];
        if (!x) throw new ArgumentError('wrt', `input positions in [0, ${request.inputs.length})`, String(s.input));
        return x;
      }
      const key = layerKey(s);
      const r = replace.get(key);
      if (r) return r;
      const delta = tf.zeros(this.layerShapes.get(`${key}|${signature}`) as number[]);
      owned.push(delta);
      return delta;
    });
    let captured: tf.Tensor[] = [];
    let output: tf.Tensor | undefined;
    let lrpValues: tf.Tensor[] = [];
    const keeper = lrp ? new TapeKeeper() : undefined;
    try {
      const f = (...vars: tf.Tensor[]): tf.Tensor => {
        const start = tapeLength();
        keeper?.start();
        const inputs = [...request.inputs];
        const rep = new Map(replace);
        const deltas = new Map<string, tf.Tensor>();
        request.wrt.forEach((s, k) => {
          const v = vars[k] as tf.Tensor;
          if ('param' in s) return;
          if ('input' in s) inputs[s.input] = v;
          else if (rep.has(layerKey(s))) rep.set(layerKey(s), v);
          else deltas.set(layerKey(s), v);
        });
        const ctx = new HookContext(capture, rep, deltas);
        ctx.attributeGraphNodes = lrp !== undefined && this.kind === 'graph';
        ctx.startTaps();
        const out = this.run(inputs, request.args ?? [], ctx, layered, refs);
        ctx.checkAllSeen([...capture, ...rep.keys(), ...deltas.keys()], this.kind === 'function' ? ctx.seen : this.available());
        this.remember(ctx, request.inputs);
        captured = (request.capture ?? []).map((r) => tf.keep(tf.clone(ctx.captured.get(layerKey(r)) as tf.Tensor)));
        const differentiated = ofKey ? (ctx.captured.get(ofKey) as tf.Tensor) : out;
        if (ofKey) output = tf.keep(tf.clone(out));
        const y = request.select ? checkSelected(request.select(differentiated), differentiated) : differentiated;
        useInputOnlyGradients(start);
        if (lrp) {
          lrpValues = request.wrt.map((s, k) => tf.keep(tf.clone('layer' in s ? (ctx.captured.get(layerKey(s)) ?? (vars[k] as tf.Tensor)) : (vars[k] as tf.Tensor))));
          const layers = this.kind === 'function' ? [...new Set(ctx.seen.map(layerOfKey))] : this.available();
          for (const [before, layer] of lrpInputs.feeds) {
            const value = ctx.captured.get(before);
            const fed = [...ctx.layerOfTapeNode].some(([id, l]) => l === layer && Object.values(tapeNode(start, id)?.inputs ?? {}).some((t) => t === value));
            if (!fed) throw new ArgumentError('layer', `a layer fed by the layer tapped before it ('${layerOfKey(before)}'), for its input`, `the input of '${layer}'`);
          }
          keeper?.stop();
          applyLrpRules({ request: lrp, start, sources: vars, deltas: [...deltas.values()], output: y, layerOf: ctx.layerOfTapeNode, layers, keeper: keeper as TapeKeeper });
        }
        nameBackwardFailures(start, ctx.layerOfTapeNode);
        return y;
      };
      // tidy: tfjs leaks the forward value when it throws "cannot compute gradient"; this frees it.
      registerMissingKernels(); // again: tfjs-wasm may have been imported after the model was wrapped
      wrapFusedKernels();
      const { value, grads } = withBackwardRule(request.rule, () => recordingGradients(() => tf.tidy(() => tf.valueAndGrads(f)(xs, request.outputWeights))));
      if (output) tf.dispose(value);
      if (lrp) {
        const relevances = grads.map((g, k) => tf.tidy(() => tf.mul(g, tf.reshape(lrpValues[k] as tf.Tensor, g.shape))));
        tf.dispose(grads);
        return { output: output ?? value, captured, gradients: relevances };
      }
      return { output: output ?? value, captured, gradients: grads };
    } catch (e) {
      releaseAbandonedTape();
      tf.dispose([...captured, ...(output ? [output] : [])]);
      throw wrapFailure(e, 'the gradient computation', this.describe(), () => this.disposedWeight());
    } finally {
      tf.dispose(owned);
      tf.dispose(lrpValues);
      keeper?.dispose();
    }
  }

  private remember(ctx: HookContext, inputs: readonly tf.Tensor[]): void {
    if (this.kind === 'function') this.lastLayers = [...ctx.seen];
    const signature = inputs.map((t) => t.shape.join('x')).join('|');
    for (const [name, t] of ctx.captured) this.layerShapes.set(`${name}|${signature}`, t.shape);
    if (this.layerShapes.size > 256) this.layerShapes.clear();
  }

  async layers(): Promise<readonly string[]> {
    return this.available();
  }

  /**
   * Channels-first layers (a `dataFormat: 'channelsFirst'` convolution or pool, or the nearest such layer
   * upstream; `NCHW` graph nodes) have their channels on axis 1; everything else on TensorFlow.js is
   * channels-last unless `fromTfjs(…, { dataFormat: 'channelsFirst' })` says otherwise.
   */
  channelAxis(given: LayerRef, rank: number): number {
    if (rank < 3) return Math.max(0, rank - 1);
    let ref = given;
    try {
      ref = { ...given, layer: this.fullName(given.layer) };
    } catch {
      // an ambiguous name is reported by the call itself
    }
    let format: 'channelsFirst' | 'channelsLast' | undefined;
    if (this.kind === 'layers' && hasLayerGraph(this.net as never)) {
      const layer = layerPaths(this.net as never).get(ref.layer);
      format = layer ? layerDataFormat(layer) : undefined;
    } else if (this.kind === 'graph') {
      try {
        format = graphDataFormat(this.net as GraphModelInternals, graphTensorName(this.net as GraphModelInternals, ref));
      } catch {
        format = undefined;
      }
    }
    return (format ?? this.options.dataFormat ?? 'channelsLast') === 'channelsFirst' ? 1 : rank - 1;
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
