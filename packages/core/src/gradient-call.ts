import { toNumbers, type BackwardRule, type GradientSource, type LayerRef, type Model } from '@attribution/tensor';
import { normalizeArgs, repeatArgs, repeatInterleaveArgs, repeatRows, sliceArgs, sliceRows } from './args.js';
import { exampleRanges } from './batching.js';
import { prepareInputs, type PreparedInputs } from './inputs.js';
import { checkOutput, probeModel } from './model-calls.js';
import { throwIfAborted, type RunOptions } from './options.js';
import type { Scope } from './scope.js';
import { prepareTarget, targetRowLimit } from './resolve-target.js';
import type { TargetSelection } from './target.js';

/** What gradient methods share before their own computation. */
export interface TargetCall<T> {
  /** The validated inputs. */
  readonly x: PreparedInputs<T>;
  /** The additional forward arguments, normalised. */
  readonly args: readonly unknown[];
  /** The target resolved against the output shape. */
  readonly selection: TargetSelection;
  /** `F(x)` per example, when asked for. */
  readonly fInputs?: Float64Array;
}

/**
 * Validates inputs, arguments and target of a gradient method and resolves the target against the model's
 * output (running the model when `needSums` asks for `F(x)` or the output shape is not known yet; a
 * `'predicted'` target costs one forward pass, in calls of at most `internalBatchSize` rows).
 * `needsGradient: false` admits integer inputs (layer methods differentiate at a layer).
 */
export async function prepareTargetCall<T>(
  model: Model<T>,
  inputs: unknown,
  options: { readonly target?: unknown; readonly additionalForwardArgs?: unknown; readonly internalBatchSize?: unknown; readonly signal?: AbortSignal },
  scope: Scope<T>,
  needSums = false,
  needsGradient = true,
): Promise<TargetCall<T>> {
  const b = model.backend;
  const x = await prepareInputs(b, inputs, { needsGradient });
  const args = normalizeArgs(options.additionalForwardArgs);
  const spec = await prepareTarget(model, options.target, x.tensors, args, scope, { maxRows: targetRowLimit(options), signal: options.signal });
  const { selection, selectedSums } = await probeModel(model, x.tensors, args, spec, true, scope, needSums);
  return { x, args, selection, fInputs: selectedSums };
}

/** Rows `[start, end)` of each tensor (the tensors themselves when that is all of them); owned by `scope`. */
export function rowsOf<T>(model: Model<T>, tensors: readonly T[], start: number, end: number, scope: Scope<T>): T[] {
  const b = model.backend;
  return tensors.map((t) => (start === 0 && end === b.shape(t)[0] ? t : scope.track(sliceRows(b, t, start, end))));
}

/** Joins per-chunk results along dimension 0 (owned by `scope`; the parts are freed). */
export function joinRows<T>(model: Model<T>, parts: readonly (readonly T[])[], scope: Scope<T>): T[] {
  const first = parts[0] ?? [];
  if (parts.length === 1) return [...first];
  return first.map((_, i) => {
    const pieces = parts.map((p) => p[i] as T);
    const joined = scope.track(model.backend.concat(pieces, 0));
    scope.free(pieces);
    return joined;
  });
}

/** What one gradient pass differentiates, with respect to what, and what it reads on the way. */
export interface GradientSpec<T> {
  /** Weights over the differentiated tensor (target on the output, or neuron on a layer), per example. */
  readonly selection?: TargetSelection;
  /** A function of the differentiated tensor giving one value per example (instead of `selection`). */
  readonly select?: (value: T) => T;
  /** The differentiated tensor: a layer (neuron methods) instead of the model output. */
  readonly of?: LayerRef;
  /** What gradients are taken with respect to (default: every input). */
  readonly wrt?: readonly GradientSource[];
  /** Layer tensors to read during the pass. */
  readonly capture?: readonly LayerRef[];
}

/** Options for the one-pass gradient methods. */
export interface InputGradientOptions extends RunOptions {
  /** The backward rule for nonlinearities. */
  readonly rule?: BackwardRule;
  /** The most rows one model call may see; examples are split across calls. */
  readonly maxRows?: number;
}

/**
 * One gradient pass at the inputs themselves, in calls of at most `maxRows` examples: the gradients (or
 * modified gradients of `rule`) of the weighted target or neuron, and the captured layer tensors. Owned by
 * `scope`.
 */
export async function gradientPass<T>(
  model: Model<T>,
  call: { readonly x: PreparedInputs<T>; readonly args: readonly unknown[]; readonly selection: TargetSelection },
  spec: GradientSpec<T>,
  scope: Scope<T>,
  run: InputGradientOptions = {},
): Promise<{ gradients: T[]; captured: T[] }> {
  const b = model.backend;
  const ranges = exampleRanges(call.x.batchSize, 1, run.maxRows);
  const wrt = spec.wrt ?? call.x.tensors.map((_, i) => ({ input: i }));
  const capture = spec.capture ?? [];
  const selection = spec.selection ?? call.selection;
  const grads: T[][] = [];
  const captured: T[][] = [];
  for (const [start, end] of ranges) {
    throwIfAborted(run.signal);
    const result = await model.gradient({
      inputs: rowsOf(model, call.x.tensors, start, end, scope),
      args: sliceArgs(b, call.args, start, end, scope),
      outputWeights: spec.select ? scope.track(b.fill([end - start], 1)) : selection.subset(start, end).ones(b, 1, scope),
      wrt,
      rule: run.rule,
      of: spec.of,
      select: spec.select,
      capture,
    });
    b.dispose(result.output);
    grads.push(scope.track([...result.gradients]));
    captured.push(scope.track([...result.captured]));
    run.onProgress?.({ done: grads.length, total: ranges.length });
  }
  return { gradients: joinRows(model, grads, scope), captured: capture.length ? joinRows(model, captured, scope) : [] };
}

/**
 * `∂F/∂x` (or the modified gradient of `rule`) for every input at the inputs themselves, in calls of at most
 * `maxRows` examples. Owned by `scope`.
 */
export async function inputGradients<T>(model: Model<T>, call: TargetCall<T>, scope: Scope<T>, run: InputGradientOptions = {}): Promise<T[]> {
  return (await gradientPass(model, call, {}, scope, run)).gradients;
}

/** DeepLift's multipliers and the model's values at the inputs and the references. */
export interface DeepLiftPass<T> {
  /** One multiplier tensor per gradient source (the inputs, by default), for the inputs' half. */
  readonly multipliers: T[];
  /** Captured layer tensors at the inputs (`[N, …]` each). */
  readonly capturedInputs: T[];
  /** Captured layer tensors at the references. */
  readonly capturedBaselines: T[];
  /** `F(x)` per example. */
  readonly fInputs: Float64Array;
  /** `F(x′)` per example. */
  readonly fBaselines: Float64Array;
}

/**
 * Runs inputs and references as one batch (inputs first, as Captum does) with the DeepLift backward rule and
 * returns the multipliers of the inputs, in calls of at most `maxRows` rows (two per example).
 */
export async function deepLiftPass<T>(
  model: Model<T>,
  call: TargetCall<T>,
  baselines: readonly T[],
  scope: Scope<T>,
  run: RunOptions & { readonly maxRows?: number; readonly rule?: BackwardRule } = {},
  spec: GradientSpec<T> = {},
): Promise<DeepLiftPass<T>> {
  const b = model.backend;
  const n = call.x.batchSize;
  const fInputs = new Float64Array(n);
  const fBaselines = new Float64Array(n);
  const ranges = exampleRanges(n, 2, run.maxRows);
  const parts: T[][] = [];
  const inputsParts: T[][] = [];
  const baselineParts: T[][] = [];
  for (const [start, end] of ranges) {
    throwIfAborted(run.signal);
    const k = end - start;
    const xs = rowsOf(model, call.x.tensors, start, end, scope);
    const bs = rowsOf(model, baselines, start, end, scope);
    const batch = xs.map((x, i) => scope.track(b.concat([x, bs[i] as T], 0)));
    const selection = (spec.selection ?? call.selection).subset(start, end);
    const result = await model.gradient({
      inputs: batch,
      args: repeatArgs(b, sliceArgs(b, call.args, start, end, scope), 2, scope),
      outputWeights: spec.select ? scope.track(b.fill([2 * k], 1)) : selection.ones(b, 2, scope),
      wrt: spec.wrt ?? batch.map((_, i) => ({ input: i })),
      rule: run.rule ?? 'deeplift',
      of: spec.of,
      select: spec.select,
      capture: spec.capture,
    });
    scope.track([result.output, ...result.captured, ...result.gradients]);
    const output = checkOutput(b, result.output, 2 * k);
    if (!spec.of) {
      const sums = call.selection.subset(start, end).sums(toNumbers(await b.data(output)), 2 * k);
      fInputs.set(sums.subarray(0, k), start);
      fBaselines.set(sums.subarray(k), start);
    }
    parts.push(result.gradients.map((g) => scope.track(sliceRows(b, g, 0, k))));
    inputsParts.push(result.captured.map((c) => scope.track(sliceRows(b, c, 0, k))));
    baselineParts.push(result.captured.map((c) => scope.track(sliceRows(b, c, k, 2 * k))));
    scope.free([output, ...result.captured, ...result.gradients, ...batch]);
    run.onProgress?.({ done: parts.length, total: ranges.length });
  }
  const captures = (spec.capture ?? []).length > 0;
  return {
    multipliers: joinRows(model, parts, scope),
    capturedInputs: captures ? joinRows(model, inputsParts, scope) : [],
    capturedBaselines: captures ? joinRows(model, baselineParts, scope) : [],
    fInputs,
    fBaselines,
  };
}

/** Every example paired with every reference row of a baseline distribution (DeepLiftShap and its layer and neuron forms). */
export interface ReferencePairs<T> {
  /** Examples. */
  readonly n: number;
  /** Reference rows. */
  readonly refs: number;
  /** Each input with every example repeated `refs` times in a row (`[n·refs, …]`). */
  readonly pairs: T[];
  /** The distribution tiled `n` times, aligned with {@link pairs}. */
  readonly references: T[];
  /** The call on the `n·refs` pairs: inputs, arguments and target repeated alike. */
  readonly call: TargetCall<T>;
}

/**
 * Pairs every example of `call` with every row of the reference distribution, as Captum's DeepLiftShap expands
 * inputs and baselines before one DeepLift pass. Tensors are owned by `scope`.
 */
export function pairWithReferences<T>(model: Model<T>, call: TargetCall<T>, distribution: readonly T[], refs: number, scope: Scope<T>): ReferencePairs<T> {
  const b = model.backend;
  const n = call.x.batchSize;
  const pairs = call.x.tensors.map((x) => scope.track(repeatRows(b, x, refs)));
  const references = distribution.map((d) => scope.track(b.tile(d, b.shape(d).map((_, k) => (k === 0 ? n : 1)))));
  return {
    n,
    refs,
    pairs,
    references,
    call: {
      x: { tensors: pairs, single: call.x.single, batchSize: n * refs, shapes: pairs.map((p) => b.shape(p)) },
      args: repeatInterleaveArgs(b, call.args, refs, scope),
      selection: call.selection.repeatInterleave(refs),
    },
  };
}

/** The mean over the reference rows of per-pair attributions `[n·refs, …]` → `[n, …]`, owned by `scope`. */
export function meanOverReferences<T>(model: Model<T>, perPair: T, n: number, refs: number, scope: Scope<T>): T {
  const b = model.backend;
  return scope.track(b.tidy(() => b.mean(b.reshape(perPair, [n, refs, ...b.shape(perPair).slice(1)]), 1)));
}
