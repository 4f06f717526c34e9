/**
 * @packageDocumentation
 * Primary attribution methods: they attribute a model output to its input features. Every method takes a
 * model from a backend adapter (`@attribution/tfjs`, `@attribution/onnx`) and backend tensors.
 */
export { DeepLift, type DeepLiftOptions } from './deep-lift.js';
export { DeepLiftShap, type DeepLiftShapOptions } from './deep-lift-shap.js';
export { Deconvolution, type DeconvolutionOptions } from './deconvolution.js';
export { GuidedBackprop, type GuidedBackpropOptions } from './guided-backprop.js';
export { GuidedGradCam, type GuidedGradCamOptions } from './guided-grad-cam.js';
export { LRP, type LRPOptions, type LrpRules } from './lrp.js';
export { FeatureAblation, type FeatureAblationOptions } from './feature-ablation.js';
export { InputRole, attributeDataset, type Dataset, type DatasetAttributionOptions, type DatasetAttributionResult, type DatasetBatch, type HostOutput, type InputRoleValue, type Metric } from './dataset-attribution.js';
export { FeaturePermutation, type FeaturePermutationOptions } from './feature-permutation.js';
export { KernelShap, type KernelShapOptions } from './kernel-shap.js';
export { Lime, type LimeOptions } from './lime.js';
export { Occlusion, type OcclusionOptions } from './occlusion.js';
export { ShapleyValueSampling, type ShapleyValueSamplingOptions } from './shapley-value-sampling.js';
export { ShapleyValues, type ShapleyValuesOptions } from './shapley-values.js';
export type { SurrogateOptions } from './surrogate.js';
export { GradientShap, type GradientShapOptions } from './gradient-shap.js';
export { NoiseTunnel, type AttributionMethod, type NoiseTunnelOptions } from './noise-tunnel.js';
export { InputXGradient, type InputXGradientOptions } from './input-x-gradient.js';
export { IntegratedGradients, type IntegratedGradientsOptions } from './integrated-gradients.js';
export { Saliency, type SaliencyOptions } from './saliency.js';
export { primaryMethods, type MethodEntry } from './registry.js';
export type { AttributionResult, GradientOptions, OnePassOptions, PathOptions, PerturbationOptions, SamplingOptions } from './types.js';
export type { ApproximationMethod, Baseline, BaselineDistribution, Baselines, InterpolateMode, LayerName, Target, TargetMask } from '@attribution/core';
export {
  AbortError,
  ArgumentError,
  AttributionError,
  BackendError,
  ModelError,
  ShapeError,
  TargetError,
} from '@attribution/tensor';
