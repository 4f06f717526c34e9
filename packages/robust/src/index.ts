/**
 * @packageDocumentation
 * Adversarial robustness for any backend (Captum's `captum.robust`): the FGSM and PGD attacks, AttackComparator to
 * compare a metric on original and attacked inputs, and MinParamPerturbation to find the smallest attack parameter
 * that fools a model.
 */
export { AttackComparator, ORIGINAL_KEY, type AddAttackOptions, type AttackResult, type ComparatorEvaluateOptions, type ComparatorResult, type MetricFunction } from './attack-comparator.js';
export { type Attack } from './evaluation.js';
export { FGSM, type AttackOptions, type FGSMOptions } from './fgsm.js';
export { type MetricLeaf, type MetricResult, type MetricValue } from './metric-value.js';
export {
  MinParamPerturbation,
  type CorrectFunction,
  type MinParamEvaluateOptions,
  type MinParamPerturbationOptions,
  type MinParamResult,
  type SearchMode,
} from './min-param-perturbation.js';
export { PGD, type PGDNorm, type PGDOptions } from './pgd.js';
