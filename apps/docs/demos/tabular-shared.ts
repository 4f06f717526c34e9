/** What the tabular (breast cancer) demo and its worker share. */

export type TabularMethod = 'integrated-gradients' | 'kernel-shap' | 'shapley-value-sampling' | 'feature-ablation';

export interface TabularMethodInfo {
  readonly name: TabularMethod;
  readonly label: string;
  /** The sampling option it takes: IG's nSteps or the number of samples, with its default and bounds (enforced). */
  readonly count?: { readonly option: 'nSteps' | 'nSamples'; readonly label: string; readonly default: number; readonly min: number; readonly max: number };
  /** Whether Σ attributions = F(x) − F(baseline) holds by construction (completeness). */
  readonly complete: string;
}

export const TABULAR_METHODS: readonly TabularMethodInfo[] = [
  { name: 'integrated-gradients', label: 'Integrated Gradients', count: { option: 'nSteps', label: 'steps (nSteps)', default: 50, min: 1, max: 500 }, complete: 'up to the convergence delta of the integral' },
  { name: 'kernel-shap', label: 'KernelShap', count: { option: 'nSamples', label: 'coalitions (nSamples)', default: 200, min: 1, max: 5000 }, complete: 'nearly: the empty and full coalitions carry weights of 10⁶' },
  { name: 'shapley-value-sampling', label: 'Shapley Value Sampling', count: { option: 'nSamples', label: 'orderings (nSamples)', default: 25, min: 1, max: 50000 }, complete: 'exactly: every ordering adds up to the difference' },
  { name: 'feature-ablation', label: 'Feature Ablation', complete: 'no: ablation credits each feature alone, so interactions are missed or counted twice' },
];

export const tabularMethodInfo = (name: TabularMethod): TabularMethodInfo =>
  TABULAR_METHODS.find((m) => m.name === name) ?? (TABULAR_METHODS[0] as TabularMethodInfo);

/** Requests to the tabular worker; rows are standardised, (raw − mean) / std, 30 values. */
export type TabularRequest =
  | { readonly type: 'predict'; readonly x: Float32Array }
  | {
      readonly type: 'explain';
      readonly x: Float32Array;
      readonly baseline: Float32Array;
      /** The class to explain; null: the predicted class. */
      readonly target: number | null;
      readonly method: TabularMethod;
      /** nSteps (IG) or nSamples (KernelShap, ShapleyValueSampling); ignored by FeatureAblation. */
      readonly count: number;
    };

export interface TabularPrediction {
  readonly label: number;
  readonly probabilities: readonly number[];
}

export interface TabularResult {
  readonly prediction: TabularPrediction;
  /** The class explained. */
  readonly target?: number;
  /** One attribution per feature. */
  readonly attributions?: number[];
  /** F(x) and F(baseline): the target logit at the row and at the baseline. */
  readonly fx?: number;
  readonly fb?: number;
  /** IntegratedGradients: Σ attributions − (F(x) − F(baseline)). */
  readonly delta?: number;
  readonly ms?: number;
}
