import { fileURLToPath } from 'node:url';
import type { OrtModule } from '@attribution/onnx';
import { LayerIntegratedGradients } from '@attribution/layer';
import { FeatureAblation } from '@attribution/primary';
import { LLMAttribution, LLMGradientAttribution, TextTokenInput, loadTextModel, type LLMAttributionResult, type TextModel } from '@attribution/text';
import * as ortNode from 'onnxruntime-node';

/**
 * The text cases of `pnpm bench:captum`: Captum's LLMAttribution (FeatureAblation) and LLMGradientAttribution
 * (LayerIntegratedGradients on the token embedding) against ours from `@attribution/text`, on the fixture decoder
 * packages/text/fixtures/tiny-gpt. Captum's side (captum_server.py) builds the PyTorch module of
 * packages/text/fixtures/make_fixtures.py (TinyGPT, TinyTokenizer) with the weights of the same ONNX file, and
 * checks nothing itself: the setup reply carries its token ids and logits, compared here before timing.
 */

export const TEXT = 'tiny_gpt';
export const TEXT_FOLDER = fileURLToPath(new URL('../../packages/text/fixtures/tiny-gpt', import.meta.url));

/** bench/src/text.ts's prompt and target: 31 words of the fixture's vocabulary (with [BOS], 32 tokens) and 8 tokens. */
const PROMPT = 'the capital of france is paris the capital of japan is tokyo hot is the opposite of cold 2 plus 3 is five copy : b d a = b d';
const TARGET = 'a the capital of peru is lima copy';
/** As the conformance cases (captum-cases.json): [BOS] is skipped on the input (not a feature) and on the target. */
const SKIP = ['[BOS]'];

export interface TextCase {
  readonly method: 'LLMAttribution' | 'LLMGradientAttribution';
  /** The wrapped method: printed and recorded as `${method} ${inner}`. */
  readonly inner: 'FeatureAblation' | 'LayerIntegratedGradients';
  /** The attributed layer, for the gradient wrapper: ours finds the token embedding (Gather of input_ids) itself. */
  readonly layer?: { readonly torch: string };
  /** Passed to both sides: ours as `attribute()` options (nSteps inside methodOptions), Captum's as keywords. */
  readonly options: Readonly<Record<string, unknown>>;
  /** Ours only (Captum's LLM forward scores one prompt per call): perturbed prompts per model call. */
  readonly batchSize?: number;
}

export const TEXT_CASES: readonly TextCase[] = [
  // Ours at its default batchSize (16 prompts a model call); Captum's FeatureAblation runs one perturbation per
  // forward (perturbations_per_eval 1: its LLM forward takes a single prompt).
  { method: 'LLMAttribution', inner: 'FeatureAblation', options: { useCachedOutputs: true }, batchSize: 16 },
  { method: 'LLMGradientAttribution', inner: 'LayerIntegratedGradients', layer: { torch: 'transformer.wte' }, options: { nSteps: 50 } },
];

export const textLabel = (c: TextCase): string => `${c.method} ${c.inner}`;

/** One side's call: its `attribute()` time and the attributions it returned (seq_attr). */
export interface Timed {
  readonly ms: number;
  readonly sum: number;
  readonly values?: readonly number[];
}

/** What captum_server.py answers to a text setup: its token ids and the logits of prompt + target. */
interface TextSetupReply {
  readonly inputIds: number[];
  readonly targetIds: number[];
  readonly logits: number[];
}

/** A text case set up on our side: the Captum setup message, the comparison of its reply, our timed call. */
export interface PreparedText {
  readonly setup: object;
  /** Throws when the two sides do not tokenize alike or their logits differ; else a line about the agreement. */
  check(reply: unknown): Promise<string>;
  ours(): Promise<Timed>;
  dispose(): void;
}

export function loadTiny(): Promise<TextModel> {
  return loadTextModel(ortNode as unknown as OrtModule, TEXT_FOLDER);
}

export function prepareText(c: TextCase, m: TextModel): PreparedText {
  const inp = new TextTokenInput(PROMPT, m.tokenizer, { skipTokens: SKIP });
  if (inp.inputIds.length !== 32 || inp.inputIds.includes(0)) throw new Error(`the bench prompt has ${inp.inputIds.length} tokens (not 32) or unknown words`);
  let attribute: () => Promise<LLMAttributionResult>;
  let dispose = (): void => {};
  let targetIds: number[];
  if (c.method === 'LLMAttribution') {
    const llm = new LLMAttribution(FeatureAblation, m.lm, m.tokenizer);
    targetIds = llm.targetIds(TARGET, SKIP);
    const options = { skipTokens: SKIP, batchSize: c.batchSize, ...c.options };
    attribute = () => llm.attribute(inp, TARGET, options);
  } else {
    const lig = new LLMGradientAttribution(LayerIntegratedGradients, m.lm, m.tokenizer);
    targetIds = lig.targetIds(TARGET, SKIP);
    const options = { skipTokens: SKIP, methodOptions: c.options };
    attribute = () => lig.attribute(inp, TARGET, options);
    dispose = () => lig.dispose();
  }
  if (targetIds.length !== 8) throw new Error(`the bench target has ${targetIds.length} tokens, not 8`);
  return {
    setup: { model: TEXT, modelFile: TEXT_FOLDER, method: c.method, inner: c.inner, torchLayer: c.layer?.torch, prompt: PROMPT, target: TARGET, skipTokens: SKIP, options: c.options },
    async check(reply: unknown): Promise<string> {
      const r = reply as TextSetupReply;
      const same = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((v, i) => v === b[i]);
      if (!same(r.inputIds, inp.inputIds) || !same(r.targetIds, targetIds)) {
        throw new Error(`the tokenizers disagree: ours ${JSON.stringify([inp.inputIds, targetIds])}, PyTorch's ${JSON.stringify([r.inputIds, r.targetIds])}`);
      }
      const { data } = await m.lm.logits([[...inp.inputIds, ...targetIds]]);
      if (data.length !== r.logits.length) throw new Error(`logits of ${data.length} values (ours) against ${r.logits.length} (PyTorch)`);
      let diff = 0;
      data.forEach((v, i) => {
        diff = Math.max(diff, Math.abs(v - (r.logits[i] as number)));
      });
      if (!(diff < 1e-3)) throw new Error(`the PyTorch module is not the ONNX model: logits differ by up to ${diff}`);
      return `same ${inp.inputIds.length}+${targetIds.length} token ids, logits max |Δ| ${diff.toExponential(1)}`;
    },
    async ours(): Promise<Timed> {
      const t = performance.now();
      const r = await attribute();
      const ms = performance.now() - t;
      return { ms, sum: r.seqAttr.reduce((a, b) => a + b, 0), values: r.seqAttr };
    },
    dispose,
  };
}

/** The record's options: what both sides were given. */
export function textOptions(c: TextCase): Record<string, unknown> {
  return {
    prompt: '32 tokens ([BOS] + 31 features)',
    target: TARGET,
    targetTokens: 8,
    skipTokens: SKIP,
    ...c.options,
    ...(c.batchSize ? { batchSize: `${c.batchSize} (ours; Captum 1)` } : {}),
  };
}
