import type { Model } from '@attribution/tensor';
import { normalizeArgs } from './args.js';
import { prepareInputs, type PreparedInputs } from './inputs.js';
import { probeModel, targetGradients } from './model-calls.js';
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

/** `∂F/∂x` for every input at the inputs themselves: one model call. Owned by `scope`. */
export async function inputGradients<T>(model: Model<T>, call: TargetCall<T>, scope: Scope<T>, run: RunOptions = {}): Promise<T[]> {
  throwIfAborted(run.signal);
  const grads = await targetGradients(model, {
    inputs: call.x.tensors,
    args: call.args,
    outputWeights: call.selection.ones(model.backend, 1, scope),
    wrt: call.x.tensors.map((_, i) => ({ input: i })),
  });
  run.onProgress?.({ done: 1, total: 1 });
  return scope.track([...grads]);
}
