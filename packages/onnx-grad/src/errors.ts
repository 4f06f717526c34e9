import { BackendError, ModelError } from '@attribution/tensor';

/** One operator type without a usable backward rule, as listed by {@link UnsupportedOperatorError}. */
export interface UnsupportedOperator {
  /** The ONNX operator type (`domain.type` outside the default domain), e.g. `NonMaxSuppression`. */
  readonly opType: string;
  /** How many nodes of this type lie between the differentiated tensors and the output. */
  readonly count: number;
  /** The first such node's name (or its first output when unnamed). */
  readonly node: string;
  /** Why the rule refused, when a rule exists but not for this node's attributes. */
  readonly detail?: string;
}

/** What the user can do about operators without gradients (shared by the error and `attribution inspect`). */
export const UNSUPPORTED_ADVICE =
  'Perturbation methods (feature-ablation, occlusion, shapley-value-sampling, kernel-shap, lime) need no gradients and run on any model; ' +
  'layer methods can attribute to a tensor after these operators; ' +
  "{ gradient: 'finite-difference' } in fromOnnx (or --gradient finite-difference on the command line) estimates gradients from forward passes; " +
  'registerGradient() from @attribution/onnx-grad adds a rule.';

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

function describe(ops: readonly UnsupportedOperator[]): string {
  const items = ops.map((o) => `${o.opType} (${plural(o.count, 'node')}, first '${o.node}'${o.detail ? `: ${o.detail}` : ''})`);
  return ops.length === 1 ? `No gradient rule for ONNX operator ${items[0]}` : `No gradient rule for ${ops.length} ONNX operators: ${items.join('; ')}`;
}

/**
 * Operators on the path from the differentiated tensors to the output have no backward rule (or a rule
 * that does not handle their attributes). The error lists all of them at once, with what the user can do.
 */
export class UnsupportedOperatorError extends BackendError {
  /** The first unsupported operator type (see {@link operators} for all). */
  readonly opType: string;
  /** The first unsupported node. */
  readonly node: string;
  /** Every unsupported operator type, with its count and first node. */
  readonly operators: readonly UnsupportedOperator[];

  constructor(opType: string | readonly UnsupportedOperator[], node?: string, detail?: string, cost?: string) {
    const operators: readonly UnsupportedOperator[] = typeof opType === 'string' ? [{ opType, count: 1, node: node ?? opType, detail }] : opType;
    super(`${describe(operators)}. ${UNSUPPORTED_ADVICE}${cost ? ` ${cost}` : ''}`);
    this.operators = operators;
    this.opType = operators[0]?.opType ?? '';
    this.node = operators[0]?.node ?? '';
  }
}

/** The model bytes are not a valid ONNX model, or the graph is inconsistent. */
export class InvalidModelError extends ModelError {}
