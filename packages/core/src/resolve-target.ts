import { TargetError, checkLabels, formatShape, sizeOf, stridesOf, toNumbers, type Model, type Shape } from '@attribution/tensor';
import { sliceArgs, sliceRows } from './args.js';
import { exampleRanges } from './batching.js';
import { checkFiniteOutput, checkOutput, recordOutputShape } from './model-calls.js';
import { throwIfAborted } from './options.js';
import type { Scope } from './scope.js';
import { normalizeTarget, type TargetSpec } from './target.js';

/** How the forward pass that resolves `'predicted'` runs. */
export interface ResolveTargetOptions {
  /** The most rows one model call may see (default: all examples at once). */
  readonly maxRows?: number;
  /** Stops between model calls. */
  readonly signal?: AbortSignal;
}

/**
 * The row limit a method's options set for its model calls, for the forward pass that resolves `'predicted'`:
 * `internalBatchSize` (or `maxExamplesPerBatch`) when it is a positive integer. Methods check the option
 * themselves; an invalid value sets no limit here.
 */
export function targetRowLimit(options: { readonly internalBatchSize?: unknown; readonly maxExamplesPerBatch?: unknown }): number | undefined {
  const v = options.internalBatchSize ?? options.maxExamplesPerBatch;
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 1 ? v : undefined;
}

/**
 * Resolves the one target form that depends on the model's output values: `'predicted'` becomes each example's
 * argmax of the model output on `inputs` over the non-batch dimensions — one index per example for a `[N, C]`
 * output, one index tuple per example for higher ranks; ties go to the first largest value, as `argmax` in
 * PyTorch and NumPy. One forward pass, in calls of at most `maxRows` rows. Any other target is returned as it
 * is. Methods that repeat or perturb their inputs before an inner call (NoiseTunnel, sensitivityMax) resolve it
 * on the original inputs first, so that every copy explains the same class.
 */
export async function resolveTarget<T>(
  model: Model<T>,
  target: unknown,
  inputs: readonly T[],
  args: readonly unknown[],
  scope: Scope<T>,
  run: ResolveTargetOptions = {},
): Promise<unknown> {
  if (target !== 'predicted') return target;
  const b = model.backend;
  const n = b.shape(inputs[0] as T)[0] as number;
  const picks: number[][] = [];
  let rest: Shape = [];
  for (const [start, end] of exampleRanges(n, 1, run.maxRows)) {
    throwIfAborted(run.signal);
    const whole = start === 0 && end === n;
    const part = whole ? [...inputs] : inputs.map((t) => scope.track(sliceRows(b, t, start, end)));
    const partArgs = whole ? args : sliceArgs(b, args, start, end, scope);
    const { output, captured } = await model.forward({ inputs: part, args: partArgs });
    scope.track(captured);
    const out = checkOutput(b, scope.track(output), end - start);
    const data = toNumbers(await b.data(out));
    checkFiniteOutput(data);
    const shape = b.shape(out);
    rest = shape.slice(1);
    const rowSize = sizeOf(rest);
    scope.free([out, ...captured]);
    if (!whole) scope.free([...part, ...partArgs.filter((a): a is T => b.isTensor(a) && !args.includes(a))]);
    if (rowSize < 2) {
      throw new TargetError(
        `a target other than 'predicted', which picks the largest of several outputs per example: the model output has shape ${formatShape(shape)}, ${rowSize === 1 ? 'one value' : 'no values'} per example`,
        "'predicted'",
        rowSize === 1 ? 'Omit the target: the model gives one value per example.' : undefined,
      );
    }
    const strides = stridesOf(rest);
    for (let r = 0; r < end - start; r++) {
      let best = 0;
      for (let j = 1; j < rowSize; j++) if ((data[r * rowSize + j] as number) > (data[r * rowSize + best] as number)) best = j;
      picks.push(rest.map((size, d) => Math.floor(best / (strides[d] as number)) % size));
    }
  }
  // The output shape is known now: probing the output for the target's selection needs no second pass.
  recordOutputShape(model, inputs, args, [n, ...rest]);
  return rest.length === 1 ? picks.map((p) => p[0] as number) : picks;
}

/**
 * Where every method's `target` enters: resolves `'predicted'` ({@link resolveTarget}), looks class names up in
 * `model.labels`, and checks the form for the batch of `inputs` ({@link normalizeTarget}).
 */
export async function prepareTarget<T>(
  model: Model<T>,
  target: unknown,
  inputs: readonly T[],
  args: readonly unknown[],
  scope: Scope<T>,
  run: ResolveTargetOptions = {},
): Promise<TargetSpec> {
  const resolved = await resolveTarget(model, target, inputs, args, scope, run);
  const named = typeof resolved === 'string' || (Array.isArray(resolved) && resolved.some((t) => typeof t === 'string'));
  const labels = named ? checkLabels(model.labels, 'model.labels') : undefined;
  return normalizeTarget(model.backend, resolved, model.backend.shape(inputs[0] as T)[0] as number, labels);
}
