/**
 * @packageDocumentation
 * Explain text generation: Captum's `LLMAttribution` over prompt tokens ({@link TextTokenInput}) or template
 * values ({@link TextTemplateInput}), with FeatureAblation or ShapleyValues from `@attribution/primary`, on an
 * ONNX decoder without cache.
 */
export { HfTokenizer, type TextTokenizer } from './tokenizer.js';
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
export { OnnxCausalLM, type CausalLM } from './decoder.js';
export { LLMAttribution, type LLMAttributeOptions, type LLMAttributionOptions, type LLMAttributionResult, type MethodFactory, type PerTokenMethod } from './llm-attribution.js';
