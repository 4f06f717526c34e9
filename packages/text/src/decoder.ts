import { loadModelBytes, type ModelSource, type OrtModule } from '@attribution/onnx';
import { ArgumentError, BackendError, ShapeError, describeValue } from '@attribution/tensor';

/**
 * How a decoder takes its key/value cache: `'no-cache'` (`input_ids`, `attention_mask`, `position_ids` →
 * `logits`), `'with-past'` (plus `past_key_values.{i}.key|value` inputs and `present.{i}.key|value` outputs) or
 * `'merged'` (Optimum's merged decoder: a `with-past` graph with a boolean `use_cache_branch` input).
 */
export type DecoderKind = 'no-cache' | 'with-past' | 'merged';

/** Logits of a batch of left-padded sequences: row `i`'s token `p` sits at position `pads[i] + p`. */
export interface BatchLogits {
  /** Row-major `[batch, length, vocabSize]`. */
  readonly data: Float32Array;
  /** The padded length. */
  readonly length: number;
  readonly vocabSize: number;
  /** Left padding of every row. */
  readonly pads: readonly number[];
}

/** A key/value cache of one sequence (batch 1), as the decoder returned it. */
export interface KeyValueCache {
  /** Tokens the cache covers. */
  readonly length: number;
  /** `present.*` tensors by the name of the `past_key_values.*` input they feed. */
  readonly tensors: ReadonlyMap<string, { readonly data: Float32Array | Uint16Array; readonly dims: readonly number[] }>;
}

/** What the text methods need from a causal language model. */
export interface CausalLM {
  /** Whether {@link CausalLM.step} reuses a key/value cache (false: every step recomputes the sequence). */
  readonly usesCache: boolean;
  /** Logits of every position of a batch of sequences (any lengths ≥ 1; shorter rows are left-padded). */
  logits(sequences: readonly (readonly number[])[]): Promise<BatchLogits>;
  /**
   * Last-position logits of `ids` appended to a sequence whose cache is `cache` (`null`: a new sequence), and
   * the cache after them: one generation step.
   */
  step(ids: readonly number[], cache: KeyValueCache | null): Promise<{ readonly logits: Float32Array; readonly cache: KeyValueCache }>;
  /** Releases the model. */
  dispose?(): void;
}

/** Options of {@link OnnxCausalLM.load}. */
export interface OnnxCausalLMOptions {
  /** Options of the ONNX Runtime session. */
  readonly sessionOptions?: SessionOptions;
  /** The model's `config.json` (key/value heads, head size and the padding id, when the graph does not say). */
  readonly config?: Readonly<Record<string, unknown>>;
}

type InferenceSession = Awaited<ReturnType<OrtModule['InferenceSession']['create']>>;
type OrtTensor = InstanceType<OrtModule['Tensor']>;
/** ONNX Runtime session options. */
export type SessionOptions = NonNullable<Parameters<OrtModule['InferenceSession']['create']>[1]>;

const PAST = /^past_key_values\.(\d+)\.(key|value)$/;

interface PastInput {
  readonly name: string;
  readonly present: string;
  readonly heads: number;
  readonly headDim: number;
  readonly type: 'float32' | 'float16';
}

/**
 * A decoder in the transformers.js / Optimum layout run by ONNX Runtime (`onnxruntime-node` or
 * `onnxruntime-web`): forward passes only. Batches are left-padded (attention mask 0, position ids counted over
 * the mask, as Hugging Face's generation does); with-past and merged decoders get an empty cache for whole
 * sequences and their own cache for generation steps.
 */
export class OnnxCausalLM implements CausalLM {
  /** The model's ONNX bytes (the gradient methods build their model from them). */
  readonly bytes: Uint8Array;
  readonly kind: DecoderKind;
  readonly inputNames: readonly string[];
  /** The padding id fed at padded positions (masked out; `pad_token_id`, else `eos_token_id`, else 0). */
  readonly padTokenId: number;
  private readonly past: readonly PastInput[];
  private disposed = false;

  private constructor(
    readonly ort: OrtModule,
    private readonly session: InferenceSession,
    bytes: Uint8Array,
    config: Readonly<Record<string, unknown>>,
  ) {
    this.bytes = bytes;
    const names = session.inputNames;
    this.inputNames = names;
    if (!names.includes('input_ids')) {
      throw new ArgumentError('model', 'a decoder with an input_ids input (and attention_mask, position_ids)', `inputs ${names.join(', ')}`);
    }
    if (!session.outputNames.includes('logits')) {
      throw new ArgumentError('model', 'a causal language model with a `logits` output', `outputs ${session.outputNames.join(', ')}`, 'Export the model with its language-model head (Optimum: --task text-generation).');
    }
    const pastNames = names.filter((n) => PAST.test(n));
    const known = new Set(['input_ids', 'attention_mask', 'position_ids', 'use_cache_branch', ...pastNames]);
    const unknown = names.filter((n) => !known.has(n));
    if (unknown.length) {
      throw new ArgumentError('model', 'a decoder with inputs input_ids, attention_mask, position_ids and optionally past_key_values.{i}.key|value, use_cache_branch', `also ${unknown.join(', ')}`);
    }
    this.kind = pastNames.length === 0 ? 'no-cache' : names.includes('use_cache_branch') ? 'merged' : 'with-past';
    this.past = pastNames.map((name) => pastInput(session, name, config));
    const pad = [config.pad_token_id, config.eos_token_id].find((v) => Number.isSafeInteger(v)) as number | undefined;
    this.padTokenId = pad ?? 0;
  }

  /** Loads a decoder from a file path (Node), a URL or bytes. */
  static async load(ort: OrtModule, source: ModelSource, options: OnnxCausalLMOptions = {}): Promise<OnnxCausalLM> {
    const bytes = await loadModelBytes(source);
    const session = await ort.InferenceSession.create(bytes, options.sessionOptions);
    try {
      return new OnnxCausalLM(ort, session, bytes, options.config ?? {});
    } catch (e) {
      await session.release();
      throw e;
    }
  }

  get usesCache(): boolean {
    return this.kind !== 'no-cache';
  }

  async logits(sequences: readonly (readonly number[])[]): Promise<BatchLogits> {
    if (!Array.isArray(sequences) || sequences.length === 0) throw new ArgumentError('sequences', 'at least one sequence of token ids', describeValue(sequences));
    const B = sequences.length;
    const L = Math.max(...sequences.map((s) => s.length));
    if (Math.min(...sequences.map((s) => s.length)) < 1) throw new ArgumentError('sequences', 'sequences of at least one token', 'an empty sequence');
    const pads = sequences.map((s) => L - s.length);
    const ids = new BigInt64Array(B * L).fill(BigInt(this.padTokenId));
    const mask = new BigInt64Array(B * L);
    const pos = new BigInt64Array(B * L);
    sequences.forEach((s, i) => {
      const pad = pads[i] as number;
      s.forEach((t: number, p: number) => {
        ids[i * L + pad + p] = BigInt(t);
        mask[i * L + pad + p] = 1n;
        pos[i * L + pad + p] = BigInt(p);
      });
    });
    const out = await this.run(ids, mask, pos, [B, L], null, 0);
    return { data: out.logits, length: L, vocabSize: out.vocabSize, pads };
  }

  async step(ids: readonly number[], cache: KeyValueCache | null): Promise<{ logits: Float32Array; cache: KeyValueCache }> {
    if (ids.length === 0) throw new ArgumentError('ids', 'at least one token id', 'none');
    if (this.kind === 'no-cache') {
      // No cache to keep: the "cache" is the sequence itself, recomputed at every step.
      const seq = [...(cache ? (cache as NoCache).ids : []), ...ids];
      const { data, vocabSize: V } = await this.logits([seq]);
      const noCache: NoCache = { length: seq.length, tensors: new Map(), ids: seq };
      return { logits: data.slice((seq.length - 1) * V, seq.length * V), cache: noCache };
    }
    const P = cache?.length ?? 0;
    const n = ids.length;
    const out = await this.run(
      BigInt64Array.from(ids, (t) => BigInt(t)),
      new BigInt64Array(P + n).fill(1n),
      BigInt64Array.from(ids, (_, i) => BigInt(P + i)),
      [1, n],
      cache,
      P,
    );
    const V = out.vocabSize;
    return { logits: out.logits.slice((n - 1) * V, n * V), cache: { length: P + n, tensors: out.present } };
  }

  private async run(
    ids: BigInt64Array,
    mask: BigInt64Array,
    pos: BigInt64Array,
    dims: readonly [number, number],
    cache: KeyValueCache | null,
    pastLength: number,
  ): Promise<{ logits: Float32Array; vocabSize: number; present: Map<string, { data: Float32Array | Uint16Array; dims: readonly number[] }> }> {
    if (this.disposed) throw new BackendError('This OnnxCausalLM was disposed.');
    const { Tensor } = this.ort;
    const [B, L] = dims;
    const feeds: Record<string, OrtTensor> = {};
    const names = new Set(this.inputNames);
    feeds.input_ids = new Tensor('int64', ids, [B, L]);
    if (names.has('attention_mask')) feeds.attention_mask = new Tensor('int64', mask, [B, pastLength + L]);
    if (names.has('position_ids')) feeds.position_ids = new Tensor('int64', pos, [B, L]);
    for (const p of this.past) {
      const got = cache?.tensors.get(p.name);
      feeds[p.name] = got ? new Tensor(p.type, got.data, got.dims) : new Tensor(p.type, p.type === 'float16' ? new Uint16Array(0) : new Float32Array(0), [B, p.heads, 0, p.headDim]);
    }
    if (names.has('use_cache_branch')) feeds.use_cache_branch = new Tensor('bool', Uint8Array.of(cache ? 1 : 0), [1]);
    const fetches = ['logits', ...this.past.map((p) => p.present)];
    const results = await this.session.run(feeds, fetches);
    {
      const logits = results.logits as OrtTensor;
      const ld = logits.dims;
      if (ld.length !== 3 || ld[0] !== B || ld[1] !== L) throw new ShapeError('logits', `[${B}, ${L}, vocab]`, describeValue(ld));
      if (logits.type !== 'float32') throw new BackendError(`The decoder's logits are ${logits.type}; float32 logits are needed.`);
      const present = new Map<string, { data: Float32Array | Uint16Array; dims: readonly number[] }>();
      for (const p of this.past) {
        const t = results[p.present] as OrtTensor;
        present.set(p.name, { data: t.data as Float32Array | Uint16Array, dims: [...t.dims] });
      }
      return { logits: logits.data as Float32Array, vocabSize: ld[2] as number, present };
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    void this.session.release();
  }
}

interface NoCache extends KeyValueCache {
  readonly ids: readonly number[];
}

/** Heads and head size of a past input, from the graph's declared shape or else the config. */
function pastInput(session: InferenceSession, name: string, config: Readonly<Record<string, unknown>>): PastInput {
  const meta = (session as { inputMetadata?: readonly { name: string; shape?: readonly (number | string)[]; type?: string }[] }).inputMetadata?.find((m) => m.name === name);
  const shape = meta?.shape;
  const num = (v: unknown): number | undefined => (Number.isSafeInteger(v) && (v as number) > 0 ? (v as number) : undefined);
  const heads =
    num(shape?.[1]) ?? num(config.num_key_value_heads) ?? num(config.n_head) ?? num(config.num_attention_heads) ?? num(config.num_heads);
  const width = num(config.n_embd) ?? num(config.hidden_size) ?? num(config.d_model);
  const allHeads = num(config.n_head) ?? num(config.num_attention_heads) ?? num(config.num_heads);
  const headDim = num(shape?.[3]) ?? num(config.head_dim) ?? (width && allHeads ? width / allHeads : undefined);
  if (!heads || !headDim) {
    throw new ArgumentError('config', `the key/value heads and head size of ${name} (num_key_value_heads or n_head, head_dim or n_embd)`, 'a graph and config that give neither');
  }
  const type = meta?.type === 'float16' ? 'float16' : 'float32';
  return { name, present: name.replace('past_key_values', 'present'), heads, headDim, type };
}
