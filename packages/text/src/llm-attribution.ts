import { hostBackend, HostTensor, type OnnxTensor } from '@attribution/onnx';
import { KernelShap, Lime } from '@attribution/primary';
import { ArgumentError, BackendError, describeValue, type Model } from '@attribution/tensor';
import type { CausalLM } from './decoder.js';
import { skipTokenIds, type InterpretableInput, type TokenLike } from './inputs.js';
import { checkBatchSize, greedyGenerate, targetLogProbs } from './scoring.js';
import { prettyTokens, type TextTokenizer } from './tokenizer.js';

/**
 * A perturbation method of `@attribution/primary` (FeatureAblation, ShapleyValues, ShapleyValueSampling,
 * KernelShap, Lime) as the wrapper uses it.
 */
export interface PerturbationMethod {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  attribute(inputs: OnnxTensor, options?: any): Promise<{ readonly attributions: OnnxTensor }>;
}

/** Builds the method on the wrapper's model: a method class such as `FeatureAblation`, or a function. */
export type MethodFactory = (new (model: Model<OnnxTensor>) => PerturbationMethod) | ((model: Model<OnnxTensor>) => PerturbationMethod);

/** Options of {@link LLMAttribution}. */
export interface LLMAttributionOptions {
  /** The scored value: log-probabilities of the target tokens (default) or probabilities. */
  readonly attrTarget?: 'log_prob' | 'prob';
}

/** Options of {@link LLMAttribution.attribute}. */
export interface LLMAttributeOptions {
  /** Tokens (ids or strings; the first element's type decides) removed from the target ids. */
  readonly skipTokens?: readonly TokenLike[];
  /**
   * Repetitions averaged (only sampling methods differ between trials); default 1. With a `seed` in
   * `methodOptions`, trial `t` uses `seed + t`.
   */
  readonly numTrials?: number;
  /**
   * Without a target: how many tokens greedy generation adds at most (default 25, Captum's default generation
   * arguments). Generation stops after the tokenizer's EOS, which stays the last target token.
   */
  readonly maxNewTokens?: number;
  /**
   * Options of the wrapped method (`featureMask`, `nSamples`, `seed`, `perturbationsPerEval`, …), in the
   * interpretable space (a `[1, nFeatures]` tensor of ones). `perturbationsPerEval` defaults to `batchSize`.
   */
  readonly methodOptions?: Readonly<Record<string, unknown>>;
  /**
   * `true` (default): each perturbed prompt is scored in one model call over prompt + target, keys and values
   * of every position computed once (Captum's `use_cached_outputs`); `false`: one call per target token
   * recomputing the whole prefix (Captum's uncached path, for comparison).
   */
  readonly useCachedOutputs?: boolean;
  /** Perturbed prompts per model call (left-padded into one batch); default 16. */
  readonly batchSize?: number;
}

/** What {@link LLMAttribution.attribute} returns (Captum's `LLMAttributionResult`). */
export interface LLMAttributionResult {
  /** The features' display strings: prompt tokens or template values. */
  readonly inputTokens: readonly string[];
  /** The target tokens' display strings (each id decoded alone, whitespace stripped: Captum's pretty tokens). */
  readonly outputTokens: readonly string[];
  /** Attribution of the whole target's score, one per input token. */
  readonly seqAttr: readonly number[];
  /** Attribution of each target token's score, `[outputTokens.length][inputTokens.length]`; `null` for Lime and KernelShap. */
  readonly tokenAttr: readonly (readonly number[])[] | null;
  /** `p(y_k | prompt, y_<k)` on the unperturbed prompt (Captum 0.8 leaves it empty). */
  readonly outputProbs: readonly number[];
  /** Model calls the attribution made (forward passes; generation included). */
  readonly modelCalls: number;
}

/** The target ids: a text (encoded with special tokens, as Captum) or ids, less `skipTokens`. */
export function resolveTargetIds(tokenizer: TextTokenizer, target: string | readonly number[], skipTokens?: readonly TokenLike[]): number[] {
  const skip = skipTokenIds(tokenizer, skipTokens);
  let ids: number[];
  if (typeof target === 'string') ids = tokenizer.encode(target);
  else if (Array.isArray(target) && target.every((i) => Number.isSafeInteger(i) && i >= 0)) ids = [...target];
  else throw new ArgumentError('target', 'a text or an array of token ids', describeValue(target));
  ids = ids.filter((i) => !skip.has(i));
  if (ids.length === 0) {
    throw new ArgumentError('target', 'a target of at least one token (after skipTokens)', describeValue(target), typeof target === 'string' ? `${JSON.stringify(target)} tokenizes to ${tokenizer.encode(target).length} token(s), none left after skipTokens.` : undefined);
  }
  return ids;
}

/**
 * The target of an attribution: given (text or ids, less `skipTokens`), or generated greedily from the
 * unperturbed prompt (then `skipTokens` is not applied, as Captum).
 */
export async function targetOf(
  lm: CausalLM,
  tokenizer: TextTokenizer,
  prompt: readonly number[],
  target: string | readonly number[] | undefined,
  options: { readonly skipTokens?: readonly TokenLike[]; readonly maxNewTokens?: number },
  onModelCall: () => void,
): Promise<number[]> {
  if (target === undefined || target === null) {
    const counting: CausalLM = { usesCache: lm.usesCache, logits: (s) => lm.logits(s), step: (ids, c) => (onModelCall(), lm.step(ids, c)) };
    return greedyGenerate(counting, prompt, options.maxNewTokens ?? 25, tokenizer.eosTokenId);
  }
  if (options.maxNewTokens !== undefined) throw new ArgumentError('maxNewTokens', 'no generation option together with a target', String(options.maxNewTokens));
  return resolveTargetIds(tokenizer, target, options.skipTokens);
}

/** Checks the language model argument of the wrappers. */
export function checkLM(lm: unknown): void {
  const m = lm as Partial<CausalLM> | null;
  if (!m || typeof m.logits !== 'function' || typeof m.step !== 'function') throw new ArgumentError('lm', 'a causal language model (OnnxCausalLM, or the lm of loadTextModel)', describeValue(lm));
}

/**
 * Captum's `LLMAttribution`: which prompt features (tokens or template values) drive the log-probability (or
 * probability) of a target continuation. The method perturbs a `[1, n]` tensor of ones; every row is turned
 * into a prompt, and the decoder scores `[Σ_k ℓ_k, ℓ_1, …, ℓ_T]` with teacher forcing (`ℓ_k = log p(y_k |
 * prompt, y_<k)`; Lime and KernelShap see the total only). Distinct prompts are scored once and batched.
 */
export class LLMAttribution {
  readonly attrTarget: 'log_prob' | 'prob';

  constructor(
    private readonly method: MethodFactory,
    private readonly lm: CausalLM,
    private readonly tokenizer: TextTokenizer,
    options: LLMAttributionOptions = {},
  ) {
    if (typeof method !== 'function') throw new ArgumentError('method', 'a method class (FeatureAblation, ShapleyValues, ShapleyValueSampling, KernelShap, Lime) or a function of a model', describeValue(method));
    checkLM(lm);
    const t = options.attrTarget ?? 'log_prob';
    if (t !== 'log_prob' && t !== 'prob') throw new ArgumentError('attrTarget', "'log_prob' or 'prob'", describeValue(t));
    this.attrTarget = t;
  }

  /** The target ids: a text (encoded with special tokens, as Captum) or ids, less `skipTokens`. */
  targetIds(target: string | readonly number[], skipTokens?: readonly TokenLike[]): number[] {
    return resolveTargetIds(this.tokenizer, target, skipTokens);
  }

  /**
   * Attributes the target's score to the input's features. Without a target, the greedy continuation of the
   * unperturbed prompt is the target (`skipTokens` not applied to it, as Captum).
   */
  async attribute(inp: InterpretableInput, target?: string | readonly number[], options: LLMAttributeOptions = {}): Promise<LLMAttributionResult> {
    if (!inp || typeof inp.toModelInput !== 'function') throw new ArgumentError('inp', 'a TextTokenInput or a TextTemplateInput', describeValue(inp));
    const numTrials = options.numTrials ?? 1;
    if (!Number.isSafeInteger(numTrials) || numTrials < 1) throw new ArgumentError('numTrials', 'a positive integer', describeValue(numTrials));
    const batchSize = checkBatchSize(options.batchSize ?? 16);
    const methodOptions = options.methodOptions ?? {};
    if (methodOptions === null || typeof methodOptions !== 'object') throw new ArgumentError('methodOptions', 'an object of the method\'s options', describeValue(methodOptions));
    if ('target' in methodOptions) throw new ArgumentError('methodOptions.target', 'no target (the wrapper chooses the outputs; pass the text target as the second argument)', describeValue(methodOptions.target));
    let modelCalls = 0;
    const counted = (): void => void modelCalls++;
    const toIds = (prompt: readonly number[] | string): readonly number[] => (typeof prompt === 'string' ? this.tokenizer.encode(prompt) : prompt);
    const original = toIds(inp.toModelInput(null));
    const ids = await targetOf(this.lm, this.tokenizer, original, target, options, counted);
    const T = ids.length;
    const n = inp.nFeatures;
    const scores = new Map<string, Float64Array>();
    const score = async (prompts: readonly (readonly number[])[]): Promise<Float64Array[]> => {
      const keys = prompts.map((p) => p.join(','));
      const todo = [...new Set(keys.filter((k) => !scores.has(k)))];
      if (todo.length) {
        const got = await targetLogProbs(this.lm, todo.map((k) => prompts[keys.indexOf(k)] as readonly number[]), ids, {
          useCache: options.useCachedOutputs ?? true,
          batchSize,
          onModelCall: counted,
        });
        todo.forEach((k, i) => scores.set(k, got[i] as Float64Array));
      }
      return keys.map((k) => scores.get(k) as Float64Array);
    };
    let perToken = true;
    const prob = this.attrTarget === 'prob';
    const model: Model<OnnxTensor> = {
      backend: hostBackend,
      forward: async ({ inputs }) => {
        const x = inputs[0] as OnnxTensor;
        const data = x.data as ArrayLike<number>;
        const rows = x.dims[0] as number;
        const prompts = Array.from({ length: rows }, (_, r) => toIds(inp.toModelInput(Array.from({ length: n }, (_, j) => Number(data[r * n + j])))));
        const lps = await score(prompts);
        const width = perToken ? T + 1 : 1;
        const out = new Float32Array(rows * width);
        lps.forEach((lp, r) => {
          let total = 0;
          for (let k = 0; k < T; k++) total += lp[k] as number;
          out[r * width] = prob ? Math.exp(total) : total;
          if (perToken) for (let k = 0; k < T; k++) out[r * width + k + 1] = prob ? Math.exp(lp[k] as number) : (lp[k] as number);
        });
        return { output: new HostTensor(out, perToken ? [rows, T + 1] : [rows], 'float32'), captured: [] };
      },
      gradient: () => Promise.reject(new BackendError('LLMAttribution runs perturbation methods only: its text model has no gradients (use LLMGradientAttribution).')),
    };
    const method = makeMethod(this.method, model);
    // Captum gives per-token rows for FeatureAblation and the Shapley methods; Lime and KernelShap explain the total.
    perToken = !(method instanceof Lime || method instanceof KernelShap);
    const width = perToken ? T + 1 : 1;
    const acc = Array.from({ length: width }, () => new Float64Array(n));
    for (let trial = 0; trial < numTrials; trial++) {
      const ones = new HostTensor(new Float32Array(n).fill(1), [1, n], 'float32');
      // A seed starts each trial's own random stream (seed, seed + 1, …), so trials differ as Captum's do.
      const seed = typeof methodOptions.seed === 'number' ? { seed: methodOptions.seed + trial } : {};
      const { attributions } = await method.attribute(ones, { perturbationsPerEval: batchSize, ...methodOptions, ...seed });
      const a = attributions.data as ArrayLike<number>;
      if (a.length !== width * n) throw new BackendError(`The method returned ${a.length} attributions, expected ${width * n} ([${width}, ${n}]).`);
      for (let r = 0; r < width; r++) {
        const row = acc[r] as Float64Array;
        for (let j = 0; j < n; j++) row[j] = (row[j] as number) + (a[r * n + j] as number);
      }
    }
    const rows = inp.formatAttr(acc.map((r) => Array.from(r, (v) => v / numTrials)));
    const [full] = await score([original]);
    return {
      inputTokens: inp.values,
      outputTokens: prettyTokens(this.tokenizer, ids),
      seqAttr: rows[0] as number[],
      tokenAttr: perToken ? rows.slice(1) : null,
      outputProbs: Array.from(full as Float64Array, (v) => Math.exp(v)),
      modelCalls,
    };
  }
}

function makeMethod(factory: MethodFactory, model: Model<OnnxTensor>): PerturbationMethod {
  // A class (its prototype has `attribute`) is constructed with `new`; a plain function is called.
  const proto = (factory as { prototype?: { attribute?: unknown } }).prototype;
  const method = typeof proto?.attribute === 'function' ? new (factory as new (m: Model<OnnxTensor>) => PerturbationMethod)(model) : (factory as (m: Model<OnnxTensor>) => PerturbationMethod)(model);
  if (!method || typeof method.attribute !== 'function') throw new ArgumentError('method', 'a method with an attribute function', describeValue(method));
  return method;
}
