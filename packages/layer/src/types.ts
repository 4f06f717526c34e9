import type { ApproximationMethod, Baselines, RunOptions, Target } from '@attribution/core';

/** The result of a layer attribution call: attributions shaped like the layer tensor (one per layer for several). */
export interface LayerAttributionResult<A, T> {
  readonly attributions: A;
  /** Convergence delta per example, when asked for. */
  readonly delta?: T;
}

/** Options of every layer method. */
export interface LayerOptions extends RunOptions {
  /** Extra positional arguments for the model, after the inputs; tensors are expanded with the batch. */
  readonly additionalForwardArgs?: unknown;
  /** Attribute to the layer's input instead of its output (Captum's `attribute_to_layer_input`). */
  readonly attributeToLayerInput?: boolean;
}

/** Options of the layer methods that explain a model output. */
export interface LayerTargetOptions<T> extends LayerOptions {
  /** Which output to explain (see the core `Target`). */
  readonly target?: Target<T> | T;
}

/** Options of the layer path methods. */
export interface LayerPathOptions<T> extends LayerTargetOptions<T> {
  /** Baselines of the inputs (in input space), default zeros. */
  readonly baselines?: Baselines<T>;
  /** Number of integration steps (default 50). */
  readonly nSteps?: number;
  /** Approximation rule (default `gausslegendre`). */
  readonly method?: ApproximationMethod;
  /** The most rows one model call may see. */
  readonly internalBatchSize?: number;
}
