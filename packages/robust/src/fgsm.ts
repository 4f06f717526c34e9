import {
  RUN_OPTION_NAMES,
  checkBoolean,
  checkLossFunction,
  checkOptionNames,
  checkRowLimit,
  normalizeArgs,
  prepareInputs,
  prepareLoss,
  resolveTarget,
  restoreStructure,
  withScope,
  type LossFunction,
  type PreparedLoss,
  type RunOptions,
  type Scope,
} from '@attribution/core';
import { ArgumentError, describeValue, type Model } from '@attribution/tensor';
import {
  applySignStep,
  checkBounds,
  checkNumber,
  clampInPlace,
  fromHost,
  hostMasks,
  lossGradients,
  toHost,
  type HostInput,
  type StepContext,
} from './gradient-step.js';

/** Options of the {@link FGSM} and {@link PGD} constructors. */
export interface AttackOptions {
  /** The loss whose gradient the attack follows: `'neg-log'` (default, Captum's), `'cross-entropy'` (logits) or a user loss. */
  readonly lossFunc?: LossFunction;
  /** The smallest input value (default −Infinity): perturbed inputs are clamped to it. */
  readonly lowerBound?: number;
  /** The largest input value (default Infinity): perturbed inputs are clamped to it. */
  readonly upperBound?: number;
}

/** Options of {@link FGSM.perturb}. */
export interface FGSMOptions<T> extends RunOptions {
  /** The step size ε (a finite number ≥ 0). */
  readonly epsilon: number;
  /** The true labels (untargeted) or the target classes (targeted), in the forms of a `target`, or the user loss's labels. */
  readonly target?: unknown;
  /** Extra arguments passed to the model after the inputs. */
  readonly additionalForwardArgs?: unknown;
  /** Whether the attack moves towards `target` (default false: away from it). */
  readonly targeted?: boolean;
  /** Which elements may move: a tensor per input, broadcast to its shape, multiplying the step (default all ones). */
  readonly mask?: T | readonly T[];
  /** The most examples one model call may see (default: all). */
  readonly internalBatchSize?: number;
}

const CONSTRUCTOR_OPTIONS = ['lossFunc', 'lowerBound', 'upperBound'];
const OPTION_NAMES = ['epsilon', 'target', 'additionalForwardArgs', 'targeted', 'mask', 'internalBatchSize', ...RUN_OPTION_NAMES];

/** Validated constructor options shared by FGSM and PGD. */
export interface AttackSettings {
  readonly lossFunc: LossFunction;
  readonly lowerBound: number;
  readonly upperBound: number;
}

/** Checks the constructor options of an attack. */
export function attackSettings(model: unknown, options: AttackOptions | undefined, name: string): AttackSettings {
  const m = model as { backend?: unknown; forward?: unknown; gradient?: unknown } | null;
  if (m === null || typeof m !== 'object' || typeof m.forward !== 'function' || typeof m.gradient !== 'function' || m.backend === undefined) {
    throw new ArgumentError('model', 'a Model (fromTfjs or fromOnnx of a model)', describeValue(model));
  }
  checkOptionNames(options, CONSTRUCTOR_OPTIONS, `${name} options`);
  const [lowerBound, upperBound] = checkBounds(options?.lowerBound, options?.upperBound);
  return { lossFunc: checkLossFunction(options?.lossFunc), lowerBound, upperBound };
}

/** The parts of a perturb call that FGSM and PGD share: inputs on the host, masks, the loss bound to the labels. */
export interface PreparedAttack<T> {
  readonly single: boolean;
  readonly original: HostInput[];
  readonly masks: Float64Array[] | undefined;
  readonly ctx: StepContext<T>;
}

/** Validates inputs, arguments, target and mask, and binds the loss to the labels. */
export async function prepareAttack<T>(
  model: Model<T>,
  settings: AttackSettings,
  inputs: unknown,
  options: { readonly target?: unknown; readonly additionalForwardArgs?: unknown; readonly mask?: unknown; readonly internalBatchSize?: unknown; readonly signal?: AbortSignal },
  scope: Scope<T>,
): Promise<PreparedAttack<T>> {
  const b = model.backend;
  const x = await prepareInputs(b, inputs, { needsGradient: true });
  const args = normalizeArgs(options.additionalForwardArgs);
  const maxRows = checkRowLimit('internalBatchSize', options.internalBatchSize);
  const masks = await hostMasks(b, options.mask, x.tensors, x.single);
  const builtin = settings.lossFunc === 'neg-log' || settings.lossFunc === 'cross-entropy';
  const target = builtin ? await resolveTarget(model, options.target, x.tensors, args, scope, { maxRows, signal: options.signal }) : options.target;
  const named = builtin && (typeof target === 'string' || (Array.isArray(target) && target.some((t) => typeof t === 'string')));
  const loss: PreparedLoss<T> = await prepareLoss(b, settings.lossFunc, target, x.batchSize, named ? model.labels : undefined);
  const original = await toHost(b, x.tensors);
  return { single: x.single, original, masks, ctx: { model, args, loss, maxRows, signal: options.signal, scope } };
}

/** Copies host inputs. */
export const copyHost = (inputs: readonly HostInput[]): HostInput[] => inputs.map((h) => ({ ...h, data: h.data.slice() }));

/**
 * The Fast Gradient Sign Method (Goodfellow et al., 2014; Captum's `FGSM`): one step of size ε along the sign of
 * the loss gradient, `x' = x + ε·sign(∇ₓL(x, y))` untargeted, `x' = x − ε·sign(∇ₓL(x, t))` targeted; elements
 * whose gradient is at most 1e-6 in magnitude stay; `mask` scales the step; the result is clamped to the bounds.
 */
export class FGSM<T> {
  /** The model attacked. */
  readonly model: Model<T>;
  /** The validated constructor options. */
  private readonly settings: AttackSettings;

  /** Wraps a model; `options` set the loss and the input bounds. */
  constructor(model: Model<T>, options?: AttackOptions) {
    this.settings = attackSettings(model, options, 'FGSM');
    this.model = model;
  }

  /** The adversarial inputs, one tensor per input (owned by the caller), in the structure of `inputs`. */
  perturb(inputs: T, options: FGSMOptions<T>): Promise<T>;
  perturb(inputs: readonly T[], options: FGSMOptions<T>): Promise<T[]>;
  async perturb(inputs: T | readonly T[], options: FGSMOptions<T>): Promise<T | T[]> {
    if (options === undefined || options === null || typeof options !== 'object') {
      throw new ArgumentError('FGSM.perturb options', 'an options object with epsilon and target', describeValue(options));
    }
    checkOptionNames(options, OPTION_NAMES, 'FGSM.perturb');
    const epsilon = checkNumber('epsilon', options.epsilon, 0);
    const targeted = checkBoolean('targeted', options.targeted ?? false);
    const b = this.model.backend;
    return withScope(b, async (scope) => {
      const attack = await prepareAttack(this.model, this.settings, inputs, options, scope);
      const current = copyHost(attack.original);
      const grads = await lossGradients(attack.ctx, current);
      current.forEach((h, k) => {
        applySignStep(h, grads[k] as Float64Array, epsilon, targeted, attack.masks?.[k]);
        clampInPlace(h, this.settings.lowerBound, this.settings.upperBound);
      });
      options.onProgress?.({ done: 1, total: 1 });
      return restoreStructure({ single: attack.single }, fromHost(b, current));
    });
  }
}
