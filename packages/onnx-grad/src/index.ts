/**
 * @packageDocumentation
 * Builds the backward graph of an ONNX model so that an inference runtime (ONNX Runtime) computes input
 * gradients: {@link transformModel} appends, to a copy of the model, the vector-Jacobian product of
 * `sum(output ⊙ w)` with respect to chosen tensors, with `w` fed at run time. One backward rule per
 * operator lives in `gradients/<Op>_grad.ts`; {@link registerGradient} adds more.
 */
export { transformModel, unsupportedOperators, WEIGHTS_INPUT, type ModelInput, type TransformOptions, type TransformedModel } from './builder.js';
export { InvalidModelError, UnsupportedOperatorError, UNSUPPORTED_ADVICE, type UnsupportedOperator } from './errors.js';
export { registerDecomposition, getDecomposition, decomposedOps, type Decomposition } from './decompose/index.js';
export { topoSort } from './passes/topo-sort.js';
export { prune } from './passes/prune.js';
export { foldConstants, foldableOps } from './passes/fold.js';
export { hasShapeArithmetic } from './passes/specialise.js';
export { getGradient, gradientOps, opKey, registerGradient, type GradContext, type GradientRule, type RuleSet } from './gradients/index.js';
export { checkLrpRuleSpecs, lrpOps, registerLrpRule, UnsupportedLrpLayerError, type LrpLayerRule, type LrpOptions, type LrpRule } from './lrp/index.js';
export { Emitter } from './emitter.js';
export { DEFAULT_LIMITS, type BuildLimits } from './limits.js';
export { Graph, type Dim, type ValueMeta } from './graph.js';
export { inspectModel, type ModelSummary } from './inspect.js';
export { gradientMinOpset, operatorTable, renderOperatorTable, type GradientSupport, type OperatorRow } from './operator-table.js';
export * as proto from './proto.js';
export { inferShapes } from './shapes.js';
