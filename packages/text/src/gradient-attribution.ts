import { fromOnnx, hostBackend, HostTensor, type OnnxModel, type OnnxTensor, type OrtModule } from '@attribution/onnx';
import { proto } from '@attribution/onnx-grad';
import {
  ArgumentError,
  BackendError,
  closestName,
  describeValue,
  type ForwardRequest,
  type ForwardResult,
  type GradientRequest,
  type GradientResult,
  type Model,
} from '@attribution/tensor';
import { TextTokenInput, type TokenLike } from './inputs.js';
import type { CausalLM } from './decoder.js';
import { resolveTargetIds, targetOf, type LLMAttributionResult } from './llm-attribution.js';
import { prettyTokens, type TextTokenizer } from './tokenizer.js';

/** What {@link LLMGradientAttribution} needs of a decoder: the ONNX file's bytes and the runtime (an `OnnxCausalLM`). */
export interface GradientDecoder {
  /** `onnxruntime-node` or `onnxruntime-web`. */
  readonly ort: OrtModule;
  /** The ONNX model file's bytes (`input_ids`, `attention_mask`, `position_ids`, … → `logits`). */
  readonly bytes: Uint8Array;
  /**
   * The export layout: without cache (`model.onnx`), with `past_key_values` inputs (`decoder_with_past_model.onnx`,
   * fed empty past), or merged (`decoder_model_merged.onnx`, run on its no-cache branch).
   */
  readonly kind: 'no-cache' | 'with-past' | 'merged';
  /** The graph inputs' names. */
  readonly inputNames: readonly string[];
}

/** A layer gradient method of `@attribution/layer` (LayerIntegratedGradients, LayerGradientXActivation, LayerGradientShap). */
export interface LayerGradientMethod {
  attribute(inputs: OnnxTensor, options?: object): Promise<{ readonly attributions: OnnxTensor | readonly OnnxTensor[] }>;
}

/** Builds the method on a model and a layer: a method class such as `LayerIntegratedGradients`, or a function. */
export type LayerMethodFactory =
  | (new (model: Model<OnnxTensor>, layer: string) => LayerGradientMethod)
  | ((model: Model<OnnxTensor>, layer: string) => LayerGradientMethod);

/** Options of {@link LLMGradientAttribution}. */
export interface LLMGradientAttributionOptions {
  /**
   * The layer attributed (an ONNX tensor or node name); default the token embedding: the output of the
   * `Gather` whose indices are `input_ids` (in a merged decoder, the one of its no-cache branch).
   */
  readonly layer?: string;
}

/**
 * Options of the wrapped layer method (Captum's `**kwargs`): `nSteps`, `method`, `internalBatchSize`,
 * `baselines` (in the interpretable space: a `[1, n]` tensor, 1 = the token, anything else = the baseline id),
 * `nSamples`, `stdevs`, `seed`, …. `target` and `additionalForwardArgs` are set by the wrapper.
 */
export interface LLMGradientMethodOptions {
  readonly nSteps?: number;
  readonly method?: 'riemann_left' | 'riemann_right' | 'riemann_middle' | 'riemann_trapezoid' | 'gausslegendre';
  readonly internalBatchSize?: number;
  readonly baselines?: unknown;
  readonly [option: string]: unknown;
}

/** Options of {@link LLMGradientAttribution.attribute}. */
export interface LLMGradientAttributeOptions {
  /** Tokens (ids or strings; the first element's type decides) removed from the target ids. */
  readonly skipTokens?: readonly TokenLike[];
  /** Without a target: how many tokens greedy generation adds at most (default 25); it stops after the EOS. */
  readonly maxNewTokens?: number;
  /** Options of the layer method. */
  readonly methodOptions?: LLMGradientMethodOptions;
}

const LOG_PROBS = 'log_probs';

/** The ONNX graph, as decoded by `onnx-proto` (only the fields used here). */
interface GraphLike {
  node: { name: string; opType: string; input: string[]; output: string[]; attribute: { name: string; g?: GraphLike | null }[] }[];
  input: { name: string; type?: { tensorType?: { elemType?: number; shape?: { dim: { dimValue?: unknown; dimParam?: string }[] } } } }[];
  output: { name: string }[];
}

/** An input of the decoder graph, with what the wrapper feeds it. */
interface DecoderInput {
  readonly name: string;
  readonly role: 'input_ids' | 'attention_mask' | 'position_ids' | 'past' | 'use_cache_branch';
  /** For past_key_values: the static dimensions (heads, head size), -1 for the batch, 0 for the past length. */
  readonly dims?: readonly number[];
}

/**
 * Captum's `LLMGradientAttribution`: a layer gradient method (LayerIntegratedGradients, LayerGradientXActivation,
 * LayerGradientShap from `@attribution/layer`) on the token embedding of an ONNX decoder explains, for every
 * target token `y_k`, `log p(y_k | prompt, y_<k)` (teacher forcing: the prompt followed by the first `k` target
 * tokens). The method sees the interpretable `[1, n]` tensor of ones of a {@link TextTokenInput}: the default
 * baseline (zeros) puts the input's baseline id at every interpretable position, skipped tokens and appended
 * target tokens never change. The layer attribution `[1, L + k, d]` is summed over the embedding dimension, and
 * only the interpretable prompt positions are kept.
 */
export class LLMGradientAttribution {
  /** The attributed layer (an ONNX tensor name). */
  readonly layer: string;
  private readonly bytes: Uint8Array;
  private readonly inputs: readonly DecoderInput[];
  private model?: Promise<OnnxModel>;

  constructor(
    private readonly method: LayerMethodFactory,
    private readonly lm: GradientDecoder,
    private readonly tokenizer: TextTokenizer,
    options: LLMGradientAttributionOptions = {},
  ) {
    if (typeof method !== 'function') {
      throw new ArgumentError('method', 'a layer method class (LayerIntegratedGradients, LayerGradientXActivation, LayerGradientShap) or a function of a model and a layer', describeValue(method));
    }
    if (!lm || typeof lm !== 'object' || !(lm.bytes instanceof Uint8Array) || !lm.ort) {
      throw new ArgumentError('lm', 'an ONNX causal language model (OnnxCausalLM: ort, bytes, kind, inputNames)', describeValue(lm));
    }
    if (!tokenizer || typeof tokenizer.encode !== 'function') throw new ArgumentError('tokenizer', 'a TextTokenizer (HfTokenizer)', describeValue(tokenizer));
    let m: { graph: GraphLike };
    try {
      m = proto.onnx.ModelProto.decode(lm.bytes) as unknown as { graph: GraphLike };
    } catch (e) {
      throw new ArgumentError('lm', 'the bytes of an ONNX model', `bytes that do not decode (${(e as Error).message})`);
    }
    const graph = m.graph;
    const outputs = graph.output.map((o) => o.name);
    if (!outputs.includes('logits')) {
      throw new ArgumentError('lm', 'a decoder with a logits output ([batch, sequence, vocab])', `outputs ${outputs.join(', ')}`);
    }
    this.inputs = decoderInputs(graph, lm.kind);
    // A merged decoder always runs its no-cache branch here: inline it, so that its tensors can be named.
    inlineNoCacheBranch(graph);
    this.layer = options.layer === undefined ? embeddingLayer(graph, lm.kind) : checkLayer(graph, options.layer);
    this.bytes = withLogProbs(m);
  }

  /** The target ids: a text (encoded with special tokens, as Captum) or ids, less `skipTokens`. */
  targetIds(target: string | readonly number[], skipTokens?: readonly TokenLike[]): number[] {
    return resolveTargetIds(this.tokenizer, target, skipTokens);
  }

  /** The decoder with a `log_probs` output, loaded once. */
  private onnx(): Promise<OnnxModel> {
    this.model ??= fromOnnx(this.lm.ort, this.bytes, { output: LOG_PROBS });
    return this.model;
  }

  /**
   * Attributes `log p(y_k | prompt, y_<k)` of every target token to the prompt's interpretable tokens. Without a
   * target, the greedy continuation of the prompt is the target (`skipTokens` not applied to it, as Captum).
   */
  async attribute(inp: TextTokenInput, target?: string | readonly number[], options: LLMGradientAttributeOptions = {}): Promise<LLMAttributionResult> {
    if (!(inp instanceof TextTokenInput)) {
      throw new ArgumentError(
        'inp',
        'a TextTokenInput (gradient methods attribute to tokens, as Captum)',
        describeValue(inp),
        'Attribute template segments with LLMAttribution (FeatureAblation, ShapleyValues).',
      );
    }
    if (options === null || typeof options !== 'object') throw new ArgumentError('options', 'an options object', describeValue(options));
    const methodOptions = options.methodOptions ?? {};
    if (methodOptions === null || typeof methodOptions !== 'object') throw new ArgumentError('methodOptions', 'an options object of the layer method', describeValue(methodOptions));
    for (const key of ['target', 'additionalForwardArgs']) {
      if (key in methodOptions) throw new ArgumentError(`methodOptions.${key}`, 'nothing: LLMGradientAttribution sets it', describeValue(methodOptions[key]));
    }
    const onnx = await this.onnx();
    const prompt = inp.inputIds;
    const calls = { count: 0 };
    let ids: number[];
    if (target === undefined) {
      const lm = this.lm as Partial<CausalLM>;
      // An OnnxCausalLM generates with its key/value cache; a bare decoder description recomputes every step.
      ids =
        typeof lm.step === 'function' && typeof lm.logits === 'function'
          ? await targetOf(lm as CausalLM, this.tokenizer, prompt, undefined, options, () => void calls.count++)
          : await this.generate(onnx, inp, options.maxNewTokens ?? 25, calls);
    } else {
      if (options.maxNewTokens !== undefined) throw new ArgumentError('maxNewTokens', 'no generation option together with a target', String(options.maxNewTokens));
      ids = resolveTargetIds(this.tokenizer, target, options.skipTokens);
    }
    const T = ids.length;
    const L = prompt.length;
    const n = inp.nFeatures;
    const ones = (): HostTensor => new HostTensor(new Float32Array(n).fill(1), [1, n], 'float32');

    // p(y_k | prompt, y_<k): one pass over prompt + y_<T.
    const full = await new PromptModel(onnx, inp, ids.slice(0, T - 1), this.inputs, calls).forward({ inputs: [ones()] });
    const V = full.output.dims[2] as number;
    const lp = full.output.data as Float32Array;
    const outputProbs = ids.map((y, k) => Math.exp(lp[(L - 1 + k) * V + y] as number));

    const tokenAttr: number[][] = [];
    for (let k = 0; k < T; k++) {
      const model = new PromptModel(onnx, inp, ids.slice(0, k), this.inputs, calls);
      const method = makeMethod(this.method, model, this.layer);
      const { attributions } = await method.attribute(ones(), { ...methodOptions, target: { index: [L + k - 1, ids[k] as number] } });
      const a = (Array.isArray(attributions) ? attributions[0] : attributions) as OnnxTensor;
      const dims = a.dims;
      if (dims.length !== 3 || dims[0] !== 1 || dims[1] !== L + k) {
        throw new BackendError(`The layer '${this.layer}' gave attributions of shape [${dims.join(', ')}]; a token embedding layer gives [1, ${L + k}, d].`);
      }
      const d = dims[2] as number;
      const data = a.data as ArrayLike<number>;
      tokenAttr.push(
        inp.positions.map((p) => {
          let s = 0;
          for (let q = 0; q < d; q++) s += data[p * d + q] as number;
          return s;
        }),
      );
    }
    const seqAttr = Array.from({ length: n }, (_, j) => tokenAttr.reduce((s, r) => s + (r[j] as number), 0));
    return {
      inputTokens: inp.values,
      outputTokens: prettyTokens(this.tokenizer, ids),
      seqAttr,
      tokenAttr,
      outputProbs,
      modelCalls: calls.count,
    };
  }

  /** Greedy continuation of the prompt (no cache: one pass per token), ending with the EOS when it comes. */
  private async generate(onnx: OnnxModel, inp: TextTokenInput, maxNewTokens: number, calls: { count: number }): Promise<number[]> {
    if (!Number.isSafeInteger(maxNewTokens) || maxNewTokens < 1) throw new ArgumentError('maxNewTokens', 'a positive integer', describeValue(maxNewTokens));
    const out: number[] = [];
    const n = inp.nFeatures;
    while (out.length < maxNewTokens) {
      const { output } = await new PromptModel(onnx, inp, out, this.inputs, calls).forward({ inputs: [new HostTensor(new Float32Array(n).fill(1), [1, n], 'float32')] });
      const [, len, V] = output.dims as [number, number, number];
      const data = output.data as Float32Array;
      const off = (len - 1) * V;
      let best = 0;
      for (let v = 1; v < V; v++) if ((data[off + v] as number) > (data[off + best] as number)) best = v;
      out.push(best);
      if (best === this.tokenizer.eosTokenId) break;
    }
    return out;
  }

  /** Releases the ONNX Runtime sessions (the decoder `lm` itself is the caller's). */
  dispose(): void {
    void this.model?.then((m) => m.dispose()).catch(() => undefined);
    this.model = undefined;
  }
}

/**
 * The decoder seen by the layer method for one target index: its input is the interpretable `[B, n]` tensor
 * (1 = the prompt's token, anything else = the baseline id, as Captum's `TextTokenInput.to_model_input`), its
 * output the `log_probs` `[B, L + k, V]` of the prompt followed by `suffix` (the first `k` target tokens).
 */
class PromptModel implements Model<OnnxTensor> {
  readonly backend = hostBackend;

  constructor(
    private readonly onnx: OnnxModel,
    private readonly inp: TextTokenInput,
    private readonly suffix: readonly number[],
    private readonly decoderInputs: readonly DecoderInput[],
    /** Counts the decoder runs. */
    private readonly calls: { count: number },
  ) {}

  private feeds(request: ForwardRequest<OnnxTensor>): { inputs: OnnxTensor[]; args: OnnxTensor[] } {
    if ((request.args ?? []).length > 0) throw new ArgumentError('additionalForwardArgs', 'none: LLMGradientAttribution feeds the decoder', describeValue(request.args));
    const x = request.inputs[0];
    if (request.inputs.length !== 1 || !x || x.dims.length !== 2 || x.dims[1] !== this.inp.nFeatures) {
      throw new ArgumentError('inputs', `one interpretable tensor [B, ${this.inp.nFeatures}]`, describeValue(request.inputs));
    }
    const B = x.dims[0] as number;
    const n = this.inp.nFeatures;
    const data = x.data as ArrayLike<number | bigint>;
    const len = this.inp.inputIds.length + this.suffix.length;
    const ids = new BigInt64Array(B * len);
    for (let r = 0; r < B; r++) {
      const row = Array.from({ length: n }, (_, j) => Number(data[r * n + j]));
      const seq = [...this.inp.toModelInput(row), ...this.suffix];
      seq.forEach((id, j) => (ids[r * len + j] = BigInt(id)));
    }
    const all = this.decoderInputs.map((di): OnnxTensor => {
      switch (di.role) {
        case 'input_ids':
          return new HostTensor(ids, [B, len], 'int64');
        case 'attention_mask':
          return new HostTensor(new BigInt64Array(B * len).fill(1n), [B, len], 'int64');
        case 'position_ids':
          return new HostTensor(BigInt64Array.from({ length: B * len }, (_, i) => BigInt(i % len)), [B, len], 'int64');
        case 'use_cache_branch':
          return new HostTensor(new Uint8Array(1), [1], 'bool');
        case 'past': {
          const dims = (di.dims as number[]).map((v) => (v === -1 ? B : v));
          return new HostTensor(new Float32Array(0), dims, 'float32');
        }
      }
    });
    // Batch-less inputs (use_cache_branch) go last, as additional arguments are not repeated by the methods anyway.
    return { inputs: [all[0] as OnnxTensor], args: all.slice(1) };
  }

  forward(request: ForwardRequest<OnnxTensor>): Promise<ForwardResult<OnnxTensor>> {
    this.calls.count++;
    return this.onnx.forward({ ...request, ...this.feeds(request) });
  }

  gradient(request: GradientRequest<OnnxTensor>): Promise<GradientResult<OnnxTensor>> {
    if (request.wrt.some((w) => 'input' in w)) {
      throw new BackendError('LLMGradientAttribution differentiates a layer (the token embedding) only: its interpretable inputs pick token ids and have no gradient.');
    }
    this.calls.count++;
    return this.onnx.gradient({ ...request, ...this.feeds(request) });
  }

  layers(): Promise<readonly string[]> {
    return this.onnx.layers();
  }
}

function makeMethod(factory: LayerMethodFactory, model: Model<OnnxTensor>, layer: string): LayerGradientMethod {
  // A class (its prototype has `attribute`) is constructed with `new`; a plain function is called.
  const p = (factory as { prototype?: { attribute?: unknown } }).prototype;
  if (typeof p?.attribute === 'function') return new (factory as new (m: Model<OnnxTensor>, l: string) => LayerGradientMethod)(model, layer);
  return (factory as (m: Model<OnnxTensor>, l: string) => LayerGradientMethod)(model, layer);
}

/** The decoder's inputs and what each is fed; an input of another name is refused. */
function decoderInputs(graph: GraphLike, kind: GradientDecoder['kind']): DecoderInput[] {
  const roles = ['input_ids', 'attention_mask', 'position_ids', 'use_cache_branch'] as const;
  const inputs = graph.input.map((vi): DecoderInput => {
    const role = roles.find((r) => r === vi.name);
    if (role) return { name: vi.name, role };
    if (vi.name.startsWith('past_key_values.') || vi.name.startsWith('past_')) {
      const t = vi.type?.tensorType;
      const dims = t?.shape?.dim ?? [];
      if (t?.elemType !== 1 || dims.length !== 4) {
        throw new ArgumentError('lm', 'float32 past_key_values of rank 4 ([batch, heads, past, head size])', `input '${vi.name}'`, 'Explain the decoder without cache (onnx/model.onnx).');
      }
      const fixed = dims.map((d, i) => (i === 0 ? -1 : i === 2 ? 0 : Number(d.dimValue ?? NaN)));
      if (fixed.some((v) => Number.isNaN(v) || v < -1)) {
        throw new ArgumentError('lm', 'past_key_values with static heads and head size', `input '${vi.name}' of shape [${dims.map((d) => d.dimParam || String(d.dimValue)).join(', ')}]`, 'Explain the decoder without cache (onnx/model.onnx).');
      }
      return { name: vi.name, role: 'past', dims: fixed };
    }
    throw new ArgumentError('lm', 'a decoder with inputs input_ids, attention_mask, position_ids (and past_key_values.*, use_cache_branch)', `an input '${vi.name}'`);
  });
  if (inputs[0]?.role !== 'input_ids') throw new ArgumentError('lm', 'a decoder whose first input is input_ids', `inputs ${graph.input.map((i) => i.name).join(', ')}`);
  const hasPast = inputs.some((i) => i.role === 'past');
  const hasBranch = inputs.some((i) => i.role === 'use_cache_branch');
  const actual = hasBranch ? 'merged' : hasPast ? 'with-past' : 'no-cache';
  if (kind !== undefined && kind !== actual) throw new ArgumentError('lm.kind', `'${actual}' (the graph's inputs say so)`, describeValue(kind));
  return inputs;
}

/** Every node of the graph and of its subgraphs (If branches), depth first. */
function allNodes(graph: GraphLike): GraphLike['node'] {
  return graph.node.flatMap((n) => [n, ...n.attribute.flatMap((a) => (a.g ? allNodes(a.g) : []))]);
}

/**
 * Replaces the `If` on `use_cache_branch` of a merged decoder by its `else_branch` (the branch without cache, the
 * one taken with `use_cache_branch = false`): its nodes and initializers move to the main graph, and Identity
 * nodes give its outputs the If's output names.
 */
function inlineNoCacheBranch(graph: GraphLike): void {
  const at = graph.node.findIndex((n) => n.opType === 'If' && n.input[0] === 'use_cache_branch');
  if (at < 0) return;
  const node = graph.node[at] as GraphLike['node'][number];
  const branch = node.attribute.find((a) => a.name === 'else_branch')?.g as (GraphLike & { initializer?: { name: string }[] }) | undefined;
  if (!branch || branch.output.length !== node.output.length) {
    throw new ArgumentError('lm', 'a merged decoder whose If on use_cache_branch has an else_branch (without cache)', 'an If without one', 'Explain the decoder without cache (onnx/model.onnx).');
  }
  // Names the main graph defines besides the If's outputs (which the branch's outputs take over).
  const outer = new Set([
    ...graph.input.map((i) => i.name),
    ...((graph as { initializer?: { name: string }[] }).initializer ?? []).map((t) => t.name),
    ...graph.node.filter((n) => n !== node).flatMap((n) => n.output),
  ]);
  const defined = [...branch.node.flatMap((n) => n.output), ...(branch.initializer ?? []).map((t) => t.name)].filter((name) => name);
  const clash = defined.find((name) => outer.has(name) || (node.output.includes(name) && branch.output[node.output.indexOf(name)]?.name !== name));
  if (clash) throw new ArgumentError('lm', 'a merged decoder whose no-cache branch names its own tensors', `the name '${clash}' in the branch and the main graph`, 'Explain the decoder without cache (onnx/model.onnx).');
  const onnx = proto.onnx;
  const identities = branch.output
    .map((o, i) => ({ from: o.name, to: node.output[i] as string, i }))
    .filter(({ from, to }) => to && from !== to)
    .map(({ from, to, i }) => onnx.NodeProto.create({ name: `attribution_no_cache_output_${i}`, opType: 'Identity', input: [from], output: [to] }));
  graph.node.splice(at, 1, ...(branch.node as never[]), ...(identities as never[]));
  const g = graph as unknown as { initializer: unknown[] };
  g.initializer = [...(g.initializer ?? []), ...(branch.initializer ?? [])];
}

/** The token embedding: the output of the Gather whose indices are input_ids (the no-cache branch of a merged decoder). */
function embeddingLayer(graph: GraphLike, kind: GradientDecoder['kind']): string {
  const isEmbedding = (n: GraphLike['node'][number]): boolean => n.opType === 'Gather' && n.input[1] === 'input_ids';
  let found = graph.node.filter(isEmbedding);
  if (found.length === 0) {
    // A merged decoder runs its no-cache branch (use_cache_branch = false): the If node's else_branch.
    const branches = graph.node.filter((n) => n.opType === 'If').flatMap((n) => n.attribute.filter((a) => a.g && (kind !== 'merged' || a.name === 'else_branch')).map((a) => a.g as GraphLike));
    found = branches.flatMap((g) => allNodes(g).filter(isEmbedding));
  }
  const first = found[0];
  if (!first?.output[0]) {
    throw new ArgumentError('layer', 'a token embedding to find: a Gather node whose indices are input_ids', 'a decoder without one', 'Name the embedding tensor with the layer option.');
  }
  return first.output[0];
}

/** Checks that `layer` names a tensor computed by the graph (or a node). */
function checkLayer(graph: GraphLike, layer: unknown): string {
  if (typeof layer !== 'string' || layer === '') throw new ArgumentError('layer', 'an ONNX tensor or node name', describeValue(layer));
  const nodes = allNodes(graph);
  const names = nodes.flatMap((n) => n.output).filter((o) => o);
  if (names.includes(layer) || nodes.some((n) => n.name === layer)) return layer;
  const guess = closestName(layer, names);
  throw new ArgumentError('layer', 'a tensor computed by the decoder (the token embedding, by default)', `'${layer}'`, guess ? `Did you mean '${guess}'?` : undefined);
}

/** The model with `log_probs = LogSoftmax(logits, axis = -1)` as its only output. */
function withLogProbs(m: { graph: GraphLike }): Uint8Array {
  const onnx = proto.onnx;
  const graph = m.graph as unknown as { node: unknown[]; output: { name: string; type?: unknown }[] };
  const logits = graph.output.find((o) => o.name === 'logits');
  if (allNodes(m.graph).some((n) => n.output.includes(LOG_PROBS))) {
    throw new ArgumentError('lm', `a decoder without a tensor named '${LOG_PROBS}'`, 'a decoder that has one');
  }
  graph.node.push(onnx.NodeProto.create({ name: 'attribution_log_softmax', opType: 'LogSoftmax', input: ['logits'], output: [LOG_PROBS], attribute: [onnx.AttributeProto.create({ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: -1 })] }));
  graph.output = [onnx.ValueInfoProto.create({ name: LOG_PROBS, type: logits?.type ?? null })];
  return onnx.ModelProto.encode(m as never).finish();
}
