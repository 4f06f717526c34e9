/**
 * @packageDocumentation
 * Shared machinery of the attribution algorithms: input, baseline, target and argument normalisation,
 * batching, approximation rules, path integration, convergence delta and tensor ownership. Algorithms are
 * built from these pieces so that each stays short and they all behave alike.
 */
export * from './approximation.js';
export * from './args.js';
export * from './attribution.js';
export * from './baselines.js';
export * from './batching.js';
export * from './delta.js';
export * from './distribution.js';
export * from './features.js';
export * from './host.js';
export * from './linalg.js';
export * from './linear-models.js';
export * from './linear-classifier.js';
export * from './loss.js';
export * from './perturbation.js';
export * from './gradient-call.js';
export * from './gradcam.js';
export * from './layers.js';
export * from './inputs.js';
export * from './integrate.js';
export * from './model-calls.js';
export * from './noise.js';
export * from './resolve-target.js';
export * from './options.js';
export * from './scope.js';
export * from './shap-samples.js';
export * from './summarizer.js';
export * from './target.js';
