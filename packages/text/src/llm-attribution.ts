import { hostBackend, HostTensor, type OnnxTensor } from '@attribution/onnx';
import type { FeatureAblationOptions, ShapleyValuesOptions } from '@attribution/primary';
import { ArgumentError, BackendError, describeValue, type Model } from '@attribution/tensor';
import type { CausalLM } from './decoder.js';
import { skipTokenIds, type InterpretableInput, type TokenLike } from './inputs.js';
import type { TextTokenizer } from './tokenizer.js';

/** A perturbation method of `@attribution/primary` that gives per-token rows (FeatureAblation, ShapleyValues). */
export interface PerTokenMethod {
  attribute(inputs: OnnxTensor, options?: FeatureAblationOptions<OnnxTensor> & ShapleyValuesOptions<OnnxTensor>): Promise<{ readonly attributions: OnnxTensor }>;
}

/** Builds the method on the wrapper's model: a method class such as `FeatureAblation`, or a function. */
export type MethodFactory = (new (model: Model<OnnxTensor>) => PerTokenMethod) | ((model: Model<OnnxTensor>) => PerTokenMethod);

/** Options of {@link LLMAttribution}. */
export interface LLMAttributionOptions {
  /** The scored value: log-probabilities of the target tokens (default) or probabilities. */
  readonly attrTarget?: 'log_prob' | 'prob';
}

/** Options of {@link LLMAttribution.attribute}. */
export interface LLMAttributeOptions {
  /** Tokens (ids or strings; the first element's type decides) removed from the target ids. */
  readonly skipTokens?: readonly TokenLike[];
  /** Repetitions averaged (only sampling methods differ between trials); default 1. */
  readonly numTrials?: number;
  /**
   * Without a target: how many tokens greedy generation adds at most (default 25, Captum's default generation
   * arguments). Generation stops after the tokenizer's EOS, which stays the last target token.
   */
  readonly maxNewTokens?: number;
  /** Options of the wrapped method (`featureMask`, `perturbationsPerEval`, …), in the interpretable space. */
  readonly methodOptions?: Omit<FeatureAblationOptions<OnnxTensor>, 'target'>;
}

/** What {@link LLMAttribution.attribute} returns (Captum's `LLMAttributionResult`). */
export interface LLMAttributionResult {
  /** The features' display strings: prompt tokens or template values. */
  readonly inputTokens: readonly string[];
  /** The target tokens' strings. */
  readonly outputTokens: readonly string[];
  /** Attribution of the whole target's score, one per input token. */
  readonly seqAttr: readonly number[];
  /** Attribution of each target token's score: `[outputTokens.length][inputTokens.length]`. */
  readonly tokenAttr: readonly (readonly number[])[];
  /** `p(y_k | prompt, y_<k)` on the unperturbed prompt (Captum 0.8 leaves it empty). */
  readonly outputProbs: readonly number[];
}

/**
 * Captum's `LLMAttribution`: which prompt features (tokens or template values) drive the log-probability (or
 * probability) of a target continuation. The method perturbs a `[1, n]` tensor of ones; every row is turned
 * into a prompt, and the decoder scores `[Σ_k ℓ_k, ℓ_1, …, ℓ_T]` with teacher forcing (one no-cache pass over
 * prompt + target per distinct prompt: the causal logits of that pass are the `T` prefixes' last logits).
 */
export class LLMAttribution {
  readonly attrTarget: 'log_prob' | 'prob';

  constructor(
    private readonly method: MethodFactory,
    private readonly lm: CausalLM,
    private readonly tokenizer: TextTokenizer,
    options: LLMAttributionOptions = {},
  ) {
    if (typeof method !== 'function') throw new ArgumentError('method', 'a method class (FeatureAblation, ShapleyValues) or a function of a model', describeValue(method));
    if (!lm || typeof lm.logits !== 'function') throw new ArgumentError('lm', 'a causal language model (OnnxCausalLM)', describeValue(lm));
    const t = options.attrTarget ?? 'log_prob';
    if (t !== 'log_prob' && t !== 'prob') throw new ArgumentError('attrTarget', "'log_prob' or 'prob'", describeValue(t));
    this.attrTarget = t;
  }

  /** The target ids: a text (encoded with special tokens, as Captum) or ids, less `skipTokens`. */
  targetIds(target: string | readonly number[], skipTokens?: readonly TokenLike[]): number[] {
    const skip = skipTokenIds(this.tokenizer, skipTokens);
    let ids: number[];
    if (typeof target === 'string') ids = this.tokenizer.encode(target);
    else if (Array.isArray(target) && target.every((i) => Number.isSafeInteger(i) && i >= 0)) ids = [...target];
    else throw new ArgumentError('target', 'a text or an array of token ids', describeValue(target));
    ids = ids.filter((i) => !skip.has(i));
    if (ids.length === 0) throw new ArgumentError('target', 'a target of at least one token (after skipTokens)', describeValue(target));
    return ids;
  }

  /**
   * Greedy continuation of `prompt` (no cache: one pass per new token), as Captum's default generation: at most
   * `maxNewTokens` ids, ending with the EOS when it comes.
   */
  async generate(prompt: readonly number[], maxNewTokens = 25): Promise<number[]> {
    if (!Number.isSafeInteger(maxNewTokens) || maxNewTokens < 1) throw new ArgumentError('maxNewTokens', 'a positive integer', describeValue(maxNewTokens));
    const seq = [...prompt];
    const out: number[] = [];
    while (out.length < maxNewTokens) {
      const { data, vocabSize: V } = await this.lm.logits(seq);
      const off = (seq.length - 1) * V;
      let best = 0;
      for (let v = 1; v < V; v++) if ((data[off + v] as number) > (data[off + best] as number)) best = v;
      out.push(best);
      seq.push(best);
      if (best === this.tokenizer.eosTokenId) break;
    }
    return out;
  }

  /**
   * Attributes the target's score to the input's features. Without a target, the greedy continuation of the
   * unperturbed prompt is the target (`skipTokens` not applied to it, as Captum).
   */
  async attribute(inp: InterpretableInput, target?: string | readonly number[], options: LLMAttributeOptions = {}): Promise<LLMAttributionResult> {
    if (!inp || typeof inp.toModelInput !== 'function') throw new ArgumentError('inp', 'a TextTokenInput or a TextTemplateInput', describeValue(inp));
    const numTrials = options.numTrials ?? 1;
    if (!Number.isSafeInteger(numTrials) || numTrials < 1) throw new ArgumentError('numTrials', 'a positive integer', describeValue(numTrials));
    let ids: number[];
    if (target === undefined) {
      const prompt = inp.toModelInput(null);
      ids = await this.generate(typeof prompt === 'string' ? this.tokenizer.encode(prompt) : prompt, options.maxNewTokens);
    } else {
      if (options.maxNewTokens !== undefined) throw new ArgumentError('maxNewTokens', 'no generation option together with a target', String(options.maxNewTokens));
      ids = this.targetIds(target, options.skipTokens);
    }
    const T = ids.length;
    const n = inp.nFeatures;
    const memo = new Map<string, Promise<Float64Array>>();
    const logProbs = (prompt: readonly number[] | string): Promise<Float64Array> => {
      const p = typeof prompt === 'string' ? this.tokenizer.encode(prompt) : prompt;
      const key = p.join(',');
      let got = memo.get(key);
      if (!got) {
        got = this.scoreTarget(p, ids);
        memo.set(key, got);
      }
      return got;
    };
    const prob = this.attrTarget === 'prob';
    const model: Model<OnnxTensor> = {
      backend: hostBackend,
      forward: async ({ inputs }) => {
        const x = inputs[0] as OnnxTensor;
        const data = x.data as ArrayLike<number>;
        const rows = x.dims[0] as number;
        const out = new Float32Array(rows * (T + 1));
        for (let r = 0; r < rows; r++) {
          const row = Array.from({ length: n }, (_, j) => Number(data[r * n + j]));
          const lp = await logProbs(inp.toModelInput(row));
          let total = 0;
          for (let k = 0; k < T; k++) total += lp[k] as number;
          out[r * (T + 1)] = prob ? Math.exp(total) : total;
          for (let k = 0; k < T; k++) out[r * (T + 1) + k + 1] = prob ? Math.exp(lp[k] as number) : (lp[k] as number);
        }
        return { output: new HostTensor(out, [rows, T + 1], 'float32'), captured: [] };
      },
      gradient: () => Promise.reject(new BackendError('LLMAttribution runs perturbation methods only: its text model has no gradients.')),
    };
    const method = makeMethod(this.method, model);
    const acc = Array.from({ length: T + 1 }, () => new Float64Array(n));
    for (let trial = 0; trial < numTrials; trial++) {
      const ones = new HostTensor(new Float32Array(n).fill(1), [1, n], 'float32');
      const { attributions } = await method.attribute(ones, { ...options.methodOptions });
      const a = attributions.data as ArrayLike<number>;
      if (a.length !== (T + 1) * n) throw new BackendError(`The method returned ${a.length} attributions, expected ${(T + 1) * n} ([${T + 1}, ${n}]).`);
      for (let r = 0; r <= T; r++) for (let j = 0; j < n; j++) { const row = acc[r] as Float64Array; row[j] = (row[j] as number) + (a[r * n + j] as number); }
    }
    const rows = inp.formatAttr(acc.map((r) => Array.from(r, (v) => v / numTrials)));
    const full = await logProbs(inp.toModelInput(null));
    return {
      inputTokens: inp.values,
      outputTokens: this.tokenizer.convertIdsToTokens(ids),
      seqAttr: rows[0] as number[],
      tokenAttr: rows.slice(1),
      outputProbs: Array.from(full, (v) => Math.exp(v)),
    };
  }

  /** `log p(y_k | prompt, y_<k)` for every k, from one pass over prompt + y_<T. */
  private async scoreTarget(prompt: readonly number[], target: readonly number[]): Promise<Float64Array> {
    if (prompt.length === 0) throw new ArgumentError('prompt', 'at least one token (a perturbed template tokenized to nothing)', 'none');
    const seq = [...prompt, ...target.slice(0, -1)];
    const { data, vocabSize: V } = await this.lm.logits(seq);
    const out = new Float64Array(target.length);
    for (let k = 0; k < target.length; k++) {
      const off = (prompt.length - 1 + k) * V;
      let m = -Infinity;
      for (let v = 0; v < V; v++) m = Math.max(m, data[off + v] as number);
      let z = 0;
      for (let v = 0; v < V; v++) z += Math.exp((data[off + v] as number) - m);
      out[k] = (data[off + (target[k] as number)] as number) - m - Math.log(z);
    }
    return out;
  }
}

function makeMethod(factory: MethodFactory, model: Model<OnnxTensor>): PerTokenMethod {
  // A class (its prototype has `attribute`) is constructed with `new`; a plain function is called.
  const proto = (factory as { prototype?: { attribute?: unknown } }).prototype;
  if (typeof proto?.attribute === 'function') return new (factory as new (m: Model<OnnxTensor>) => PerTokenMethod)(model);
  return (factory as (m: Model<OnnxTensor>) => PerTokenMethod)(model);
}
