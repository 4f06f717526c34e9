import {
  RUN_OPTION_NAMES,
  attributionSums,
  checkBoolean,
  checkOptionNames,
  checkRowLimit,
  gradientPass,
  prepareTargetCall,
  withScope,
} from '@attribution/core';
import type { LayerName } from '@attribution/core';
import { ArgumentError, type Backend, type LrpLayerRule, type Model } from '@attribution/tensor';
import { LayerAttribution } from './layer-attribution.js';
import type { LayerAttributionResult, LayerTargetOptions } from './types.js';

/** Options of {@link LayerLRP.attribute}. */
export interface LayerLRPOptions<T> extends LayerTargetOptions<T> {
  /** Rules by layer name (see the primary `LRP`). */
  readonly rules?: Readonly<Record<string, LrpLayerRule>>;
  /** The most rows one model call may see. */
  readonly internalBatchSize?: number;
  /** Also return the convergence delta `F(x) − Σ relevance` per example (of the first layer, for several). */
  readonly returnConvergenceDelta?: boolean;
}

const OPTION_NAMES = ['target', 'additionalForwardArgs', 'attributeToLayerInput', 'internalBatchSize', 'returnConvergenceDelta', 'rules', ...RUN_OPTION_NAMES];

const RULE_NAMES = ['epsilon', 'gamma', 'alpha1beta0', 'identity'];

/** Validates the `rules` option (as the primary LRP; backends check the layer names). */
function checkRules(rules: unknown): Readonly<Record<string, LrpLayerRule>> | undefined {
  if (rules === undefined) return undefined;
  if (typeof rules !== 'object' || rules === null || Array.isArray(rules)) {
    throw new ArgumentError('rules', "an object mapping layer names to rules, e.g. { 'fc1': { rule: 'epsilon', epsilon: 0.25 } }", JSON.stringify(rules));
  }
  for (const [name, spec] of Object.entries(rules as Record<string, unknown>)) {
    const s = spec as Partial<Record<string, unknown>> | null;
    if (typeof s !== 'object' || s === null || !RULE_NAMES.includes(s.rule as string)) {
      throw new ArgumentError(`rules['${name}']`, `{ rule: ${RULE_NAMES.map((r) => `'${r}'`).join(' | ')}, … }`, JSON.stringify(spec));
    }
  }
  return rules as Readonly<Record<string, LrpLayerRule>>;
}

/** `t[i] · scale[i]` per example. */
function scaleRows<T>(b: Backend<T>, t: T, scale: Float64Array): T {
  const shape = b.shape(t);
  const column = b.tensor(Float32Array.from(scale), [shape[0] ?? scale.length, ...shape.slice(1).map(() => 1)], 'float32');
  try {
    return b.mul(t, column);
  } finally {
    b.dispose(column);
  }
}

/**
 * Layer-wise relevance propagation to a layer, as Captum's `LayerLRP`: the relevance arriving at the layer's
 * output (or, with `attributeToLayerInput`, the relevance its rule passes to its input), scaled by the target
 * output. One gradient call with the LRP backward rule.
 */
export class LayerLRP<T> extends LayerAttribution<T> {
  constructor(model: Model<T>, layer: LayerName | readonly LayerName[]) {
    super(model, layer, true);
  }

  async attribute(inputs: T | readonly T[], options: LayerLRPOptions<T> = {}): Promise<LayerAttributionResult<T | T[], T>> {
    checkOptionNames(options, OPTION_NAMES, 'LayerLRP.attribute');
    const toInput = checkBoolean('attributeToLayerInput', options.attributeToLayerInput ?? false);
    const returnDelta = checkBoolean('returnConvergenceDelta', options.returnConvergenceDelta ?? false);
    const maxRows = checkRowLimit('internalBatchSize', options.internalBatchSize);
    const rules = checkRules(options.rules);
    const { model, backend: b } = this;
    return withScope(b, async (scope) => {
      const call = await prepareTargetCall(model, inputs, options, scope, true, false);
      const outputs = call.fInputs as Float64Array;
      const refs = this.refs(toInput);
      const { gradients } = await gradientPass(model, call, { wrt: refs }, scope, { ...options, rule: { lrp: rules ? { rules } : {} }, maxRows });
      const attributions = gradients.map((r) => scope.track(scaleRows(b, r, outputs)));
      const totals = await attributionSums(b, attributions.slice(0, 1));
      const delta = returnDelta ? b.tensor(Float32Array.from(outputs, (o, i) => o - (totals[i] as number)), [outputs.length], 'float32') : undefined;
      return { attributions: Array.isArray(this.layer) ? scope.release(attributions) : scope.release(attributions[0] as T), delta };
    });
  }
}
