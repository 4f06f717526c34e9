import type { LayerName } from '@attribution/core';
import type { Model } from '@attribution/tensor';
import { NeuronConductance } from './neuron-conductance.js';
import { NeuronDeepLift } from './neuron-deep-lift.js';
import { NeuronDeepLiftShap } from './neuron-deep-lift-shap.js';
import { NeuronFeatureAblation } from './neuron-feature-ablation.js';
import { NeuronGradient } from './neuron-gradient.js';
import { NeuronGradientShap } from './neuron-gradient-shap.js';
import { NeuronDeconvolution, NeuronGuidedBackprop } from './neuron-guided-backprop.js';
import { NeuronIntegratedGradients } from './neuron-integrated-gradients.js';
import type { NeuronAttributionResult } from './types.js';

/** A neuron method as tools see it. */
export interface NeuronMethodEntry {
  readonly className: string;
  /** Whether the method takes `baselines`. */
  readonly baselines: boolean;
  /** Whether the method explains a model output as well (and takes `target`). */
  readonly target: boolean;
  create<T>(model: Model<T>, layer: LayerName): { attribute(inputs: T[], options: never): Promise<NeuronAttributionResult<T | T[]>> };
}

const entry = (className: string, baselines: boolean, target: boolean, create: NeuronMethodEntry['create']): NeuronMethodEntry => ({ className, baselines, target, create });

/** The neuron methods by their kebab-case names (conformance cases and CLI). */
export const neuronMethods: Readonly<Record<string, NeuronMethodEntry>> = {
  'neuron-gradient': entry('NeuronGradient', false, false, (m, l) => new NeuronGradient(m, l)),
  'neuron-integrated-gradients': entry('NeuronIntegratedGradients', true, false, (m, l) => new NeuronIntegratedGradients(m, l)),
  'neuron-conductance': entry('NeuronConductance', true, true, (m, l) => new NeuronConductance(m, l)),
  'neuron-deep-lift': entry('NeuronDeepLift', true, false, (m, l) => new NeuronDeepLift(m, l)),
  'neuron-deep-lift-shap': entry('NeuronDeepLiftShap', true, false, (m, l) => new NeuronDeepLiftShap(m, l)),
  'neuron-feature-ablation': entry('NeuronFeatureAblation', true, false, (m, l) => new NeuronFeatureAblation(m, l)),
  'neuron-gradient-shap': entry('NeuronGradientShap', true, false, (m, l) => new NeuronGradientShap(m, l) as never),
  'neuron-guided-backprop': entry('NeuronGuidedBackprop', false, false, (m, l) => new NeuronGuidedBackprop(m, l)),
  'neuron-deconvolution': entry('NeuronDeconvolution', false, false, (m, l) => new NeuronDeconvolution(m, l)),
};
