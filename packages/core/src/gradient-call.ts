import { toNumbers, type BackwardRule, type Model } from '@attribution/tensor';
import { normalizeArgs, repeatArgs, sliceArgs, sliceRows } from './args.js';
import { exampleRanges } from './batching.js';
import { prepareInputs, type PreparedInputs } from './inputs.js';
import { checkOutput, probeModel, targetGradients } from './model-calls.js';
import { throwIfAborted, type RunOptions } from './options.js';
import type { Scope } from './scope.js';
import { normalizeTarget, type TargetSelection } from './target.js';

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
 * output (running the model when `needSums` asks for `F(x)` or the output shape is not known yet).
 */
export async function prepareTargetCall<T>(
  model: Model<T>,
  inputs: unknown,
  options: { readonly target?: unknown; readonly additionalForwardArgs?: unknown },
  scope: Scope<T>,
  needSums = false,
): Promise<TargetCall<T>> {
  const b = model.backend;
  const x = await prepareInputs(b, inputs, { needsGradient: true });
  const args = normalizeArgs(options.additionalForwardArgs);
  const spec = await normalizeTarget(b, options.target, x.batchSize);
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

/** Options for the one-pass gradient methods. */
export interface InputGradientOptions extends RunOptions {
  /** The backward rule for nonlinearities. */
  readonly rule?: BackwardRule;
  /** The most rows one model call may see; examples are split across calls. */
  readonly maxRows?: number;
}

/**
 * `∂F/∂x` (or the modified gradient of `rule`) for every input at the inputs themselves, in calls of at most
 * `maxRows` examples. Owned by `scope`.
 */
export async function inputGradients<T>(model: Model<T>, call: TargetCall<T>, scope: Scope<T>, run: InputGradientOptions = {}): Promise<T[]> {
  const ranges = exampleRanges(call.x.batchSize, 1, run.maxRows);
  const parts: T[][] = [];
  for (const [start, end] of ranges) {
    throwIfAborted(run.signal);
    const grads = await targetGradients(model, {
      inputs: rowsOf(model, call.x.tensors, start, end, scope),
      args: sliceArgs(model.backend, call.args, start, end, scope),
      outputWeights: call.selection.subset(start, end).ones(model.backend, 1, scope),
      wrt: call.x.tensors.map((_, i) => ({ input: i })),
      rule: run.rule,
    });
    parts.push(scope.track([...grads]));
    run.onProgress?.({ done: parts.length, total: ranges.length });
  }
  return joinRows(model, parts, scope);
}

/** DeepLift's multipliers and the model's values at the inputs and the references. */
export interface DeepLiftPass<T> {
  /** One multiplier tensor per input, shaped like it. */
  readonly multipliers: T[];
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
): Promise<DeepLiftPass<T>> {
  const b = model.backend;
  const n = call.x.batchSize;
  const fInputs = new Float64Array(n);
  const fBaselines = new Float64Array(n);
  const ranges = exampleRanges(n, 2, run.maxRows);
  const parts: T[][] = [];
  for (const [start, end] of ranges) {
    throwIfAborted(run.signal);
    const k = end - start;
    const xs = rowsOf(model, call.x.tensors, start, end, scope);
    const bs = rowsOf(model, baselines, start, end, scope);
    const batch = xs.map((x, i) => scope.track(b.concat([x, bs[i] as T], 0)));
    const selection = call.selection.subset(start, end);
    const result = await model.gradient({
      inputs: batch,
      args: repeatArgs(b, sliceArgs(b, call.args, start, end, scope), 2, scope),
      outputWeights: selection.ones(b, 2, scope),
      wrt: batch.map((_, i) => ({ input: i })),
      rule: run.rule ?? 'deeplift',
    });
    scope.track([result.output, ...result.captured, ...result.gradients]);
    const output = checkOutput(b, result.output, 2 * k);
    const sums = selection.sums(toNumbers(await b.data(output)), 2 * k);
    fInputs.set(sums.subarray(0, k), start);
    fBaselines.set(sums.subarray(k), start);
    parts.push(result.gradients.map((g) => scope.track(sliceRows(b, g, 0, k))));
    scope.free([output, ...result.captured, ...result.gradients, ...batch]);
    run.onProgress?.({ done: parts.length, total: ranges.length });
  }
  return { multipliers: joinRows(model, parts, scope), fInputs, fBaselines };
}
