import { ArgumentError, describeValue } from '@attribution/tensor';
import type { CausalLM } from './decoder.js';

/** `log softmax(logits)[token]` of one row of logits. */
export function logProbOf(logits: ArrayLike<number>, offset: number, vocabSize: number, token: number): number {
  let m = -Infinity;
  for (let v = 0; v < vocabSize; v++) m = Math.max(m, logits[offset + v] as number);
  let z = 0;
  for (let v = 0; v < vocabSize; v++) z += Math.exp((logits[offset + v] as number) - m);
  return (logits[offset + token] as number) - m - Math.log(z);
}

/** The first largest entry of one row of logits (greedy decoding). */
export function argmax(logits: ArrayLike<number>, offset = 0, vocabSize = logits.length - offset): number {
  let best = 0;
  for (let v = 1; v < vocabSize; v++) if ((logits[offset + v] as number) > (logits[offset + best] as number)) best = v;
  return best;
}

/** How {@link targetLogProbs} runs the model. */
export interface ScoringOptions {
  /**
   * `true` (default): one pass over prompt + target, where every position's keys and values are computed once —
   * what Captum's `use_cached_outputs` achieves with a cache, in one model call. `false`: Captum's uncached
   * path, one pass per target token over the whole growing prefix (`T` calls).
   */
  readonly useCache?: boolean;
  /** Prompts per model call (left-padded together); default 16. */
  readonly batchSize?: number;
  /** Called once per model call (counting them). */
  readonly onModelCall?: () => void;
}

/** Checks a batch size option. */
export function checkBatchSize(value: unknown, argument = 'batchSize'): number {
  if (!Number.isSafeInteger(value) || (value as number) < 1) throw new ArgumentError(argument, 'a positive integer', describeValue(value));
  return value as number;
}

/**
 * Teacher-forced scores of a target after each prompt: `out[i][k] = log p(y_k | prompts[i], y_<k)`.
 * Prompts are batched (left padding, so every prompt keeps its own positions and mask).
 */
export async function targetLogProbs(
  lm: CausalLM,
  prompts: readonly (readonly number[])[],
  target: readonly number[],
  options: ScoringOptions = {},
): Promise<Float64Array[]> {
  const batchSize = checkBatchSize(options.batchSize ?? 16);
  const T = target.length;
  if (T === 0) throw new ArgumentError('target', 'at least one target token', 'none');
  prompts.forEach((p, i) => {
    if (p.length === 0) throw new ArgumentError(`prompts[${i}]`, 'a prompt of at least one token (a perturbed template tokenized to nothing)', 'none');
  });
  const out = prompts.map(() => new Float64Array(T));
  for (let start = 0; start < prompts.length; start += batchSize) {
    const chunk = prompts.slice(start, start + batchSize);
    if (options.useCache ?? true) {
      const { data, length: L, vocabSize: V, pads } = await lm.logits(chunk.map((p) => [...p, ...target.slice(0, -1)]));
      options.onModelCall?.();
      chunk.forEach((p, i) => {
        const row = out[start + i] as Float64Array;
        for (let k = 0; k < T; k++) row[k] = logProbOf(data, (i * L + (pads[i] as number) + p.length - 1 + k) * V, V, target[k] as number);
      });
    } else {
      for (let k = 0; k < T; k++) {
        const { data, length: L, vocabSize: V } = await lm.logits(chunk.map((p) => [...p, ...target.slice(0, k)]));
        options.onModelCall?.();
        chunk.forEach((_, i) => {
          (out[start + i] as Float64Array)[k] = logProbOf(data, (i * L + L - 1) * V, V, target[k] as number);
        });
      }
    }
  }
  return out;
}

/**
 * Greedy continuation of `prompt` (Captum's default generation arguments: no sampling): at most `maxNewTokens`
 * ids, ending with the EOS when it comes. Decoders with a cache feed one new token per step.
 */
export async function greedyGenerate(lm: CausalLM, prompt: readonly number[], maxNewTokens: number, eosTokenId: number | undefined): Promise<number[]> {
  if (!Number.isSafeInteger(maxNewTokens) || maxNewTokens < 1) throw new ArgumentError('maxNewTokens', 'a positive integer', describeValue(maxNewTokens));
  const out: number[] = [];
  let { logits, cache } = await lm.step(prompt, null);
  for (;;) {
    const next = argmax(logits);
    out.push(next);
    if (next === eosTokenId || out.length >= maxNewTokens) return out;
    ({ logits, cache } = await lm.step([next], cache));
  }
}
