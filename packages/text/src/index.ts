/**
 * @packageDocumentation
 * Explain text generation: Captum's `LLMAttribution` over prompt tokens ({@link TextTokenInput}) or template
 * values ({@link TextTemplateInput}) with the perturbation methods of `@attribution/primary`, on ONNX decoders in
 * the transformers.js / Optimum layout ({@link loadTextModel}), with or without a key/value cache.
 */
export { HfTokenizer, prettyTokens, type TextTokenizer } from './tokenizer.js';
export {
  TextTemplateInput,
  TextTokenInput,
  skipTokenIds,
  type InterpretableInput,
  type TemplateValues,
  type TextTemplateInputOptions,
  type TextTokenInputOptions,
  type TokenLike,
} from './inputs.js';
export { OnnxCausalLM, type BatchLogits, type CausalLM, type DecoderKind, type KeyValueCache, type OnnxCausalLMOptions } from './decoder.js';
export { loadTextModel, type LoadTextModelOptions, type TextModel, type TextModelFile, type TextModelFiles } from './load.js';
export { argmax, greedyGenerate, logProbOf, targetLogProbs, type ScoringOptions } from './scoring.js';
export {
  LLMAttribution,
  resolveTargetIds,
  type LLMAttributeOptions,
  type LLMAttributionOptions,
  type LLMAttributionResult,
  type MethodFactory,
  type PerturbationMethod,
} from './llm-attribution.js';
export {
  LLMGradientAttribution,
  type GradientDecoder,
  type LayerGradientMethod,
  type LayerMethodFactory,
  type LLMGradientAttributeOptions,
  type LLMGradientAttributionOptions,
  type LLMGradientMethodOptions,
} from './gradient-attribution.js';
