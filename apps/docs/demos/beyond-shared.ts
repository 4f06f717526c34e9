/**
 * What the "beyond attribution" demo (BeyondDemo.vue) and its worker (beyond.worker.ts) share: the requests of
 * its three panels — an adversarial digit (`@attribution/robust`), the training digits responsible for a
 * prediction (`@attribution/influence`) and TCAV scores of stroke concepts (`@attribution/concept`) — and their
 * results.
 */
import type { Bound } from './bounds.js';
import type { Prediction } from './digits-shared.js';

export type { Prediction } from './digits-shared.js';

/** The hidden layer TCAV looks at: the second convolution after its ReLU, [N, 32, 8, 8]. */
export const TCAV_LAYER = '/3/Relu_output_0';

/** How many of the 40 sample digits are the training set of the influence panel (the first ones). */
export const TRAINING_COUNT = 32;

/** PGD's options in the attack panel. */
export interface AttackOptions {
  /** The L∞ radius of the ball around the digit (pixels are in [0, 1]). */
  readonly radius: number;
  /** The size of each signed-gradient step. */
  readonly stepSize: number;
  /** The number of steps. */
  readonly stepNum: number;
}

export const DEFAULT_ATTACK: AttackOptions = { radius: 0.3, stepSize: 0.05, stepNum: 20 };

/** The attack options' bounds, enforced in the page (on change, before a run) and again in the worker. */
export const ATTACK_BOUNDS: { readonly [K in keyof AttackOptions]: Bound } = {
  radius: { min: 0, max: 1, integer: false },
  stepSize: { min: 0, max: 1, integer: false },
  stepNum: { min: 1, max: 200, integer: true },
};

/**
 * The per-example loss of TracIn: the class score −z_y (zero gradient for every class but y, so every training
 * digit of another class scores exactly 0), or the centred class score −(z_y − mean z), whose gradient also
 * reaches the other classes: training digits of another class that the model sees as similar get negative
 * scores (opponents). Both rank the proponents alike.
 */
export type InfluenceLoss = 'class-score' | 'centred-class-score';

export const INFLUENCE_LOSSES: readonly { readonly name: InfluenceLoss; readonly label: string }[] = [
  { name: 'centred-class-score', label: 'centred class score −(z_y − mean z)' },
  { name: 'class-score', label: 'class score −z_y' },
];

/** Requests to the worker. `image` is one 8×8 digit in [0, 1], row-major. */
export type BeyondRequest =
  | { readonly type: 'predict'; readonly image: Float32Array }
  | { readonly type: 'attack'; readonly image: Float32Array; readonly target: number; readonly options: AttackOptions }
  | { readonly type: 'influence'; readonly image: Float32Array; readonly loss: InfluenceLoss }
  | { readonly type: 'tcav'; readonly image: Float32Array };

export interface PredictResult {
  readonly prediction: Prediction;
}

export interface AttackResult {
  readonly before: Prediction;
  readonly after: Prediction;
  /** The class PGD moved towards. */
  readonly target: number;
  /** The adversarial digit (64 values in [0, 1]). */
  readonly adversarial: Float32Array;
  /** Saliency of the predicted class of the digit and of the adversarial digit (64 values each). */
  readonly saliencyBefore: Float32Array;
  readonly saliencyAfter: Float32Array;
  /** The largest change of a pixel, max |x' − x|. */
  readonly linf: number;
  /** Time of PGD and of the two Saliency calls, in milliseconds. */
  readonly ms: number;
}

/** One training digit and its TracIn score. */
export interface Influential {
  /** Its index among the sample digits (0–31: the training set). */
  readonly index: number;
  readonly label: number;
  readonly score: number;
}

export interface InfluenceResult {
  readonly prediction: Prediction;
  /** The label of the query in the loss: its predicted class. */
  readonly label: number;
  readonly loss: InfluenceLoss;
  readonly proponents: Influential[];
  readonly opponents: Influential[];
  readonly ms: number;
}

/** A concept's TCAV scores against each random set, and the t-test against random-versus-random scores. */
export interface ConceptScores {
  readonly name: string;
  /** signCount of the concept against random set i, i = 0…9. */
  readonly scores: number[];
  readonly mean: number;
  /** Held-out accuracies of the concept's CAVs (one per random set). */
  readonly accuracies: number[];
  readonly pValue: number;
  readonly significant: boolean;
}

export interface TcavResult {
  readonly prediction: Prediction;
  /** The class explained: the predicted one. */
  readonly target: number;
  /** The sample digits scored (those of the target class), by index. */
  readonly inputs: number[];
  readonly layer: string;
  readonly concepts: ConceptScores[];
  /** signCount of random set 0 against random sets 1…9, and their mean. */
  readonly randomScores: number[];
  readonly randomMean: number;
  readonly ms: number;
}

/** The significance level of the t-test. */
export const SIGNIFICANCE = 0.05;
