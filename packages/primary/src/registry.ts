import type { LayerName } from '@attribution/core';
import { ArgumentError, type Model } from '@attribution/tensor';
import { Deconvolution } from './deconvolution.js';
import { DeepLift } from './deep-lift.js';
import { DeepLiftShap } from './deep-lift-shap.js';
import { FeatureAblation } from './feature-ablation.js';
import { FeaturePermutation } from './feature-permutation.js';
import { GradientShap } from './gradient-shap.js';
import { GuidedBackprop } from './guided-backprop.js';
import { GuidedGradCam } from './guided-grad-cam.js';
import { KernelShap } from './kernel-shap.js';
import { Lime } from './lime.js';
import { LRP } from './lrp.js';
import { NoiseTunnel, type AttributionMethod } from './noise-tunnel.js';
import { Occlusion } from './occlusion.js';
import { ShapleyValueSampling } from './shapley-value-sampling.js';
import { ShapleyValues } from './shapley-values.js';
import { InputXGradient } from './input-x-gradient.js';
import { IntegratedGradients } from './integrated-gradients.js';
import { Saliency } from './saliency.js';
import type { AttributionResult } from './types.js';

/** An attribution method as tools see it: created from a model, called with inputs and an options object. */
export interface MethodEntry {
  /** The class name, e.g. `IntegratedGradients`. */
  readonly className: string;
  /** Whether the method takes `baselines`. */
  readonly baselines: boolean;
  /** Whether the method takes `featureMask`. */
  readonly featureMask: boolean;
  /** Whether the method needs a layer (passed to `create`). */
  readonly layer: boolean;
  /** Creates the method for a model (and a layer, for the methods that need one). */
  create<T>(model: Model<T>, layer?: LayerName): { attribute(inputs: T[], options: object): Promise<AttributionResult<T[], T>> };
}

const entry = (className: string, baselines: boolean, create: MethodEntry['create'], featureMask = false, layer = false): MethodEntry => ({
  className,
  baselines,
  featureMask,
  layer,
  create,
});

/** The primary methods by their kebab-case names (the names of Captum's conformance cases and of the CLI). */
export const primaryMethods: Readonly<Record<string, MethodEntry>> = {
  'integrated-gradients': entry('IntegratedGradients', true, (model) => new IntegratedGradients(model)),
  saliency: entry('Saliency', false, (model) => new Saliency(model)),
  'input-x-gradient': entry('InputXGradient', false, (model) => new InputXGradient(model)),
  'deep-lift': entry('DeepLift', true, (model) => new DeepLift(model)),
  'deep-lift-shap': entry('DeepLiftShap', true, (model) => new DeepLiftShap(model) as never),
  'gradient-shap': entry('GradientShap', true, (model) => new GradientShap(model) as never),
  'guided-backprop': entry('GuidedBackprop', false, (model) => new GuidedBackprop(model)),
  deconvolution: entry('Deconvolution', false, (model) => new Deconvolution(model)),
  'guided-grad-cam': entry('GuidedGradCam', false, (model, layer) => new GuidedGradCam(model, layer as LayerName), false, true),
  'feature-ablation': entry('FeatureAblation', true, (model) => new FeatureAblation(model), true),
  occlusion: entry('Occlusion', true, (model) => new Occlusion(model) as never),
  'shapley-values': entry('ShapleyValues', true, (model) => new ShapleyValues(model), true),
  'shapley-value-sampling': entry('ShapleyValueSampling', true, (model) => new ShapleyValueSampling(model), true),
  'kernel-shap': entry('KernelShap', true, (model) => new KernelShap(model), true),
  lime: entry('Lime', true, (model) => new Lime(model), true),
  'noise-tunnel': entry('NoiseTunnel', true, (model, layer) => ({
    // Noise is drawn whatever the wrapped method: it takes a `seed` (one per call or one per example).
    stochastic: true,
    // The wrapped method is named by the `baseMethod` option (default saliency); a layer goes to it.
    attribute(inputs, options: { baseMethod?: string } & Record<string, unknown>) {
      const { baseMethod = 'saliency', ...rest } = options;
      const base = primaryMethods[baseMethod];
      if (!base || baseMethod === 'noise-tunnel') {
        throw new ArgumentError('baseMethod', `one of ${Object.keys(primaryMethods).filter((m) => m !== 'noise-tunnel').join(', ')}`, String(baseMethod));
      }
      return new NoiseTunnel(base.create(model, layer) as AttributionMethod<typeof inputs[number]>).attribute(inputs, rest);
    },
  }), true),
  'feature-permutation': entry('FeaturePermutation', false, (model) => new FeaturePermutation(model), true),
  lrp: entry('LRP', false, (model) => new LRP(model)),
};
