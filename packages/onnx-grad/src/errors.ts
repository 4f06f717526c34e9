import { BackendError, ModelError } from '@attribution/tensor';

/** An operator on the path from the chosen tensors to the output has no gradient rule. */
export class UnsupportedOperatorError extends BackendError {
  /** The ONNX operator type, e.g. `NonMaxSuppression`. */
  readonly opType: string;
  /** The node's name (or its first output when unnamed). */
  readonly node: string;

  constructor(opType: string, node: string, detail?: string) {
    super(
      `No gradient rule for ONNX operator ${opType} (node '${node}')${detail ? `: ${detail}` : ''}. ` +
        "Attribute to a tensor after it, or pass { gradient: 'finite-difference' } to estimate gradients by perturbation (slow).",
    );
    this.opType = opType;
    this.node = node;
  }
}

/** The model bytes are not a valid ONNX model, or the graph is inconsistent. */
export class InvalidModelError extends ModelError {}
