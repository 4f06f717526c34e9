import { RUN_OPTION_NAMES, checkBoolean, checkInteger, checkOptionNames, checkSeed, restoreStructure, throwIfAborted, withScope, type RunOptions } from '@attribution/core';
import { ArgumentError, createRandom, describeValue, sizeOf, type Model, type Random } from '@attribution/tensor';
import { attackSettings, copyHost, prepareAttack, type AttackOptions, type AttackSettings } from './fgsm.js';
import { applySignStep, checkNumber, clampInPlace, fromHost, lossGradients, rounder, type HostInput } from './gradient-step.js';

/** The norm of the ball PGD projects onto. */
export type PGDNorm = 'Linf' | 'L2';

/** Options of {@link PGD.perturb}. */
export interface PGDOptions<T> extends RunOptions {
  /** The radius of the ball around the inputs the perturbed inputs stay in (a finite number ≥ 0). */
  readonly radius: number;
  /** The size of each sign step (a finite number ≥ 0). */
  readonly stepSize: number;
  /** The number of steps (an integer ≥ 0). */
  readonly stepNum: number;
  /** The true labels (untargeted) or the target classes (targeted), in the forms of a `target`, or the user loss's labels. */
  readonly target?: unknown;
  /** Extra arguments passed to the model after the inputs. */
  readonly additionalForwardArgs?: unknown;
  /** Whether the attack moves towards `target` (default false: away from it). */
  readonly targeted?: boolean;
  /** Start from a uniformly random point of the ball (default false). */
  readonly randomStart?: boolean;
  /** The seed of the random start (default: a random seed). */
  readonly seed?: number;
  /** The norm of the ball: `'Linf'` (default) or `'L2'` (per example, over all of its values of one input). */
  readonly norm?: PGDNorm;
  /** Which elements may move: a tensor per input, broadcast to its shape, multiplying each step (default all ones). */
  readonly mask?: T | readonly T[];
  /** The most examples one model call may see (default: all). */
  readonly internalBatchSize?: number;
}

const OPTION_NAMES = [
  'radius',
  'stepSize',
  'stepNum',
  'target',
  'additionalForwardArgs',
  'targeted',
  'randomStart',
  'seed',
  'norm',
  'mask',
  'internalBatchSize',
  ...RUN_OPTION_NAMES,
];

/** `center + x·mask` with `x` uniform in the ball of the norm (Captum's `PGD._random_point`), in place. */
function randomPoint(h: HostInput, radius: number, norm: PGDNorm, mask: Float64Array | undefined, random: Random): void {
  const r = rounder(h.dtype);
  const n = h.shape[0] as number;
  const size = sizeOf(h.shape.slice(1));
  const d = h.data;
  for (let i = 0; i < n; i++) {
    const offset = new Float64Array(size);
    if (norm === 'Linf') {
      for (let j = 0; j < size; j++) offset[j] = random.next() * radius * 2 - radius;
    } else {
      let sq = 0;
      for (let j = 0; j < size; j++) {
        const u = random.normal();
        offset[j] = u;
        sq += u * u;
      }
      const scale = (random.next() ** (1 / size) * radius) / Math.max(Math.sqrt(sq), 1e-12);
      for (let j = 0; j < size; j++) offset[j] = (offset[j] as number) * scale;
    }
    for (let j = 0; j < size; j++) {
      const k = i * size + j;
      const x = mask ? r(r(offset[j] as number) * (mask[k] as number)) : r(offset[j] as number);
      d[k] = r((d[k] as number) + x);
    }
  }
}

/** Projects `h` onto the ball of `radius` around `center` in place (Captum's `_clip`: clamp, or `torch.renorm` for L2). */
function project(h: HostInput, center: HostInput, radius: number, norm: PGDNorm): void {
  const r = rounder(h.dtype);
  const rad = r(radius);
  const d = h.data;
  const c = center.data;
  if (norm === 'Linf') {
    for (let k = 0; k < d.length; k++) d[k] = r((c[k] as number) + Math.min(Math.max(r((d[k] as number) - (c[k] as number)), -rad), rad));
    return;
  }
  const n = h.shape[0] as number;
  const size = sizeOf(h.shape.slice(1));
  const eps = r(1e-7);
  const diff = new Float64Array(size);
  for (let i = 0; i < n; i++) {
    let sq = 0;
    for (let j = 0; j < size; j++) {
      const v = r((d[i * size + j] as number) - (c[i * size + j] as number));
      diff[j] = v;
      sq += v * v;
    }
    const norm2 = r(Math.sqrt(sq));
    const factor = norm2 > rad ? r(rad / r(norm2 + eps)) : 1;
    for (let j = 0; j < size; j++) d[i * size + j] = r((c[i * size + j] as number) + r((diff[j] as number) * factor));
  }
}

/**
 * Projected Gradient Descent (Madry et al., 2017; Captum's `PGD`): `stepNum` FGSM steps of size `stepSize`, each
 * followed by a projection onto the `norm` ball of `radius` around the inputs and a clamp to the bounds; with
 * `randomStart`, the walk starts at a uniformly random point of the ball (seeded by `seed`).
 */
export class PGD<T> {
  /** The model attacked. */
  readonly model: Model<T>;
  /** The validated constructor options. */
  private readonly settings: AttackSettings;

  /** Wraps a model; `options` set the loss and the input bounds. */
  constructor(model: Model<T>, options?: AttackOptions) {
    this.settings = attackSettings(model, options, 'PGD');
    this.model = model;
  }

  /** The adversarial inputs, one tensor per input (owned by the caller), in the structure of `inputs`. */
  perturb(inputs: T, options: PGDOptions<T>): Promise<T>;
  perturb(inputs: readonly T[], options: PGDOptions<T>): Promise<T[]>;
  async perturb(inputs: T | readonly T[], options: PGDOptions<T>): Promise<T | T[]> {
    if (options === undefined || options === null || typeof options !== 'object') {
      throw new ArgumentError('PGD.perturb options', 'an options object with radius, stepSize, stepNum and target', describeValue(options));
    }
    checkOptionNames(options, OPTION_NAMES, 'PGD.perturb');
    const radius = checkNumber('radius', options.radius, 0);
    const stepSize = checkNumber('stepSize', options.stepSize, 0);
    const stepNum = checkInteger('stepNum', options.stepNum, 0);
    const targeted = checkBoolean('targeted', options.targeted ?? false);
    const randomStart = checkBoolean('randomStart', options.randomStart ?? false);
    const seed = checkSeed(options.seed);
    const norm = options.norm ?? 'Linf';
    if (norm !== 'Linf' && norm !== 'L2') throw new ArgumentError('norm', "'Linf' or 'L2'", describeValue(norm));
    const { lowerBound, upperBound } = this.settings;
    const b = this.model.backend;
    return withScope(b, async (scope) => {
      const attack = await prepareAttack(this.model, this.settings, inputs, options, scope);
      const current = copyHost(attack.original);
      if (randomStart) {
        const random = createRandom(seed);
        current.forEach((h, k) => {
          randomPoint(h, radius, norm, attack.masks?.[k], random);
          clampInPlace(h, lowerBound, upperBound);
        });
      }
      for (let s = 0; s < stepNum; s++) {
        throwIfAborted(options.signal);
        const grads = await lossGradients(attack.ctx, current);
        current.forEach((h, k) => {
          applySignStep(h, grads[k] as Float64Array, stepSize, targeted, attack.masks?.[k]);
          project(h, attack.original[k] as HostInput, radius, norm);
          clampInPlace(h, lowerBound, upperBound);
        });
        options.onProgress?.({ done: s + 1, total: stepNum });
      }
      return restoreStructure({ single: attack.single }, fromHost(b, current));
    });
  }
}
