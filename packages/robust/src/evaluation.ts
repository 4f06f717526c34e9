import { checkOutput, checkTensor, repeatArgs, sliceRows, type Scope } from '@attribution/core';
import { ArgumentError, ShapeError, describeValue, formatShape, type Backend, type Model } from '@attribution/tensor';

/**
 * An attack that {@link AttackComparator} and {@link MinParamPerturbation} call: an object with a `perturb`
 * method ({@link FGSM}, {@link PGD}, or your own) or a plain function, called as `attack(inputs, kwargs)`
 * (sync or async) and returning the perturbed inputs.
 */
export type Attack<I = unknown> =
  | { perturb(inputs: I, kwargs: never): unknown }
  // A method's parameters compare bivariantly: a function of one input type fits an attack of a union of them.
  | { fn(inputs: I, kwargs: never): unknown }['fn'];

/** Checks an attack argument. */
export function checkAttack(value: unknown, argument = 'attack'): Attack<unknown> {
  if (typeof value === 'function') return value as Attack<unknown>;
  if (value !== null && typeof value === 'object' && typeof (value as { perturb?: unknown }).perturb === 'function') return value as Attack<unknown>;
  throw new ArgumentError(argument, 'an FGSM or PGD instance, an object with a perturb method, or a function (inputs, kwargs) => perturbed inputs', describeValue(value));
}

/** Calls an attack on `inputs` with keyword arguments. */
export async function callAttack(attack: Attack<unknown>, inputs: unknown, kwargs: Record<string, unknown>): Promise<unknown> {
  if (typeof attack === 'function') return (attack as (i: unknown, k: unknown) => unknown)(inputs, kwargs);
  return (attack as { perturb(i: unknown, k: unknown): unknown }).perturb(inputs, kwargs);
}

/** Every backend tensor in a value (a tensor or nested arrays). */
export function tensorsIn<T>(b: Backend<T>, value: unknown, out: T[] = []): T[] {
  if (b.isTensor(value)) out.push(value);
  else if (Array.isArray(value)) for (const v of value) tensorsIn(b, v, out);
  return out;
}

/** Checks model inputs (after preprocessing): a tensor or a non-empty array of tensors with one batch size. */
export function modelInputs<T>(b: Backend<T>, value: unknown, argument: string): T[] {
  const list = Array.isArray(value) ? (value as unknown[]) : [value];
  if (list.length === 0) throw new ArgumentError(argument, `a tensor of the ${b.name} backend or a non-empty array of them (model inputs)`, 'an empty array');
  const tensors = list.map((t, i) => checkTensor(b, Array.isArray(value) ? `${argument}[${i}]` : argument, t));
  const n = b.shape(tensors[0] as T)[0];
  for (const [i, t] of tensors.entries()) {
    const shape = b.shape(t);
    if (shape.length === 0 || shape[0] !== n) {
      throw new ShapeError(Array.isArray(value) ? `${argument}[${i}]` : argument, `a tensor whose dimension 0 is the batch (${n ?? '?'})`, `shape ${formatShape(shape)}`);
    }
  }
  return tensors;
}

/**
 * Runs the model on several model inputs at once (Captum's `_reduce_list`: joined along dimension 0, the
 * additional arguments repeated once per entry) and returns each entry's rows of the output (owned by `scope`).
 */
export async function forwardEach<T>(model: Model<T>, list: readonly (readonly T[])[], args: readonly unknown[], scope: Scope<T>): Promise<T[]> {
  const b = model.backend;
  const sizes = list.map((inputs) => b.shape(inputs[0] as T)[0] as number);
  const count = (list[0] as readonly T[]).length;
  for (const [i, inputs] of list.entries()) {
    if (inputs.length !== count) throw new ArgumentError('inputs', `${count} model input(s) in every perturbed input, as in the original`, `${inputs.length} in entry ${i}`);
  }
  const joined = list.length === 1 ? [...(list[0] as readonly T[])] : Array.from({ length: count }, (_, k) => scope.track(b.concat(list.map((inputs) => inputs[k] as T), 0)));
  const expanded = repeatArgs(b, args, list.length, scope);
  const total = sizes.reduce((a, s) => a + s, 0);
  const { output, captured } = await model.forward({ inputs: joined, args: expanded });
  scope.track(captured);
  scope.free([...captured]);
  const out = checkOutput(b, scope.track(output), total);
  if (list.length === 1) return [out];
  const parts: T[] = [];
  let start = 0;
  for (const size of sizes) {
    parts.push(scope.track(sliceRows(b, out, start, start + size)));
    start += size;
  }
  if (list.length > 1) {
    scope.free(joined);
    scope.free(expanded.filter((a): a is T => b.isTensor(a) && !args.includes(a)));
  }
  scope.free(out);
  return parts;
}
