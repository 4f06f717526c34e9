/**
 * @packageDocumentation
 * Builds the backward graph of an ONNX model so that an inference runtime (ONNX Runtime) computes input
 * gradients: {@link transformModel} appends, to a copy of the model, the vector-Jacobian product of
 * `sum(output ⊙ w)` with respect to chosen tensors, with `w` fed at run time. One backward rule per
 * operator lives in `gradients/<Op>_grad.ts`; {@link registerGradient} adds more.
 */
export { transformModel, WEIGHTS_INPUT, type ModelInput, type TransformOptions, type TransformedModel } from './builder.js';
export { InvalidModelError, UnsupportedOperatorError } from './errors.js';
export { getGradient, gradientOps, registerGradient, type GradContext, type GradientRule, type RuleSet } from './gradients/index.js';
export { Emitter } from './emitter.js';
export { Graph, type Dim, type ValueMeta } from './graph.js';
export { inspectModel, type ModelSummary } from './inspect.js';
export * as proto from './proto.js';
export { inferShapes } from './shapes.js';
