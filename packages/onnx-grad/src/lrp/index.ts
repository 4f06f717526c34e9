import { ArgumentError } from '@attribution/tensor';
import { getGradient, opKey } from '../gradients/index.js';
import type { GradientRule } from '../gradients/types.js';
import { UnsupportedOperatorError, type UnsupportedOperator } from '../errors.js';
import type { Graph } from '../graph.js';
import { addLrp } from './Add_lrp.js';
import { averagePoolLrp, globalAveragePoolLrp } from './AveragePool_lrp.js';
import { batchNormalizationLrp } from './BatchNormalization_lrp.js';
import { assignedRule, layerNames, layerRelevance } from './common.js';
import { convLrp } from './Conv_lrp.js';
import { gemmLrp } from './Gemm_lrp.js';
import { matMulLrp } from './MatMul_lrp.js';
import { globalMaxPoolLrp, maxPoolLrp } from './MaxPool_lrp.js';
import { passThroughLrp, structuralLrp } from './passthrough.js';
import type { LrpOptions, LrpRule } from './types.js';

export type { LrpLayerRule, LrpOptions, LrpRule } from './types.js';
export { DEFAULT_EPSILON, DEFAULT_GAMMA, layerNames } from './common.js';

/** The LRP rule set: one rule per operator (Captum's supported layers and what moves values). */
const registry = new Map<string, LrpRule>([
  ['Gemm', gemmLrp],
  ['MatMul', matMulLrp],
  ['Add', addLrp],
  ['Conv', convLrp],
  ['BatchNormalization', batchNormalizationLrp],
  ['MaxPool', maxPoolLrp],
  ['GlobalMaxPool', globalMaxPoolLrp],
  ['AveragePool', averagePoolLrp],
  ['GlobalAveragePool', globalAveragePoolLrp],
  ...['Relu', 'Tanh', 'Dropout', 'Identity'].map((op) => [op, passThroughLrp] as const),
  ...['Flatten', 'Reshape', 'Squeeze', 'Unsqueeze', 'Transpose', 'Concat', 'Split', 'Slice', 'Pad'].map((op) => [op, structuralLrp(op)] as const),
]);

/** Registers (or replaces) the LRP rule of an operator (of the default domain unless `domain` is given). */
export function registerLrpRule(opType: string, rule: LrpRule, domain = ''): void {
  registry.set(opKey(opType, domain), rule);
}

/** Operators with an LRP rule. */
export function lrpOps(): string[] {
  return [...registry.keys()].sort();
}

/**
 * The backward rule of an operator under LRP. An operator without an LRP rule is refused naming the node
 * (Captum refuses modules without a rule), unless the user assigned it a rule in `rules`: then Captum's rule
 * is applied through the operator's ordinary gradient, as Captum does for any module given a rule.
 */
export function lrpGradient(opType: string, domain: string, options: LrpOptions): GradientRule {
  const key = opKey(opType, domain);
  const rule = registry.get(key);
  if (rule) return { inputs: rule.inputs, backward: (c) => rule.backward(c, options) };
  const ordinary = getGradient(opType, 'gradient', domain);
  return {
    inputs: ordinary?.inputs ?? ((node) => node.input.map((_, i) => i)),
    backward: (c) => {
      if (ordinary && assignedRule(c.node, options)) return [layerRelevance(c, options, ordinary, {})];
      return c.unsupported('no LRP rule');
    },
  };
}

const RULE_NAMES = ['epsilon', 'gamma', 'alpha1beta0', 'identity'];

/** Validates LRP rules: known rule names, finite non-negative parameters. */
export function checkLrpRuleSpecs(rules: Readonly<Record<string, unknown>> | undefined, argument = 'rules'): void {
  if (rules === undefined) return;
  if (typeof rules !== 'object' || rules === null || Array.isArray(rules)) {
    throw new ArgumentError(argument, 'an object mapping layer names to LRP rules', String(rules));
  }
  for (const [name, spec] of Object.entries(rules)) {
    const s = spec as Partial<Record<string, unknown>> | null;
    if (typeof s !== 'object' || s === null || !RULE_NAMES.includes(s.rule as string)) {
      throw new ArgumentError(`${argument}['${name}']`, `{ rule: ${RULE_NAMES.map((r) => `'${r}'`).join(' | ')}, … }`, JSON.stringify(spec));
    }
    for (const p of ['epsilon', 'gamma'] as const) {
      if (s[p] !== undefined && !(typeof s[p] === 'number' && Number.isFinite(s[p]) && (s[p] as number) >= 0)) {
        throw new ArgumentError(`${argument}['${name}'].${p}`, 'a finite number ≥ 0', String(s[p]));
      }
    }
    if (s.setBiasToZero !== undefined && typeof s.setBiasToZero !== 'boolean') {
      throw new ArgumentError(`${argument}['${name}'].setBiasToZero`, 'a boolean', String(s.setBiasToZero));
    }
  }
}

/** Checks that every layer named in `rules` is a node of the graph (by node, tensor or module name). */
export function checkLrpRules(graph: Graph, options: LrpOptions): void {
  checkLrpRuleSpecs(options.rules);
  const names = new Set(graph.graph.node.flatMap(layerNames));
  for (const name of Object.keys(options.rules ?? {})) {
    if (!names.has(name)) {
      const some = [...names].slice(0, 12).join(', ');
      throw new ArgumentError('rules', `layer names of the model (node, output tensor or module names, e.g. ${some})`, `'${name}'`);
    }
  }
}

/** Whether a rule set is LRP's. */
export function isLrp(rules: unknown): rules is { readonly lrp: LrpOptions } {
  return typeof rules === 'object' && rules !== null && 'lrp' in rules;
}


/**
 * LRP met layers without a rule between the attributed tensors and the output (Captum's LRP refuses them
 * too). Lists every such operator with its first node, as {@link UnsupportedOperatorError} does.
 */
export class UnsupportedLrpLayerError extends UnsupportedOperatorError {
  constructor(operators: readonly UnsupportedOperator[]) {
    super(operators);
    const items = operators.map((o) => `${o.opType} (${o.count} node${o.count === 1 ? '' : 's'}, first '${o.node}'${o.detail && o.detail !== 'no LRP rule' ? `: ${o.detail}` : ''})`);
    const first = operators[0]?.node ?? '';
    this.message =
      `LRP has no rule for ${items.length === 1 ? `ONNX operator ${items[0]}` : `${items.length} ONNX operators: ${items.join('; ')}`}. ` +
      'Captum\'s LRP refuses layers without a rule: its defaults cover linear, convolution, pooling and batch-norm layers, ' +
      'and ReLU, Tanh and Dropout pass relevance through. Assign a rule to the layer if one suits it ' +
      `(rules: { '${first}': { rule: 'epsilon' } }, or { rule: 'identity' } to pass relevance through), or use another method.`;
  }
}
