/**
 * @packageDocumentation
 * Neuron attribution: how the inputs drive one unit (or a block of units) of a layer. The neuron is an index
 * into the layer's output without the batch dimension, `{ block }` with ranges (summed), or a function of the
 * layer output.
 */
export { NeuronAttribution, type NeuronCall } from './neuron-attribution.js';
export { NeuronConductance, type NeuronConductanceOptions } from './neuron-conductance.js';
export { NeuronDeepLift, type NeuronDeepLiftOptions } from './neuron-deep-lift.js';
export { NeuronDeepLiftShap, type NeuronDeepLiftShapOptions } from './neuron-deep-lift-shap.js';
export { NeuronFeatureAblation, type NeuronFeatureAblationOptions } from './neuron-feature-ablation.js';
export { NeuronGradient, type NeuronGradientOptions } from './neuron-gradient.js';
export { NeuronGradientShap, type NeuronGradientShapOptions } from './neuron-gradient-shap.js';
export { NeuronDeconvolution, NeuronGuidedBackprop } from './neuron-guided-backprop.js';
export { NeuronIntegratedGradients, type NeuronIntegratedGradientsOptions } from './neuron-integrated-gradients.js';
export { neuronMethods, type NeuronMethodEntry } from './registry.js';
export type { NeuronAttributionResult, NeuronOptions } from './types.js';
export type { NeuronSelector } from '@attribution/core';
