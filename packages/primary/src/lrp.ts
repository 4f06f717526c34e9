import {
  Attribution,
  RUN_OPTION_NAMES,
  attributionSums,
  checkBoolean,
  checkOptionNames,
  checkRowLimit,
  inputGradients,
  prepareTargetCall,
  restoreStructure,
  withScope,
} from '@attribution/core';
import { ArgumentError, type Backend, type LrpLayerRule, type LrpRequest } from '@attribution/tensor';
import type { AttributionResult, GradientOptions } from './types.js';

/** LRP rules by layer: a node, tensor or (for exported PyTorch models) module name → rule. */
export type LrpRules = Readonly<Record<string, LrpLayerRule>>;

/** Options of {@link LRP.attribute}. */
export interface LRPOptions<T> extends GradientOptions<T> {
  /**
   * Rules by layer name, e.g. `{ 'net.0': { rule: 'gamma', gamma: 0.25 } }`. Layers not named take Captum's
   * default: the epsilon rule (ε = 1e-9) for linear, convolution, pooling and batch-norm layers; ReLU, Tanh,
   * Dropout (and reshapes) pass relevance through; any other layer is refused, naming it.
   */
  readonly rules?: LrpRules;
  /** The most rows one model call may see (default: all at once). */
  readonly internalBatchSize?: number;
  /** Also return the convergence delta `F(x) − Σ relevance` per example (Captum's sign). */
  readonly returnConvergenceDelta?: boolean;
}

const OPTION_NAMES = ['target', 'additionalForwardArgs', 'internalBatchSize', 'returnConvergenceDelta', 'rules', ...RUN_OPTION_NAMES];
const RULE_NAMES = ['epsilon', 'gamma', 'alpha1beta0', 'identity'];

/** Validates the `rules` option (shape and parameters; backends check the layer names). */
export function checkLrpRules(rules: unknown): LrpRules | undefined {
  if (rules === undefined) return undefined;
  if (typeof rules !== 'object' || rules === null || Array.isArray(rules)) {
    throw new ArgumentError('rules', "an object mapping layer names to rules, e.g. { 'fc1': { rule: 'epsilon', epsilon: 0.25 } }", JSON.stringify(rules));
  }
  for (const [name, spec] of Object.entries(rules as Record<string, unknown>)) {
    const s = spec as Partial<Record<string, unknown>> | null;
    if (typeof s !== 'object' || s === null || !RULE_NAMES.includes(s.rule as string)) {
      throw new ArgumentError(`rules['${name}']`, `{ rule: ${RULE_NAMES.map((r) => `'${r}'`).join(' | ')}, … }`, JSON.stringify(spec));
    }
    for (const p of ['epsilon', 'gamma'] as const) {
      const v = s[p];
      if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v >= 0)) throw new ArgumentError(`rules['${name}'].${p}`, 'a finite number ≥ 0', String(v));
    }
  }
  return rules as LrpRules;
}

/** The backward rule asking a backend for LRP relevances. */
export function lrpRequest(rules: LrpRules | undefined): LrpRequest {
  return { lrp: rules ? { rules } : {} };
}

/** `relevance[i] · scale[i]` per example (Captum scales the normalised relevances by the output). */
export function scaleRows<T>(b: Backend<T>, t: T, scale: Float64Array): T {
  const shape = b.shape(t);
  const column = b.tensor(Float32Array.from(scale), [shape[0] ?? scale.length, ...shape.slice(1).map(() => 1)], 'float32');
  try {
    return b.mul(t, column);
  } finally {
    b.dispose(column);
  }
}

/** Captum's LRP convergence delta: `F(x) − Σ relevance` per example. */
export function lrpDelta<T>(b: Backend<T>, outputs: Float64Array, totals: Float64Array): T {
  return b.tensor(Float32Array.from(outputs, (o, i) => o - (totals[i] as number)), [outputs.length], 'float32');
}

/**
 * Layer-wise relevance propagation (Bach et al., 2015), as Captum's `LRP`: the target output is the
 * relevance at the top; each layer passes it back to its input by its rule — epsilon:
 * `R_x = x ⊙ Wᵀ(R_z / (z + ε·sign z))`, gamma: the same with `W + γ·W⁺`, alpha1beta0: with `W⁺`,
 * identity: `R_x = R_z` — and the attributions are the relevance at the inputs. One gradient call with the
 * LRP backward rule (ONNX models through onnx-grad's LRP rule set; TensorFlow.js models through the tape).
 */
export class LRP<T> extends Attribution<T> {
  override get multipliesByInputs(): boolean {
    return true;
  }

  attribute(inputs: T, options?: LRPOptions<T>): Promise<AttributionResult<T, T>>;
  attribute(inputs: readonly T[], options?: LRPOptions<T>): Promise<AttributionResult<T[], T>>;
  async attribute(inputs: T | readonly T[], options: LRPOptions<T> = {}): Promise<AttributionResult<T | T[], T>> {
    checkOptionNames(options, OPTION_NAMES, 'LRP.attribute');
    const returnDelta = checkBoolean('returnConvergenceDelta', options.returnConvergenceDelta ?? false);
    const maxRows = checkRowLimit('internalBatchSize', options.internalBatchSize);
    const rules = checkLrpRules(options.rules);
    const { model, backend: b } = this;
    return withScope(b, async (scope) => {
      const call = await prepareTargetCall(model, inputs, options, scope, true);
      const outputs = call.fInputs as Float64Array;
      const normalised = await inputGradients(model, call, scope, { ...options, rule: lrpRequest(rules), maxRows });
      const attributions = normalised.map((r) => scope.track(scaleRows(b, r, outputs)));
      const totals = await attributionSums(b, attributions);
      const delta = returnDelta ? lrpDelta(b, outputs, totals) : undefined;
      return { attributions: restoreStructure(call.x, scope.release(attributions)), delta };
    });
  }
}
