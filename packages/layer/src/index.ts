/**
 * @packageDocumentation
 * Layer attribution: how much each unit of a layer's activation contributes to a model output. A layer is
 * named by an ONNX tensor or node name, a tfjs LayersModel layer name, or a function model's `tap` name.
 */
export { InternalInfluence, type InternalInfluenceOptions } from './internal-influence.js';
export { LayerActivation, type LayerActivationOptions } from './layer-activation.js';
export { LayerAttribution } from './layer-attribution.js';
export { LayerConductance, type LayerConductanceOptions } from './layer-conductance.js';
export { LayerDeepLift, type LayerDeepLiftOptions } from './layer-deep-lift.js';
export { LayerDeepLiftShap, type LayerDeepLiftShapOptions } from './layer-deep-lift-shap.js';
export { LayerFeatureAblation, type LayerFeatureAblationOptions } from './layer-feature-ablation.js';
export { LayerFeaturePermutation, type LayerFeaturePermutationOptions } from './layer-feature-permutation.js';
export { LayerGradCam, type LayerGradCamOptions } from './layer-grad-cam.js';
export { LayerGradientShap, type LayerGradientShapOptions } from './layer-gradient-shap.js';
export { LayerGradientXActivation, type LayerGradientXActivationOptions } from './layer-gradient-x-activation.js';
export { LayerLRP, type LayerLRPOptions } from './layer-lrp.js';
export { LayerIntegratedGradients, type LayerIntegratedGradientsOptions } from './layer-integrated-gradients.js';
export { layerMethods, type LayerMethodEntry } from './registry.js';
export type { LayerAttributionResult, LayerOptions, LayerPathOptions, LayerTargetOptions } from './types.js';
export { interpolate, type InterpolateMode, type LayerName } from '@attribution/core';
