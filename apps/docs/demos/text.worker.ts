/**
 * The tiny GPT-2 of the text demo on ONNX Runtime Web (WebAssembly, one thread), in a Web Worker: loads the model
 * folder (docs/public/models/tiny-gpt) with `loadTextModel` and explains its answer with `LLMAttribution` or
 * `LLMGradientAttribution`.
 */
import * as ort from 'onnxruntime-web/wasm';
import wasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.wasm?url';
import { LayerIntegratedGradients } from '@attribution/layer';
import { FeatureAblation, KernelShap, Lime, ShapleyValueSampling, ShapleyValues } from '@attribution/primary';
import { LLMAttribution, LLMGradientAttribution, TextTokenInput, loadTextModel, type LLMAttributionResult, type MethodFactory, type TextModel } from '@attribution/text';
import { serve, yielding } from './rpc.js';

// The .wasm file is served by the site itself; threads would need cross-origin isolation.
ort.env.wasm.wasmPaths = { wasm: wasmUrl };
ort.env.wasm.numThreads = 1;

/** The methods of the demo (the `--method` names of `attribution explain-text`). */
export type TextMethod = 'feature-ablation' | 'shapley-values' | 'shapley-value-sampling' | 'kernel-shap' | 'lime' | 'layer-integrated-gradients';

export type TextRequest =
  | { readonly type: 'load'; readonly url: string }
  | {
      readonly type: 'explain';
      readonly prompt: string;
      /** `null`: the greedy continuation of the prompt. */
      readonly target: string | null;
      readonly method: TextMethod;
      readonly attrTarget: 'log_prob' | 'prob';
    };

export interface LoadResult {
  readonly modelFile: string;
  readonly vocabSize: number;
}

export interface ExplainResult {
  /** The target (given or generated), decoded without special tokens. */
  readonly answer: string;
  /** The attribution, as plain arrays. */
  readonly result: {
    readonly inputTokens: string[];
    readonly outputTokens: string[];
    readonly seqAttr: number[];
    readonly tokenAttr: number[][] | null;
    readonly outputProbs: number[];
    readonly modelCalls: number;
  };
  readonly ms: number;
}

const PERTURBATION: Record<Exclude<TextMethod, 'layer-integrated-gradients'>, MethodFactory> = {
  'feature-ablation': FeatureAblation,
  'shapley-values': ShapleyValues,
  'shapley-value-sampling': ShapleyValueSampling,
  'kernel-shap': KernelShap,
  lime: Lime,
};

let loading: Promise<TextModel> | undefined;
let lig: LLMGradientAttribution | undefined;
/** The fixture's tokenizer puts [BOS] first: it is neither a feature nor part of a text target. */
const SKIP = ['[BOS]'];
/** The generation limit without a target (the fixture's answers are at most 5 tokens, [EOS] included). */
const MAX_NEW_TOKENS = 8;
/** The model's context (`n_positions` of its config.json). */
const POSITIONS = 64;

// `serve` throttles progress (exact Shapley values report every one of their n·n! evaluations) and aborts
// `signal` when the page cancels; the methods check it between model calls.
serve<TextRequest, LoadResult | ExplainResult>(async (request, onProgress, signal) => {
  if (request.type === 'load') {
    // The language model lets the worker's event loop run now and then, so that Cancel's message arrives mid-run.
    loading ??= loadTextModel(ort, request.url, { modelFile: 'model' }).then((m) => ({ ...m, lm: yielding(m.lm, ['logits', 'step']) })).catch((e: unknown) => {
      loading = undefined; // try again on the next request
      throw e;
    });
  }
  if (!loading) throw new Error('the model is not loaded');
  const model = await loading;
  const { tokenizer, lm } = model;
  if (request.type === 'load') return { result: { modelFile: model.modelFile, vocabSize: Number(model.config.vocab_size ?? 0) } };

  const prompt = request.prompt.trim();
  if (!prompt) throw new Error('type a prompt');
  const inp = new TextTokenInput(prompt, tokenizer, { skipTokens: SKIP });
  const target = request.target?.trim() || undefined;
  const options = target === undefined ? { maxNewTokens: MAX_NEW_TOKENS } : { skipTokens: SKIP };
  const targetLength = target === undefined ? MAX_NEW_TOKENS : tokenizer.encode(target, { addSpecialTokens: false }).length;
  if (inp.inputIds.length + targetLength > POSITIONS) {
    throw new Error(`prompt and target are too long: the model sees ${POSITIONS} tokens at most (${inp.inputIds.length} + ${targetLength} here)`);
  }
  if (request.method === 'shapley-values' && inp.nFeatures > 8) {
    throw new Error(`exact Shapley values walk all n! orderings: at most 8 prompt tokens here (${inp.nFeatures} given); try Shapley Value Sampling`);
  }
  const start = performance.now();
  let result: LLMAttributionResult;
  if (request.method === 'layer-integrated-gradients') {
    if (request.attrTarget !== 'log_prob') throw new Error('Layer Integrated Gradients attributes log-probabilities only (as Captum)');
    lig ??= new LLMGradientAttribution(LayerIntegratedGradients, lm, tokenizer);
    result = await lig.attribute(inp, target, { ...options, methodOptions: { nSteps: 50, onProgress, signal } });
  } else {
    const factory = PERTURBATION[request.method];
    if (!factory) throw new Error(`unknown method '${String(request.method)}'`);
    const llm = new LLMAttribution(factory, lm, tokenizer, { attrTarget: request.attrTarget });
    const sampling = request.method !== 'feature-ablation' && request.method !== 'shapley-values';
    result = await llm.attribute(inp, target, { ...options, methodOptions: { onProgress, signal, ...(sampling ? { nSamples: 50, seed: 0 } : {}) } });
  }
  const ms = performance.now() - start;
  const ids = tokenizer.convertTokensToIds([...result.outputTokens]);
  return {
    result: {
      answer: tokenizer.decode(ids, { skipSpecialTokens: true }),
      result: {
        inputTokens: [...result.inputTokens],
        outputTokens: [...result.outputTokens],
        seqAttr: [...result.seqAttr],
        tokenAttr: result.tokenAttr ? result.tokenAttr.map((row) => [...row]) : null,
        outputProbs: [...result.outputProbs],
        modelCalls: result.modelCalls,
      },
      ms,
    },
  };
});
