/**
 * @packageDocumentation
 * Metrics that judge an explanation: Captum's `infidelity` and `sensitivityMax`, and the deletion and
 * insertion curves with their areas. They take a model (or an explanation method) from any backend adapter.
 */
export { deletion } from './deletion.js';
export { fidelityCurve, type FidelityCurve, type FidelityCurveOptions } from './fidelity-curve.js';
export {
  gaussianPerturbation,
  infidelity,
  infidelityPerturbFunc,
  type InfidelityOptions,
  type InfidelityPerturbFunc,
  type Perturbation,
  type PerturbationContext,
} from './infidelity.js';
export { insertion } from './insertion.js';
export {
  sensitivityMax,
  uniformPerturbation,
  type ExplanationFunc,
  type Explainer,
  type SensitivityMaxOptions,
  type SensitivityPerturbFunc,
} from './sensitivity-max.js';
