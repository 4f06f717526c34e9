import type { Backend } from './backend.js';
import { BackendError } from './errors.js';

/**
 * Names a tensor inside the model that layer and neuron methods work on: the output (default) or the
 * input of a named layer. `index` picks one tensor when the layer has several.
 */
export interface LayerRef {
  /** The layer's name: a node or tensor name for ONNX, a layer or `tap` name for tfjs. */
  readonly layer: string;
  /** Whether the layer's output (default) or input is meant. */
  readonly side?: 'output' | 'input';
  /** Which of the layer's tensors, when it has several (default 0). */
  readonly index?: number;
}

/**
 * A parameter (weight) of the model: an ONNX initializer name, a TensorFlow.js weight name (`dense/kernel`),
 * as {@link Model.parameters} lists them. Its gradient is summed over the batch.
 */
export interface ParamRef {
  /** The parameter's name. */
  readonly param: string;
}

/** A tensor the gradient is taken with respect to: a model input (by position), a layer tensor or a parameter. */
export type GradientSource = { readonly input: number } | LayerRef | ParamRef;

/** A parameter of a model, as {@link Model.parameters} lists them. */
export interface ParameterInfo {
  /** The name a {@link ParamRef} gives. */
  readonly name: string;
  /** Its shape. */
  readonly shape: readonly number[];
  /** The layer that uses it: an ONNX node name, a tfjs layer path. */
  readonly layer: string;
}

/** A layer tensor replaced by a given value during the forward pass. */
export interface LayerValue<T> {
  /** Which layer tensor to replace. */
  readonly ref: LayerRef;
  /** The value used instead of what the layer computes; its batch size must match the inputs'. */
  readonly value: T;
}

/** A forward pass on one batch. */
export interface ForwardRequest<T> {
  /** The model inputs, in the model's input order; all share dimension 0 (the batch). */
  readonly inputs: readonly T[];
  /** Extra positional arguments passed to the model after the inputs, already expanded to the batch. */
  readonly args?: readonly unknown[];
  /** Layer tensors to replace with given values. */
  readonly replace?: readonly LayerValue<T>[];
  /** Layer tensors to return (as computed, or as replaced). */
  readonly capture?: readonly LayerRef[];
}

/** What a forward pass returns; every tensor is owned by the caller. */
export interface ForwardResult<T> {
  /** The model output, dimension 0 = batch. */
  readonly output: T;
  /** The captured layer tensors, in the order of `capture`. */
  readonly captured: readonly T[];
}

/**
 * How a backend differentiates nonlinearities: ordinary gradients, or the modified backward rules of
 * DeepLift (Rescale; the batch is inputs followed by their references, row i paired with row i + N),
 * guided backpropagation or deconvolution (both change only ReLU).
 */
export type BackwardRule = 'gradient' | 'deeplift' | 'guided-backprop' | 'deconvolution' | LrpRequest;

/**
 * A layer's LRP rule (Captum's `EpsilonRule` (default ε = 1e-9), `GammaRule` (default γ = 0.25),
 * `Alpha1_Beta0_Rule` and `IdentityRule`).
 */
export type LrpLayerRule =
  | { readonly rule: 'epsilon'; readonly epsilon?: number }
  | { readonly rule: 'gamma'; readonly gamma?: number; readonly setBiasToZero?: boolean }
  | { readonly rule: 'alpha1beta0'; readonly setBiasToZero?: boolean }
  | { readonly rule: 'identity' };

/**
 * Layer-wise relevance propagation as a backward rule: the "gradient" returned is the relevance of each
 * `wrt` tensor for a relevance of `outputWeights` at the output (Captum's LRP before its scaling by the
 * output). `rules` assigns rules by layer (node, tensor or module name); other layers take Captum's default.
 */
export interface LrpRequest {
  readonly lrp: { readonly rules?: Readonly<Record<string, LrpLayerRule>> };
}

/** A forward pass followed by a vector-Jacobian product. */
export interface GradientRequest<T> extends ForwardRequest<T> {
  /**
   * The weights `w` selecting outputs; it has the output's shape. The gradient computed is that of
   * `sum(output ⊙ w)` (summed over the whole batch), so a one-hot row per example selects its target.
   */
  readonly outputWeights: T;
  /** The tensors the gradient is taken with respect to. */
  readonly wrt: readonly GradientSource[];
  /** The backward rule for nonlinearities (default `'gradient'`); backends without it throw a BackendError. */
  readonly rule?: BackwardRule;
  /**
   * The tensor whose weighted sum is differentiated: the model output (default) or a layer tensor (neuron
   * methods). `outputWeights` then has that tensor's shape (or that of `select`'s result).
   */
  readonly of?: LayerRef;
  /**
   * A function of the differentiated tensor, computing one value per example with backend operations (a
   * neuron selected by a function). Only backends that differentiate JavaScript (tfjs) support it; others
   * throw a BackendError.
   */
  readonly select?: (value: T) => T;
}

/** What a gradient call returns; every tensor is owned by the caller. */
export interface GradientResult<T> extends ForwardResult<T> {
  /** One gradient per entry of `wrt`, each shaped like that tensor. */
  readonly gradients: readonly T[];
}

/**
 * A model that attribution algorithms can explain. An adapter wraps a framework's model in this
 * interface; algorithms call nothing else.
 */
export interface Model<T> {
  /** The backend whose tensors the model consumes and produces. */
  readonly backend: Backend<T>;
  /** Names of the model inputs when the model has named inputs (used in messages). */
  readonly inputNames?: readonly string[];
  /** The class names of the explained output's last axis, index i named labels[i] (a target may name a class). */
  readonly labels?: readonly string[];
  /** Runs the model on one batch. */
  forward(request: ForwardRequest<T>): Promise<ForwardResult<T>>;
  /** Runs the model and returns the gradient of `sum(output ⊙ outputWeights)` with respect to `wrt`. */
  gradient(request: GradientRequest<T>): Promise<GradientResult<T>>;
  /**
   * The floating-point parameters (weights) gradients may be taken with respect to ({@link ParamRef}), in the
   * order the model first uses them.
   */
  parameters?(): Promise<readonly ParameterInfo[]>;
  /** Names of the layers that a {@link LayerRef} may name (may need a forward pass to discover). */
  layers?(): Promise<readonly string[]>;
  /**
   * The axis of a layer tensor of rank `rank` that holds its channels (feature maps), for methods that pool over
   * the others (Grad-CAM) or resize them: 1 for channels-first layouts (ONNX, PyTorch; the default when absent),
   * `rank − 1` for channels-last ones (TensorFlow.js).
   */
  channelAxis?(ref: LayerRef, rank: number): number;
  /** Releases what the model holds (sessions, caches); the model is unusable afterwards. */
  dispose?(): void;
}

/** The tensor type of a model. */
export type TensorOf<M> = M extends Model<infer T> ? T : never;

/**
 * The layer names a model's layer and neuron methods accept, for discovery: ONNX tensor names, tfjs layer
 * names (`outer/inner/conv` inside nested models), tf.GraphModel node names, or the taps a function model has
 * made so far.
 */
export async function listLayers<T>(model: Model<T>): Promise<readonly string[]> {
  if (typeof model.layers !== 'function') throw new BackendError('This model does not list its layers (its adapter has no layers()).');
  return model.layers();
}

/** The parameters of a model (see {@link Model.parameters}); throws a BackendError when its adapter lists none. */
export async function listParameters<T>(model: Model<T>): Promise<readonly ParameterInfo[]> {
  if (typeof model.parameters !== 'function') throw new BackendError('This model does not list its parameters (its adapter has no parameters()).');
  return model.parameters();
}

/**
 * The parameters of the model's last layer that has any (the final classifier of most networks): what
 * Captum's TracInCPFast and "last layer" influence differentiate.
 */
export async function lastLayerParameters<T>(model: Model<T>): Promise<readonly ParameterInfo[]> {
  const all = await listParameters(model);
  const last = all.at(-1);
  if (!last) throw new BackendError('This model has no floating-point parameters.');
  return all.filter((p) => p.layer === last.layer);
}
