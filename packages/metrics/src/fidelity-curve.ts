import {
  RUN_OPTION_NAMES,
  checkInteger,
  checkOptionNames,
  maskFeatures,
  preparePerturbationCall,
  runCopies,
  withScope,
  type Copy,
  type FeatureMask,
  type MaskFeatures,
  type RunOptions,
  type Target,
} from '@attribution/core';
import { TargetError, sizeOf, toNumbers, type Backend, type Model } from '@attribution/tensor';
import { checkAttributions } from './samples.js';

/** Options of {@link deletion} and {@link insertion}. */
export interface FidelityCurveOptions<T> extends RunOptions {
  /** Which output: one value per example (see the core `Target`). */
  readonly target?: Target<T> | T;
  readonly additionalForwardArgs?: unknown;
  /** What removed (or not yet inserted) features are set to: a number, a broadcastable tensor, or one per input (default 0). */
  readonly baselines?: number | T | readonly (number | T)[];
  /** Groups of input positions moved together, as the perturbation methods' `featureMask`; a group ranks by its summed attribution. Default: every element. */
  readonly featureMask?: FeatureMask<T>;
  /** Points of the curve after the start (default 10): at step s the top ⌊s·M/steps⌉ features are moved. */
  readonly steps?: number;
  /** The most rows per model call (whole copies of the batch: at least N). */
  readonly maxExamplesPerBatch?: number;
}

/** A deletion or insertion curve: the model's score as features are removed or inserted in order of attribution. */
export interface FidelityCurve {
  /** Fraction of the features moved at each point, `0, 1/steps, …, 1`. */
  readonly fractions: number[];
  /** Per example, the selected output at each point. */
  readonly scores: number[][];
  /** Per example, the area under the curve (trapezoid rule over the fractions). */
  readonly auc: number[];
}

const OPTION_NAMES = ['target', 'additionalForwardArgs', 'baselines', 'featureMask', 'steps', 'maxExamplesPerBatch', ...RUN_OPTION_NAMES];

/** Per example, the feature indices ordered by decreasing summed attribution (ties: feature order). */
async function featureOrder<T>(b: Backend<T>, attributions: readonly T[], features: MaskFeatures, n: number): Promise<number[][]> {
  const data = await Promise.all(attributions.map(async (a) => ({ values: toNumbers(await b.data(a)), per: sizeOf(b.shape(a).slice(1)) })));
  return Array.from({ length: n }, (_, i) => {
    const scores = features.ids.map((_, f) => {
      let s = 0;
      features.positions(f).forEach((where, t) => {
        if (!where) return;
        const list = where instanceof Int32Array ? where : (where[i] as Int32Array);
        const { values, per } = data[t] as { values: ArrayLike<number>; per: number };
        for (const p of list) s += values[i * per + p] as number;
      });
      return s;
    });
    return scores.map((s, f) => ({ s, f })).sort((a, c) => c.s - a.s || a.f - c.f).map((e) => e.f);
  });
}

/**
 * Moves features in order of attribution and records the model's score after each step: `'deletion'` starts
 * from the inputs and sets the most important features to the baseline first; `'insertion'` starts from the
 * baseline and restores them first. Shared by {@link deletion} and {@link insertion}.
 */
export async function fidelityCurve<T>(
  kind: 'deletion' | 'insertion',
  model: Model<T>,
  inputs: T | readonly T[],
  attributions: T | readonly T[],
  options: FidelityCurveOptions<T>,
): Promise<FidelityCurve> {
  checkOptionNames(options, OPTION_NAMES, kind);
  const steps = checkInteger('steps', options.steps ?? 10, 1);
  const b = model.backend;
  return withScope(b, async (scope) => {
    const call = await preparePerturbationCall(model, inputs, options, scope);
    if (call.k !== 1) throw new TargetError(`a target selecting one output per example (the ${kind} curve follows one score)`, `${call.k} outputs per example`);
    const attrs = checkAttributions(b, attributions, call.x);
    const features = await maskFeatures(b, options.featureMask, call.x);
    const n = call.x.batchSize;
    const order = await featureOrder(b, attrs, features, n);
    const total = features.ids.length;
    const moved = (s: number): number => Math.round((s * total) / steps);
    // Deletion: copy s is the inputs with the top moved(s) features at the baseline; insertion: the reverse.
    const copies: Copy[] = Array.from({ length: steps + 1 }, (_, s) => ({
      base: kind === 'deletion' ? 'input' : 'baseline',
      switched: order.map((o) => o.slice(0, moved(s))),
    }));
    const perEval = Math.max(1, Math.floor((options.maxExamplesPerBatch ?? n * copies.length) / n));
    const scores = Array.from({ length: n }, () => new Array<number>(steps + 1).fill(0));
    const progress = { done: 0, total: Math.ceil(copies.length / perEval) };
    await runCopies(model, call, features, copies, perEval, scope, { ...options, progress }, (first, values) => {
      for (let r = 0; r < values.length; r++) (scores[r % n] as number[])[first + Math.floor(r / n)] = values[r] as number;
    });
    const fractions = Array.from({ length: steps + 1 }, (_, s) => moved(s) / Math.max(total, 1));
    const auc = scores.map((row) => row.slice(1).reduce((area, y, s) => area + ((y + (row[s] as number)) / 2) * ((fractions[s + 1] as number) - (fractions[s] as number)), 0));
    return { fractions, scores, auc };
  });
}
