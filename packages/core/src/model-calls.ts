import {
  ModelError,
  describeValue,
  formatShape,
  isFloatDType,
  toNumbers,
  type Backend,
  type Shape,
  type Model,
  type TensorData,
} from '@attribution/tensor';
import { sliceArgs, sliceRows } from './args.js';
import type { Scope } from './scope.js';
import { TargetSelection, type TargetSpec } from './target.js';

/** Checks what a model returned: a live tensor of its backend, numeric, with `rows` rows. */
export function checkOutput<T>(backend: Backend<T>, output: unknown, rows: number): T {
  if (!backend.isTensor(output)) {
    throw new ModelError(`The model returned ${describeValue(output)}, not a tensor of the ${backend.name} backend.`);
  }
  const dtype = backend.dtype(output);
  if (!isFloatDType(dtype) && dtype !== 'int32' && dtype !== 'int64') {
    throw new ModelError(`The model output has dtype ${dtype}; attribution needs numbers.`);
  }
  const shape = backend.shape(output);
  if (shape.length === 0 || shape[0] !== rows) {
    throw new ModelError(
      `The model output has shape ${formatShape(shape)}, but its dimension 0 should be the batch of ${rows} example(s).`,
    );
  }
  return output;
}

/** Throws when model output values are not finite. */
export function checkFiniteOutput(data: TensorData, what = 'The model output'): void {
  for (let i = 0; i < data.length; i++) {
    const v = Number(data[i]);
    if (!Number.isFinite(v)) throw new ModelError(`${what} contains ${v} (flat index ${i}).`);
  }
}

/** The result of probing a model on the real inputs. */
export interface Probe {
  /** The target resolved against the output shape. */
  readonly selection: TargetSelection;
  /** `F(x)`: the sum of the selected outputs, per example (when `needSums` was set). */
  readonly selectedSums?: Float64Array;
}

/** Output shapes seen per model and call signature, so repeated calls can skip the probing forward pass. */
const outputShapes = new WeakMap<object, Map<string, Shape>>();

function signature<T>(backend: Backend<T>, inputs: readonly T[], args: readonly unknown[]): string | undefined {
  const parts: string[] = [];
  for (const t of inputs) parts.push(`${backend.dtype(t)}${formatShape(backend.shape(t))}`);
  for (const a of args) {
    if (backend.isTensor(a)) parts.push(`${backend.dtype(a)}${formatShape(backend.shape(a))}`);
    else if (a === null || a === undefined || typeof a === 'number' || typeof a === 'string' || typeof a === 'boolean') parts.push(String(a));
    else return undefined;
  }
  return parts.join('|');
}

/**
 * Remembers the output shape of `model` on `inputs` and `args` (the whole batch), so that {@link probeModel} needs
 * no forward pass for this call signature when it needs no output values.
 */
export function recordOutputShape<T>(model: Model<T>, inputs: readonly T[], args: readonly unknown[], shape: Shape): void {
  const key = signature(model.backend, inputs, args);
  if (key === undefined) return;
  let perModel = outputShapes.get(model);
  if (!perModel) outputShapes.set(model, (perModel = new Map()));
  if (perModel.size > 64) perModel.clear();
  perModel.set(key, shape);
}

/**
 * Resolves the target against the model's output shape. The model runs once on the inputs when `needSums`
 * asks for `F(x)` or when this call signature has not been seen; its output is validated then.
 * `onePerExample` demands that the target leave one value per example (gradient methods).
 */
export async function probeModel<T>(
  model: Model<T>,
  inputs: readonly T[],
  args: readonly unknown[],
  spec: TargetSpec,
  onePerExample: boolean,
  scope: Scope<T>,
  needSums = true,
): Promise<Probe> {
  const backend = model.backend;
  const key = signature(backend, inputs, args);
  const known = key === undefined ? undefined : outputShapes.get(model)?.get(key);
  if (known && !needSums) return { selection: TargetSelection.resolve(spec, known, onePerExample) };
  const rows = backend.shape(inputs[0] as T)[0] as number;
  const { output, captured } = await model.forward({ inputs, args });
  scope.track(captured);
  const out = checkOutput(backend, scope.track(output), rows);
  const data = await backend.data(out);
  checkFiniteOutput(data);
  const shape = backend.shape(out);
  recordOutputShape(model, inputs, args, shape);
  const selection = TargetSelection.resolve(spec, shape, onePerExample);
  const selectedSums = selection.sums(toNumbers(data));
  scope.free([out, ...captured]);
  return { selection, selectedSums };
}

/**
 * `F(z)` per example: the summed selected outputs of the model on `inputs`, evaluated in batches of at
 * most `maxRows` rows.
 */
export async function selectedOutputSums<T>(
  model: Model<T>,
  inputs: readonly T[],
  args: readonly unknown[],
  selection: TargetSelection,
  maxRows: number | undefined,
  scope: Scope<T>,
): Promise<Float64Array> {
  const backend = model.backend;
  const rows = backend.shape(inputs[0] as T)[0] as number;
  const chunk = maxRows ?? rows;
  const out = new Float64Array(rows);
  for (let start = 0; start < rows; start += chunk) {
    const end = Math.min(rows, start + chunk);
    const part = start === 0 && end === rows ? inputs : inputs.map((t) => scope.track(sliceRows(backend, t, start, end)));
    const partArgs = sliceArgs(backend, args, start, end, scope);
    const { output, captured } = await model.forward({ inputs: part, args: partArgs });
    scope.track(captured);
    const o = checkOutput(backend, scope.track(output), end - start);
    out.set(selection.sums(toNumbers(await backend.data(o)), end - start, start), start);
    scope.free([o, ...captured]);
    if (part !== inputs) scope.free(part);
    scope.free(partArgs.filter((a): a is T => backend.isTensor(a) && !args.includes(a)));
  }
  return out;
}

/**
 * One gradient call: the gradient of the selected outputs (weights `outputWeights`) with respect to
 * `wrt`, checking the model's output. Frees everything but the gradients, which the caller owns.
 */
export async function targetGradients<T>(
  model: Model<T>,
  request: {
    readonly inputs: readonly T[];
    readonly args: readonly unknown[];
    readonly outputWeights: T;
    readonly wrt: Parameters<Model<T>['gradient']>[0]['wrt'];
    readonly replace?: Parameters<Model<T>['gradient']>[0]['replace'];
    readonly rule?: Parameters<Model<T>['gradient']>[0]['rule'];
    readonly of?: Parameters<Model<T>['gradient']>[0]['of'];
    readonly select?: Parameters<Model<T>['gradient']>[0]['select'];
  },
): Promise<readonly T[]> {
  const backend = model.backend;
  const result = await model.gradient(request);
  try {
    checkOutput(backend, result.output, backend.shape(request.outputWeights)[0] as number);
  } catch (e) {
    backend.dispose([...result.gradients, ...result.captured]);
    throw e;
  } finally {
    if (backend.isTensor(result.output)) backend.dispose(result.output);
  }
  backend.dispose(result.captured);
  return result.gradients;
}
