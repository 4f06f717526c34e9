import type { LayerName } from '@attribution/core';
import type { Model } from '@attribution/tensor';
import { InternalInfluence } from './internal-influence.js';
import { LayerActivation } from './layer-activation.js';
import { LayerConductance } from './layer-conductance.js';
import { LayerDeepLift } from './layer-deep-lift.js';
import { LayerDeepLiftShap } from './layer-deep-lift-shap.js';
import { LayerFeatureAblation } from './layer-feature-ablation.js';
import { LayerFeaturePermutation } from './layer-feature-permutation.js';
import { LayerGradCam } from './layer-grad-cam.js';
import { LayerGradientShap } from './layer-gradient-shap.js';
import { LayerGradientXActivation } from './layer-gradient-x-activation.js';
import { LayerIntegratedGradients } from './layer-integrated-gradients.js';
import { LayerLRP } from './layer-lrp.js';
import type { LayerAttributionResult } from './types.js';

/** A layer method as tools see it. */
export interface LayerMethodEntry {
  readonly className: string;
  /** Whether the method takes `baselines` (in input space). */
  readonly baselines: boolean;
  create<T>(model: Model<T>, layer: LayerName): { attribute(inputs: T[], options: object): Promise<LayerAttributionResult<T | T[], T>> };
}

const entry = (className: string, baselines: boolean, create: LayerMethodEntry['create']): LayerMethodEntry => ({ className, baselines, create });

/** The layer methods by their kebab-case names (conformance cases and CLI). */
export const layerMethods: Readonly<Record<string, LayerMethodEntry>> = {
  'layer-activation': entry('LayerActivation', false, (m, l) => new LayerActivation(m, l)),
  'layer-gradient-x-activation': entry('LayerGradientXActivation', false, (m, l) => new LayerGradientXActivation(m, l)),
  'layer-conductance': entry('LayerConductance', true, (m, l) => new LayerConductance(m, l)),
  'internal-influence': entry('InternalInfluence', true, (m, l) => new InternalInfluence(m, l)),
  'layer-integrated-gradients': entry('LayerIntegratedGradients', true, (m, l) => new LayerIntegratedGradients(m, l)),
  'layer-grad-cam': entry('LayerGradCam', false, (m, l) => new LayerGradCam(m, l)),
  'layer-lrp': entry('LayerLRP', false, (m, l) => new LayerLRP(m, l)),
  'layer-deep-lift': entry('LayerDeepLift', true, (m, l) => new LayerDeepLift(m, l)),
  'layer-feature-ablation': entry('LayerFeatureAblation', false, (m, l) => new LayerFeatureAblation(m, l)),
  'layer-gradient-shap': entry('LayerGradientShap', true, (m, l) => new LayerGradientShap(m, l) as never),
  'layer-deep-lift-shap': entry('LayerDeepLiftShap', true, (m, l) => new LayerDeepLiftShap(m, l) as never),
  'layer-feature-permutation': entry('LayerFeaturePermutation', false, (m, l) => new LayerFeaturePermutation(m, l)),
};
