import { DEFAULT_LIMITS, Graph, InvalidModelError, hasShapeArithmetic, inferShapes, proto, topoSort, transformModel, type BuildLimits, type Dim, type TransformedModel } from '@attribution/onnx-grad';
import {
  ArgumentError,
  checkLabels,
  closestName,
  describeChoices,
  BackendError,
  ModelError,
  ShapeError,
  describeValue,
  formatShape,
  type BackwardRule,
  type ForwardRequest,
  type ForwardResult,
  type GradientRequest,
  type GradientResult,
  type LayerRef,
  type Model,
  type ParameterInfo,
} from '@attribution/tensor';
import { fileSystem } from '#node-fs';
import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-common';
import type { CacheStore } from './cache-store.js';
import { externalReferences, inlineExternalData, type ExternalDataFolder } from './external-data.js';
import { finiteDifferenceCost, finiteDifferenceGradient } from './finite-difference.js';
import { hostBackend, type OnnxTensor } from './host-backend.js';
import { HostTensor, fromNumbers, type HostType } from './host-tensor.js';
import { loadModelBytes, type ModelSource } from './source.js';

/** The parts of `onnxruntime-node` or `onnxruntime-web` the adapter uses. */
export interface OrtModule {
  /** `create` takes the model's bytes, or (onnxruntime-node) a file path. */
  readonly InferenceSession: { create(model: Uint8Array | string, options?: InferenceSession.SessionOptions): Promise<InferenceSession> };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly Tensor: new (type: any, data: any, dims?: readonly number[]) => OrtTensor;
  /** The runtime's versions (`{ common, node }` or `{ common, web }`): part of the gradient-model cache key. */
  readonly env?: { readonly versions?: Readonly<Record<string, string | undefined>> };
}

/** Options of {@link fromOnnx}. */
export interface OnnxModelOptions {
  /** The output to explain (default: the first graph output). */
  readonly output?: string;
  /** Options for every ONNX Runtime session the model creates. */
  readonly sessionOptions?: InferenceSession.SessionOptions;
  /**
   * The execution providers every session of the model uses, the gradient models' included, in order of
   * preference: `'cpu'`; in Node `'cuda'` and `'tensorrt'` (onnxruntime-node's GPU build on an NVIDIA GPU),
   * `'coreml'`, `'dml'`; in browsers `'webgpu'`, `'webnn'`, `'wasm'`; or a provider's options object
   * (`{ name: 'cuda', deviceId: 1 }`). ONNX Runtime runs each operator on the first provider that has it.
   * A provider the runtime or the machine lacks is refused with a BackendError naming it, when the first
   * session is created. Default: ONNX Runtime's (CPU in Node, WebAssembly in browsers).
   */
  readonly executionProviders?: readonly (string | { readonly name: string; readonly [option: string]: unknown })[];
  /**
   * The on-disk cache of built gradient models (Node only): building one for a large model (and ONNX Runtime's
   * optimisation of it) costs more than the attribution, so each is kept, with ONNX Runtime's optimised form (and, in
   * onnxruntime-node, its optimised form of the model as given, for forward passes), in `folder` (default `$XDG_CACHE_HOME/attribution`, i.e. `~/.cache/attribution`), keyed by the sha256 of the model,
   * what is requested (gradients, captures, rules, input shapes), the gradient builder's code, the runtime's version,
   * the session options and the machine; entries are written atomically and the least recently used go when the
   * folder exceeds `maxBytes` (default 4 GiB). `false` turns it off. Default: on in Node, absent in browsers.
   */
  readonly cache?: boolean | { readonly folder?: string; readonly maxBytes?: number };
  /**
   * How gradients are computed: `'graph'` (default) builds the backward graph and runs it in ONNX Runtime;
   * `'finite-difference'` estimates them with two forward passes per input element — slow, for models
   * with operators that have no backward rule.
   */
  readonly gradient?: 'graph' | 'finite-difference';
  /** Step of the central differences (default 1e-3). */
  readonly finiteDifferenceStep?: number;
  /**
   * The folder holding the model's external data files (tensors saved with `data_location: EXTERNAL`, as
   * PyTorch does for models over 2 GB): a path (Node), or a `file:` or `http(s):` URL. Without it, a model
   * with external data is refused. Each tensor's `location` must be a relative path inside this folder —
   * absolute paths, `..` segments and symbolic links that resolve outside it are refused — and the
   * referenced bytes (`offset`, `length`) are read and inlined before any session is created, so
   * `onnxruntime-node` and `onnxruntime-web` load the same self-contained model. Models without external
   * data ignore it.
   */
  readonly externalDataFolder?: ExternalDataFolder;
  /**
   * Bounds on the gradient models built (`maxNodes`, default 2,000,000; `maxConstantElements`, default 2²⁶):
   * a model whose gradient model would exceed one is refused with an error that names it.
   */
  readonly limits?: BuildLimits;
  /**
   * Class names of the explained output's last axis, `labels[i]` naming index i (non-empty, unique strings):
   * targets may then name a class (`target: 'tabby cat'`), and `model.labels` holds them.
   */
  readonly labels?: readonly string[];
}

const ELEM: Record<number, HostType | undefined> = { 1: 'float32', 11: 'float64', 6: 'int32', 7: 'int64', 9: 'bool' };
const HOST_TYPES: readonly HostType[] = ['float32', 'float64', 'int32', 'int64', 'bool'];

interface Compiled {
  readonly session: InferenceSession;
  readonly transformed: TransformedModel;
}

/** A model input as declared by the ONNX graph. */
export interface OnnxInput {
  readonly name: string;
  readonly type: HostType | undefined;
  readonly shape?: readonly Dim[];
}

/** An ONNX model run by ONNX Runtime, seen through the {@link Model} contract. */
export class OnnxModel implements Model<OnnxTensor> {
  readonly backend = hostBackend;
  /** The graph inputs, in order: attributed inputs first, the rest are fed from additional arguments. */
  readonly inputs: readonly OnnxInput[];
  /** The explained output. */
  readonly output: string;
  /** The class names of the explained output's last axis (the `labels` option), if given. */
  readonly labels?: readonly string[];
  /** The execution providers asked for (the `executionProviders` option, by name); undefined: ONNX Runtime's default. */
  readonly executionProviders?: readonly string[];
  private readonly sessions = new Map<string, Promise<Compiled>>();
  private readonly paramTensors = new Map<string, OrtTensor>();
  private modelHash: string | undefined;
  private readonly graph: Graph;
  /** The graph computes with its own shapes: gradient models are built per input shape, where that folds. */
  private readonly shapeDependent: boolean;
  /** The graph branches (`If`): gradient models are built per value of its scalar integer inputs, where that folds. */
  private readonly controlFlow: boolean;
  private warnedFiniteDifference = false;
  private disposed = false;

  constructor(
    private readonly ort: OrtModule,
    private readonly bytes: Uint8Array,
    private readonly options: OnnxModelOptions = {},
  ) {
    this.labels = checkLabels(options.labels);
    checkProviders(options.executionProviders);
    const providers = options.executionProviders ?? options.sessionOptions?.executionProviders;
    if (providers) this.executionProviders = providers.map((p) => (typeof p === 'string' ? p : p.name));
    this.graph = new Graph(bytes);
    const external = externalReferences(bytes);
    if (external.length > 0) {
      // ONNX Runtime would read external files relative to the working directory: only fromOnnx, with a
      // folder the caller trusts, may resolve them.
      throw new ArgumentError(
        'model',
        'a model whose tensors are stored in the file (fromOnnx inlines external data from externalDataFolder)',
        `a model with ${external.length} tensor(s) in external files`,
        'Load it with fromOnnx(ort, file, { externalDataFolder }).',
      );
    }
    // Nodes out of topological order (valid for ONNX Runtime, which sorts them) would leave shapes unknown.
    topoSort(this.graph.graph);
    this.graph.refresh();
    inferShapes(this.graph);
    this.shapeDependent = hasShapeArithmetic(this.graph);
    this.controlFlow = this.graph.graph.node.some((n) => n.opType === 'If' && (!n.domain || n.domain === 'ai.onnx'));
    this.inputs = this.graph.inputs.map((vi) => ({
      name: vi.name,
      type: ELEM[this.graph.info(vi.name).elemType ?? 0],
      shape: this.graph.info(vi.name).shape,
    }));
    const outputs = this.graph.graph.output.map((o) => o.name);
    this.output = options.output ?? (outputs[0] as string);
    if (!outputs.includes(this.output)) {
      throw new ArgumentError('output', `one of the model outputs: ${outputs.map((o) => `'${o}'`).join(', ')}`, `'${this.output}'`);
    }
  }

  get inputNames(): readonly string[] {
    return this.inputs.map((i) => i.name);
  }

  /** The tensor named by a layer reference: a tensor name, or a node name with its input or output index. */
  tensorName(ref: LayerRef): string {
    const side = ref.side ?? 'output';
    const node = this.graph.graph.node.find((n) => n.name === ref.layer);
    if (side === 'output' && (this.graph.meta.has(ref.layer) || this.graph.initializers.has(ref.layer)) && !node) return ref.layer;
    if (node) {
      const list = side === 'input' ? node.input : node.output;
      const name = list[ref.index ?? 0];
      if (!name) throw new ArgumentError('layer', `an ${side} index in [0, ${list.length}) of node '${ref.layer}'`, String(ref.index));
      return name;
    }
    if (side === 'output' && this.graph.meta.has(ref.layer)) return ref.layer;
    const producer = this.graph.producers.get(ref.layer);
    if (side === 'input' && producer) {
      const name = producer.input[ref.index ?? 0];
      if (!name) throw new ArgumentError('layer', `an input index in [0, ${producer.input.length}) of the node producing '${ref.layer}'`, String(ref.index));
      return name;
    }
    throw new ArgumentError(
      'layer',
      describeChoices('the tensors computed by the model (or a node name)', ref.layer, this.layerNames(), 'list them with model.layers()'),
      `'${ref.layer}'`,
    );
  }

  /** The float tensors computed by the model's nodes, in graph order: what layer methods can explain. */
  private layerNames(): string[] {
    return this.graph.graph.node.flatMap((n) => n.output).filter((o) => o && this.graph.isFloat(o));
  }

  async layers(): Promise<readonly string[]> {
    return this.layerNames();
  }

  /** The floating-point initializers, in the order nodes first use them, each with its first node's name. */
  async parameters(): Promise<readonly ParameterInfo[]> {
    const seen = new Set<string>();
    const list: ParameterInfo[] = [];
    for (const node of this.graph.graph.node) {
      for (const name of node.input) {
        const t = this.graph.initializers.get(name);
        if (!t || seen.has(name) || !proto.isFloatType(t.dataType)) continue;
        seen.add(name);
        list.push({ name, shape: t.dims.map(proto.toNumber), layer: node.name || (node.output[0] ?? '') });
      }
    }
    return list;
  }

  /** An initializer's value as a tensor to feed (a parameter turned into an input), decoded once. */
  private parameterTensor(name: string): OrtTensor {
    let t = this.paramTensors.get(name);
    if (!t) {
      const init = this.graph.initializers.get(name) as proto.TensorProto;
      const type = ELEM[init.dataType];
      if (type !== 'float32' && type !== 'float64') throw new BackendError(`Parameter '${name}' has type ${proto.typeName(init.dataType)}; gradients with respect to parameters need float32 or float64 weights.`);
      const values = proto.tensorValues(init);
      t = new this.ort.Tensor(type, type === 'float32' ? Float32Array.from(values) : Float64Array.from(values), init.dims.map(proto.toNumber));
      this.paramTensors.set(name, t);
    }
    return t;
  }

  private compiled(
    wrt: readonly string[],
    replace: readonly string[],
    capture: readonly string[],
    rules: BackwardRule = 'gradient',
    of?: string,
    inputShapes?: Record<string, readonly number[]>,
    inputValues?: Record<string, readonly number[]>,
    params: readonly string[] = [],
  ): Promise<Compiled> {
    if (this.disposed) throw new BackendError('This ONNX model has been disposed.');
    const shapes = wrt.length > 0 && (this.shapeDependent || this.controlFlow) ? inputShapes : undefined;
    const values = wrt.length > 0 && this.controlFlow && inputValues && Object.keys(inputValues).length > 0 ? inputValues : undefined;
    const key = JSON.stringify([wrt, replace, capture, rules, of, shapes, values, params]);
    let entry = this.sessions.get(key);
    if (!entry) {
      entry = (async () => {
        // A plain forward pass runs the model exactly as the user gave it.
        const untouched = wrt.length === 0 && replace.length === 0 && capture.length === 0 && !of;
        // Differentiating a layer tensor (neuron methods): it becomes the output, the model output is captured.
        const providers = this.options.executionProviders;
        const options: InferenceSession.SessionOptions = {
          graphOptimizationLevel: 'all',
          ...this.options.sessionOptions,
          ...(providers ? { executionProviders: providers as InferenceSession.SessionOptions['executionProviders'] } : {}),
        };
        const request = { output: of ?? this.output, wrt, replace, capture: of ? [...capture, this.output] : capture, rules, inputShapes: shapes, inputValues: values, limits: this.options.limits, params };
        const build = (): TransformedModel => (untouched ? this.asGiven() : transformModel(this.bytes, request));
        // The model as given is cached for ONNX Runtime's optimised form only, where it writes one (Node).
        const key = untouched ? { forward: this.output } : request;
        const cacheable = !untouched || Boolean(this.ort.env?.versions?.node);
        let cached = cacheable ? await this.fromCache(key, options) : undefined;
        if (untouched && cached?.hit && !cached.optimized) cached = await this.fromCache(key, options, true);
        // What is stored: the gradient model built, or nothing besides the optimised form for the model as given.
        const stored = (t: TransformedModel): TransformedModel => (untouched ? { ...t, bytes: new Uint8Array(0) } : t);
        let transformed = untouched ? this.asGiven() : (cached?.transformed ?? build());
        if (cached && !cached.hit) await cached.save(stored(transformed));
        const create = async (): Promise<InferenceSession> =>
          cached?.optimized
            ? this.ort.InferenceSession.create(cached.optimized, { ...options, graphOptimizationLevel: 'disabled' })
            : this.ort.InferenceSession.create(
                transformed.bytes,
                // ONNX Runtime warns on stderr that an optimised model may be hardware-specific: the cache key holds the machine.
                cached?.optimizeInto ? { logSeverityLevel: 3, ...options, optimizedModelFilePath: cached.optimizeInto.temporary } : options,
              );
        try {
          let session: InferenceSession;
          try {
            session = await create();
          } catch (e) {
            // A damaged cache entry: built again (and stored again) rather than failing.
            if (!cached?.hit) throw e;
            transformed = build();
            cached = await this.fromCache(key, options, true);
            await cached?.save(stored(transformed));
            session = await create();
          }
          if (cached?.optimizeInto) await cached.commit();
          if (this.disposed) {
            // Disposed while the session was being created: dispose() could not release it.
            await session.release();
            throw new BackendError('This ONNX model has been disposed.');
          }
          return { session, transformed };
        } catch (e) {
          if (e instanceof BackendError) throw e;
          const message = e instanceof Error ? e.message : String(e);
          const provider = unavailableProvider(message, providers ?? this.options.sessionOptions?.executionProviders);
          if (provider) {
            throw new BackendError(
              `The execution provider '${provider}' is not available here (${message.split('\n')[0]}). ${PROVIDER_HINTS[provider] ?? 'Check that this ONNX Runtime build has it.'} Leave executionProviders out (or use ['cpu'] in Node, ['wasm'] in browsers) to run on the CPU.`,
              { cause: e },
            );
          }
          // The forward model is the file itself (pruned): when ONNX Runtime refuses it, the file is at fault.
          if (wrt.length === 0) throw new InvalidModelError(`ONNX Runtime could not load the model: ${message}`, { cause: e });
          throw new BackendError(`ONNX Runtime could not load the gradient model: ${message}`, { cause: e });
        }
      })();
      entry.catch(() => this.sessions.delete(key));
      this.sessions.set(key, entry);
    }
    return entry;
  }

  /** The cache settings in effect: undefined when off (the option, or no file system). */
  private cacheSettings(): { store: CacheStore; folder: string; maxBytes: number } | undefined {
    const option = this.options.cache ?? true;
    const store = fileSystem?.cache;
    if (option === false || !store) return undefined;
    const given = typeof option === 'object' ? option : {};
    return { store, folder: store.folder(given.folder), maxBytes: given.maxBytes ?? 4 * 2 ** 30 };
  }

  /**
   * The cache entry of a gradient model: on a hit its transformed model (and ONNX Runtime's optimised form, when
   * saved); on a miss `save` to store the model built and, in Node's runtime, where ONNX Runtime should write its
   * optimised form (`commit` moves it into place). Undefined when the cache is off. Cache failures (a read-only
   * folder, a full disk) only cost the time saved: the model is built as without a cache.
   */
  private async fromCache(
    request: object,
    options: InferenceSession.SessionOptions,
    rewrite = false,
  ): Promise<
    | {
        hit: boolean;
        transformed?: TransformedModel;
        optimized?: string;
        optimizeInto?: { temporary: string; final: string };
        save(t: TransformedModel): Promise<void>;
        commit(): Promise<void>;
      }
    | undefined
  > {
    const c = this.cacheSettings();
    if (!c) return undefined;
    try {
      this.modelHash ??= c.store.sha256(this.bytes);
      const key = c.store.sha256(
        new TextEncoder().encode(JSON.stringify([this.modelHash, request, await c.store.builder(), this.ort.env?.versions ?? null, options, c.store.machine()])),
      );
      const entry = rewrite ? undefined : await c.store.read(c.folder, key);
      // ONNX Runtime writes optimised models in Node only; one written with a user's own path is theirs.
      const optimizeInto = !entry?.optimized && this.ort.env?.versions?.node && !options.optimizedModelFilePath ? c.store.optimizedPaths(c.folder, key) : undefined;
      const commit = async (): Promise<void> => {
        if (optimizeInto) await c.store.commit(optimizeInto.temporary, optimizeInto.final).catch(() => false);
      };
      // A hit needs the gradient model's bytes only without ONNX Runtime's optimised form (then it is made from them).
      const bytes = entry && !entry.optimized ? await entry.model() : new Uint8Array(0);
      if (entry && bytes) {
        const meta = JSON.parse(entry.meta) as Omit<TransformedModel, 'bytes'>;
        return { hit: true, transformed: { ...meta, bytes }, optimized: entry.optimized, optimizeInto, save: async () => undefined, commit };
      }
      return {
        hit: false,
        optimizeInto,
        save: async (t) => {
          const { bytes, ...meta } = t;
          await c.store.write(c.folder, key, JSON.stringify(meta), bytes, c.maxBytes).catch(() => undefined);
        },
        commit,
      };
    } catch {
      return undefined;
    }
  }

  /** The model file itself, described as a transformed model with no gradients or captured tensors. */
  private asGiven(): TransformedModel {
    return {
      bytes: this.bytes,
      output: this.output,
      gradients: [],
      captured: [],
      inputs: this.graph.inputs.map((vi) => ({ name: vi.name, elemType: this.graph.info(vi.name).elemType ?? 1, shape: this.graph.info(vi.name).shape })),
    };
  }

  /** The shapes of the tensors a request feeds, by model input name (and replaced tensor name). */
  private shapesOf(request: ForwardRequest<OnnxTensor>): Record<string, readonly number[]> {
    const shapes: Record<string, readonly number[]> = {};
    const given = [...request.inputs, ...(request.args ?? [])];
    this.inputs.forEach((input, i) => {
      const value = given[i];
      if (hostBackend.isTensor(value)) shapes[input.name] = value.dims;
    });
    for (const r of request.replace ?? []) shapes[this.tensorName(r.ref)] = r.value.dims;
    return shapes;
  }

  /** The values of the scalar integer and boolean inputs a request feeds (a sample rate, a flag), by name. */
  private scalarValues(request: ForwardRequest<OnnxTensor>): Record<string, readonly number[]> {
    const values: Record<string, readonly number[]> = {};
    const given = [...request.inputs, ...(request.args ?? [])];
    this.inputs.forEach((input, i) => {
      const value = given[i];
      if (!hostBackend.isTensor(value) || value.dims.reduce((a, b) => a * b, 1) !== 1 || !['int64', 'int32', 'bool'].includes(input.type ?? '')) return;
      values[input.name] = Array.from(value.data as ArrayLike<number | bigint>, Number);
    });
    return values;
  }

  /** Converts a tensor for a model input, checking its type and shape. */
  private feed(value: unknown, input: OnnxInput, argument: string): OrtTensor {
    if (!hostBackend.isTensor(value)) throw new ArgumentError(argument, `an ONNX tensor for model input '${input.name}'`, describeValue(value));
    if (value instanceof HostTensor && value.isDisposed) throw new ArgumentError(argument, 'a live tensor', 'a tensor that has been disposed');
    const type = input.type;
    const given = value.type;
    const convertible =
      given === type ||
      (type === 'int64' && given === 'int32') ||
      (type === 'int32' && given === 'int64') ||
      (type === 'float32' && given === 'float64') ||
      (type === 'float64' && given === 'float32');
    if (!type || !convertible) {
      throw new ArgumentError(argument, `a ${type ?? 'supported'} tensor for model input '${input.name}'`, `a ${given} tensor`);
    }
    if (input.shape) {
      const dims = value.dims;
      const ok = dims.length === input.shape.length && input.shape.every((d, i) => typeof d !== 'number' || d === dims[i]);
      if (!ok) {
        throw new ShapeError(argument, `shape ${formatShape(input.shape.map((d) => (typeof d === 'number' ? d : d.startsWith('?') ? '?' : d)) as never)} for model input '${input.name}'`, `shape ${formatShape(dims)}`);
      }
    }
    const data = given === type ? (value.data as never) : fromNumbers(type, value.data as never);
    try {
      return new this.ort.Tensor(type, data, value.dims);
    } catch (e) {
      throw new ArgumentError(argument, `a tensor ONNX Runtime accepts for model input '${input.name}'`, `${describeValue(value)} (${(e as Error).message})`);
    }
  }

  /** Builds the feeds of one run. */
  private feeds(request: ForwardRequest<OnnxTensor>, compiled: Compiled, weights?: OnnxTensor): Record<string, OrtTensor> {
    const args = request.args ?? [];
    const given = [...request.inputs, ...args];
    if (given.length < this.inputs.length) {
      const missing = this.inputs.slice(given.length).map((i) => `'${i.name}'`);
      throw new ArgumentError('inputs', `one tensor per model input (${this.inputNames.join(', ')}); pass the rest as additionalForwardArgs`, `${given.length}, missing ${missing.join(', ')}`);
    }
    if (given.length > this.inputs.length) {
      throw new ArgumentError('inputs', `${this.inputs.length} tensors in all (inputs and additionalForwardArgs) for inputs ${this.inputNames.join(', ')}`, `${given.length}`);
    }
    const feeds: Record<string, OrtTensor> = {};
    const needed = new Set(compiled.transformed.inputs.map((i) => i.name));
    this.inputs.forEach((input, i) => {
      if (!needed.has(input.name)) return;
      const argument = i < request.inputs.length ? `inputs[${i}]` : `additionalForwardArgs[${i - request.inputs.length}]`;
      feeds[input.name] = this.feed(given[i], input, argument);
    });
    for (const r of request.replace ?? []) {
      const name = this.tensorName(r.ref);
      const meta = this.graph.info(name);
      feeds[name] = this.feed(r.value, { name, type: ELEM[meta.elemType ?? 0], shape: meta.shape }, `replacement for '${name}'`);
    }
    for (const input of compiled.transformed.inputs) {
      if (!(input.name in feeds) && this.graph.initializers.has(input.name)) feeds[input.name] = this.parameterTensor(input.name);
    }
    if (weights && compiled.transformed.weights) {
      const meta = this.graph.info(compiled.transformed.output);
      feeds[compiled.transformed.weights] = this.feed(weights, { name: 'outputWeights', type: ELEM[meta.elemType ?? 1], shape: meta.shape }, 'outputWeights');
    }
    return feeds;
  }

  private async run(feeds: Record<string, OrtTensor>, compiled: Compiled): Promise<Record<string, HostTensor>> {
    let result: InferenceSession.ReturnType;
    if (this.disposed) throw new BackendError('This ONNX model has been disposed.');
    try {
      // Only the outputs attribution reads: a model may have others (strings, sequences) it cannot hold.
      const t = compiled.transformed;
      result = await compiled.session.run(feeds, [t.output, ...t.gradients, ...t.captured]);
    } catch (e) {
      // A session released by dispose() during the call fails in ONNX Runtime's words: say what happened.
      if (this.disposed) throw new BackendError('This ONNX model has been disposed during the call.', { cause: e });
      throw new ModelError(`ONNX Runtime failed to run the model: ${(e as Error).message}`, { cause: e });
    }
    const out: Record<string, HostTensor> = {};
    for (const [name, t] of Object.entries(result)) {
      const type = HOST_TYPES.find((h) => h === t.type);
      if (!type) throw new ModelError(`The model output '${name}' has type ${t.type}; attribution needs numbers.`);
      out[name] = new HostTensor(t.data as never, t.dims, type);
    }
    return out;
  }

  async forward(request: ForwardRequest<OnnxTensor>): Promise<ForwardResult<OnnxTensor>> {
    const replace = (request.replace ?? []).map((r) => this.tensorName(r.ref));
    const capture = (request.capture ?? []).map((r) => this.tensorName(r));
    const compiled = await this.compiled([], replace, capture);
    const out = await this.run(this.feeds(request, compiled), compiled);
    return { output: out[compiled.transformed.output] as HostTensor, captured: compiled.transformed.captured.map((n) => out[n] as HostTensor) };
  }

  async gradient(request: GradientRequest<OnnxTensor>): Promise<GradientResult<OnnxTensor>> {
    const params: string[] = [];
    const wrt = request.wrt.map((s) => {
      if ('input' in s) {
        const input = this.inputs[s.input];
        if (!input) throw new ArgumentError('wrt', `input positions in [0, ${this.inputs.length})`, String(s.input));
        return input.name;
      }
      if ('param' in s) {
        params.push(s.param);
        return s.param;
      }
      return this.tensorName(s);
    });
    if (params.length > 0 && (request.rule ?? 'gradient') !== 'gradient') {
      throw new BackendError(`Gradients with respect to parameters use ordinary gradients, not the ${typeof request.rule === 'string' ? request.rule : 'LRP'} backward rule.`);
    }
    if (this.options.gradient === 'finite-difference') {
      if (params.length > 0) throw new BackendError('Gradients with respect to parameters need the gradient graph; they are not available with finite-difference gradients.');
      if ((request.rule ?? 'gradient') !== 'gradient') {
        throw new BackendError(`The ${typeof request.rule === 'string' ? request.rule : 'LRP'} backward rule needs the gradient graph; it is not available with finite-difference gradients.`);
      }
      if (!this.warnedFiniteDifference) {
        this.warnedFiniteDifference = true;
        console.warn(`@attribution/onnx: ${finiteDifferenceCost(this, request, wrt)}; expect them to be slow.`);
      }
      return finiteDifferenceGradient(this, request, wrt, this.options.finiteDifferenceStep ?? 1e-3);
    }
    if (request.select) {
      throw new BackendError('Function neuron selectors need a backend that differentiates JavaScript (tfjs); on ONNX select a neuron by index or by a block of indices.');
    }
    const replace = (request.replace ?? []).map((r) => this.tensorName(r.ref));
    const capture = (request.capture ?? []).map((r) => this.tensorName(r));
    const of = request.of ? this.tensorName(request.of) : undefined;
    const compiled = await this.compiled(wrt, replace, capture, request.rule, of, this.shapesOf(request), this.scalarValues(request), params);
    const out = await this.run(this.feeds(request, compiled, request.outputWeights), compiled);
    const t = compiled.transformed;
    const captured = t.captured.map((n) => out[n] as HostTensor);
    return {
      output: of ? (captured.pop() as HostTensor) : (out[t.output] as HostTensor),
      gradients: t.gradients.map((n) => out[n] as HostTensor),
      captured,
    };
  }

  /** Releases every ONNX Runtime session the model created. */
  dispose(): void {
    this.disposed = true;
    for (const entry of this.sessions.values()) {
      entry.then((c) => c.session.release()).catch(() => undefined);
    }
    this.sessions.clear();
    this.paramTensors.clear();
  }
}

const OPTION_NAMES = ['output', 'sessionOptions', 'executionProviders', 'cache', 'gradient', 'finiteDifferenceStep', 'externalDataFolder', 'limits', 'labels'];

/** What each execution provider needs, for the error that says it is missing. */
const PROVIDER_HINTS: Readonly<Record<string, string>> = {
  cuda: "onnxruntime-node's CUDA provider needs its GPU build (the package's install script downloads it: do not install with --ignore-scripts, see docs/backends.md) and an NVIDIA GPU with CUDA 12 and cuDNN 9.",
  tensorrt: "onnxruntime-node's TensorRT provider needs its GPU build, an NVIDIA GPU and TensorRT 10 on the library path.",
  webgpu: 'WebGPU needs a browser (or Node build) with a WebGPU adapter: navigator.gpu, and onnxruntime-web/webgpu.',
  webnn: 'WebNN needs a browser that implements it (navigator.ml) and onnxruntime-web.',
  dml: 'DirectML runs on Windows only.',
  coreml: 'Core ML runs on macOS and iOS only.',
};

/** The provider a session-creation failure is about, when the message says one is missing. */
function unavailableProvider(message: string, providers: unknown): string | undefined {
  const names = (Array.isArray(providers) ? providers : []).map((p) => (typeof p === 'string' ? p : (p as { name?: unknown } | null)?.name)).filter((n): n is string => typeof n === 'string');
  const missing = /\[([\w-]+)\] backend not found/i.exec(message)?.[1] ?? /AppendExecutionProvider_(\w+)/i.exec(message)?.[1]?.toLowerCase();
  if (missing) return names.find((n) => n.toLowerCase() === missing) ?? missing;
  return names.find((n) => n !== 'cpu' && n !== 'wasm' && new RegExp(`providers/${n}|${n} ?(provider|backend|adapter)`, 'i').test(message));
}

/** Checks `executionProviders`: a non-empty list of provider names or `{ name, … }` objects. */
function checkProviders(value: unknown): void {
  if (value === undefined) return;
  const ok = Array.isArray(value) && value.length > 0 && value.every((p) => (typeof p === 'string' && p.length > 0) || (p !== null && typeof p === 'object' && typeof (p as { name?: unknown }).name === 'string'));
  if (!ok) throw new ArgumentError('executionProviders', "a non-empty list of provider names ('cuda', 'webgpu', 'cpu', …) or { name, …options } objects", describeValue(value));
}

/** Rejects unknown option names of {@link fromOnnx} (a misspelt `externalDataFolder` must not pass silently). */
function checkModelOptions(options: unknown): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new ArgumentError('fromOnnx options', 'an options object', describeValue(options));
  }
  checkLabels((options as OnnxModelOptions).labels);
  checkProviders((options as OnnxModelOptions).executionProviders);
  const cache = (options as OnnxModelOptions).cache;
  if (cache !== undefined && typeof cache !== 'boolean') {
    const c = cache as { folder?: unknown; maxBytes?: unknown };
    const ok = c !== null && typeof c === 'object' && !Array.isArray(c) && Object.keys(c).every((k) => k === 'folder' || k === 'maxBytes') && (c.folder === undefined || (typeof c.folder === 'string' && c.folder.length > 0)) && (c.maxBytes === undefined || (typeof c.maxBytes === 'number' && Number.isFinite(c.maxBytes) && c.maxBytes >= 0));
    if (!ok) throw new ArgumentError('cache', 'true, false, or { folder?: a path, maxBytes?: a number ≥ 0 }', describeValue(cache));
  }
  if ((options as OnnxModelOptions).executionProviders !== undefined && (options as OnnxModelOptions).sessionOptions?.executionProviders !== undefined) {
    throw new ArgumentError('executionProviders', 'the providers in one place: executionProviders, or sessionOptions.executionProviders', 'both');
  }
  const limits = (options as OnnxModelOptions).limits;
  if (limits !== undefined) {
    if (limits === null || typeof limits !== 'object') throw new ArgumentError('limits', `an object with ${Object.keys(DEFAULT_LIMITS).join(', ')}`, describeValue(limits));
    for (const [name, value] of Object.entries(limits)) {
      if (!(name in DEFAULT_LIMITS)) {
        throw new ArgumentError('limits', `only ${Object.keys(DEFAULT_LIMITS).join(', ')}`, `'${name}'`, closestName(name, Object.keys(DEFAULT_LIMITS)) ? `Did you mean ${closestName(name, Object.keys(DEFAULT_LIMITS))}?` : undefined);
      }
      if (value !== undefined && (!Number.isSafeInteger(value) || (value as number) < 1)) throw new ArgumentError(`limits.${name}`, 'a positive integer', describeValue(value));
    }
  }
  for (const key of Object.keys(options)) {
    if (OPTION_NAMES.includes(key) || (options as Record<string, unknown>)[key] === undefined) continue;
    const guess = closestName(key, OPTION_NAMES);
    throw new ArgumentError('fromOnnx options', `only the options ${OPTION_NAMES.join(', ')}`, `unknown option '${key}'`, guess ? `Did you mean ${guess}?` : undefined, 'ERR_UNKNOWN_OPTION');
  }
}

/**
 * Loads an ONNX model for the attribution algorithms. `ort` is your `onnxruntime-node` or
 * `onnxruntime-web` module; `source` a file path (Node), a URL, or the model's bytes. A model whose
 * tensors live in external data files needs `options.externalDataFolder`, the folder they are read from
 * (and confined to); their bytes are inlined into the model.
 */
export async function fromOnnx(ort: OrtModule, source: ModelSource, options: OnnxModelOptions = {}): Promise<OnnxModel> {
  if (!ort || typeof ort.InferenceSession?.create !== 'function' || typeof ort.Tensor !== 'function') {
    throw new ArgumentError('ort', "the onnxruntime-node or onnxruntime-web module (import * as ort from 'onnxruntime-node')", describeValue(ort));
  }
  checkModelOptions(options);
  const bytes = await inlineExternalData(await loadModelBytes(source), options.externalDataFolder);
  return new OnnxModel(ort, bytes, options);
}

/** The on-disk cache of built gradient models (see {@link OnnxModelOptions.cache}): where it is, how big, and clearing it. */
export interface GradientModelCache {
  /** The folder. */
  readonly folder: string;
  /** The number of entries (gradient models) and the bytes they take (optimised forms included). */
  size(): Promise<{ entries: number; bytes: number }>;
  /** Deletes every entry (and temporary files left by interrupted writes); what was removed. */
  clear(): Promise<{ files: number; bytes: number }>;
}

/** The gradient-model cache in `folder` (default `$XDG_CACHE_HOME/attribution`); Node only (a BackendError elsewhere). */
export function gradientModelCache(folder?: string): GradientModelCache {
  const store = fileSystem?.cache;
  if (!store) throw new BackendError('The gradient-model cache is on disk: it exists in Node only.');
  const dir = store.folder(folder);
  return { folder: dir, size: () => store.size(dir), clear: () => store.clear(dir) };
}
