import type { ApproximationMethod, Baselines, RunOptions, Target } from '@attribution/core';

/** The result of an attribution call. */
export interface AttributionResult<A, T> {
  /** Attributions with the structure and shapes of the inputs. */
  readonly attributions: A;
  /** Convergence delta per example (shape `[N]`), when `returnConvergenceDelta` was set. */
  readonly delta?: T;
}

/** Options shared by the methods that explain one output per example with gradients. */
export interface GradientOptions<T> extends RunOptions {
  /** Which output to explain (see {@link Target}); omit for one output per example. */
  readonly target?: Target<T> | T;
  /** Extra positional arguments for the model, after the inputs; tensors are expanded with the batch. */
  readonly additionalForwardArgs?: unknown;
}

/** Options of gradient methods that evaluate the model once per example. */
export interface OnePassOptions<T> extends GradientOptions<T> {
  /** The most rows one model call may see (examples are split across calls; default: all at once). */
  readonly internalBatchSize?: number;
}

/** Options of the path methods (baselines, steps, rule, batching, delta). */
export interface PathOptions<T> extends GradientOptions<T> {
  /** Reference inputs: a number, a tensor (per example or batch 1) or one per input. Default zeros. */
  readonly baselines?: Baselines<T>;
  /** Number of integration steps (default 50). */
  readonly nSteps?: number;
  /** Approximation rule (default `gausslegendre`). */
  readonly method?: ApproximationMethod;
  /** The most rows one model call may see; steps are split across calls (default: all at once). */
  readonly internalBatchSize?: number;
  /** Also return the convergence delta. */
  readonly returnConvergenceDelta?: boolean;
}

/** Options shared by the perturbation methods. */
export interface PerturbationOptions<T> extends GradientOptions<T> {
  /** What removed features are replaced with: a number, a tensor broadcastable to the input, or one per input (default 0). */
  readonly baselines?: number | T | readonly (number | T)[];
  /** Groups of input positions perturbed together: integer masks, one per input; equal ids form one feature (across inputs too). */
  readonly featureMask?: T | readonly T[];
  /** Perturbed copies of the batch per model call (default 1): every call sees at most this many × N rows. */
  readonly perturbationsPerEval?: number;
}

/** Options of the sampling methods. */
export interface SamplingOptions {
  /** Seed of the random draws: the same seed gives the same result (default: a random seed). */
  readonly seed?: number;
}

/** Options of the sampling methods that can seed every example on its own. */
export interface ExampleSamplingOptions {
  /**
   * Seed of the random draws: the same seed gives the same result (default: a random seed). Or one seed per
   * example: example i's draws then depend on `seed[i]` alone, so its attribution does not depend on the other
   * examples of the batch or its position in it (how the CLI's dataset runs stay reproducible whatever the
   * batch size).
   */
  readonly seed?: number | readonly number[];
}
