import { getGradient } from '../gradients/index.js';
import type { GradContext, GradientRule } from '../gradients/types.js';
import { makeNode, type NodeProto } from '../proto.js';
import type { LrpLayerRule, LrpOptions } from './types.js';

/** Captum's `PropagationRule.STABILITY_FACTOR`, the default ε of the epsilon rule (and the ε of the others). */
export const DEFAULT_EPSILON = 1e-9;
/** Captum's default γ of `GammaRule`. */
export const DEFAULT_GAMMA = 0.25;

/**
 * The names a layer answers to in `rules`: the node's name, its output tensors, and the PyTorch module scope
 * of an exported node (`net.2` for `/net/net.2/Gemm`).
 */
export function layerNames(node: NodeProto): string[] {
  const names = [node.name, ...node.output].filter(Boolean);
  const parts = node.name.split('/').filter(Boolean);
  if (parts.length >= 2) names.push(parts[parts.length - 2] as string);
  return names;
}

/** The rule the user assigned to a node, if any. */
export function assignedRule(node: NodeProto, options: LrpOptions): LrpLayerRule | undefined {
  const rules = options.rules ?? {};
  for (const name of layerNames(node)) if (Object.hasOwn(rules, name)) return rules[name];
  return undefined;
}

/** The node's rule: the assigned one, else Captum's default for layers with rules (ε = 1e-9). */
export function ruleOf(node: NodeProto, options: LrpOptions): LrpLayerRule {
  return assignedRule(node, options) ?? { rule: 'epsilon' };
}

/** The ordinary backward rule of an operator of the default domain. */
export function base(op: string): GradientRule {
  const rule = getGradient(op);
  if (!rule) throw new Error(`no gradient rule for ${op}`);
  return rule;
}

/** `r / (z + ε·sign(z))` with sign(0) = 1 (Captum's `_backward_hook_output`). */
export function stabilised(c: GradContext, r: string, z: string, epsilon: number): string {
  const { e } = c;
  const sign = e.op('Where', [e.op('Less', [z, e.scalar(0, z)]), e.scalar(-1, z), e.scalar(1, z)]);
  return e.div(r, e.add(z, e.mul(sign, e.scalar(epsilon, z))));
}

/** The ε a rule divides with. */
export function epsilonOf(rule: LrpLayerRule): number {
  return rule.rule === 'epsilon' ? (rule.epsilon ?? DEFAULT_EPSILON) : DEFAULT_EPSILON;
}

/** Whether a rule changes weights (gamma, alpha1beta0) or biases. */
function changesParameters(rule: LrpLayerRule): boolean {
  return rule.rule === 'gamma' || rule.rule === 'alpha1beta0';
}

/** `w + γ·max(w, 0)` (gamma) or `max(w, 0)` (alpha1beta0), at build time when `w` is a constant. */
function modifiedWeights(c: GradContext, slot: number, rule: LrpLayerRule): { name: string; values?: number[] } {
  const { e } = c;
  const w = c.input(slot);
  const gamma = rule.rule === 'gamma' ? (rule.gamma ?? DEFAULT_GAMMA) : 0;
  const f = (v: number): number => (rule.rule === 'gamma' ? v + gamma * Math.max(v, 0) : Math.max(v, 0));
  const values = c.constant(slot);
  const dims = c.shape(w);
  if (values && dims && dims.every((d): d is number => typeof d === 'number')) {
    const changed = values.map(f);
    return { name: e.weights(changed, e.floatType(w), dims), values: changed };
  }
  const positive = e.op('Relu', [w]);
  return { name: rule.rule === 'gamma' ? e.add(w, e.mul(positive, e.scalar(gamma, w))) : positive };
}

/** A copy of `node` reading `inputs` (same attributes); returns its first output. */
export function forwardCopy(c: GradContext, node: NodeProto, inputs: readonly string[]): string {
  const { e } = c;
  const out = e.name(`lrp_${node.opType}`);
  const copy = makeNode(node.opType, inputs, [out], {}, e.name(`lrp_${node.opType}_node`));
  copy.attribute = [...node.attribute];
  if (node.domain) copy.domain = node.domain;
  e.nodes.push(copy);
  return out;
}

/** Where a layer's weights and bias sit among its inputs. */
export interface Parameters {
  readonly weight?: number;
  readonly bias?: number;
}

/**
 * Captum's rules for a layer with (optional) weights, given the ordinary gradient rule of the operator:
 * `R_x = x ⊙ ∂z′/∂xᵀ (R / (z′ + ε·sign z′))` where `z′` is the layer recomputed with the rule's weights
 * (`w + γ·w⁺` for gamma, `w⁺` for alpha1beta0; the bias zeroed with `setBiasToZero`) from the original
 * input, and `R` the relevance at the output. The identity rule passes `R` on unchanged. `output` gives the
 * value `z` for the epsilon rule (default: the node's output) and `addBias` adds a bias to a recomputed `z′`.
 */
export function layerRelevance(
  c: GradContext,
  options: LrpOptions,
  gradient: GradientRule,
  params: Parameters,
  output: { z?: string; addBias?: (z: string, rule: LrpLayerRule) => string } = {},
): string {
  const { e } = c;
  const rule = ruleOf(c.node, options);
  const r = c.dy() as string;
  const x = c.input(0);
  if (rule.rule === 'identity') {
    const [rs, xs] = [c.shape(c.output(0)), c.shape(x)];
    if (!rs || !xs || rs.length !== xs.length || rs.some((d, i) => d !== xs[i])) {
      return c.unsupported('the identity rule needs a layer whose input and output have the same shape');
    }
    return r;
  }
  let z = output.z ?? c.output(0);
  let weight: { name: string; values?: number[] } | undefined;
  if (changesParameters(rule) && (params.weight !== undefined || params.bias !== undefined)) {
    weight = params.weight !== undefined && c.input(params.weight) ? modifiedWeights(c, params.weight, rule) : undefined;
    const zeroBias = 'setBiasToZero' in rule && rule.setBiasToZero === true;
    const inputs = c.node.input.map((name, i) => (i === params.weight && weight ? weight.name : name));
    if (params.bias !== undefined && zeroBias && inputs[params.bias]) {
      // BatchNormalization needs its bias input: zeros of the same shape.
      inputs[params.bias] = c.node.opType === 'BatchNormalization' ? e.zerosLike(inputs[params.bias] as string) : '';
    }
    while (inputs.length > 0 && inputs[inputs.length - 1] === '') inputs.pop();
    z = forwardCopy(c, c.node, inputs);
    if (output.addBias) z = output.addBias(z, rule);
  }
  const s = stabilised(c, r, z, epsilonOf(rule));
  const w = weight;
  const slot = params.weight;
  const ctx: GradContext = {
    ...c,
    dy: (i = 0) => (i === 0 ? s : undefined),
    needs: (i) => i === 0,
    input: (i) => (w && i === slot ? w.name : c.input(i)),
    constant: (i) => (w && i === slot ? w.values : c.constant(i)),
    shape: (name) => (w && name === w.name ? c.shape(c.input(slot as number)) : c.shape(name)),
  };
  const g = gradient.backward(ctx)[0];
  if (!g) return c.unsupported('no gradient reaches the layer input');
  return e.mul(x, g);
}
