import {
  broadcastData,
  checkOutput,
  exampleRanges,
  hostNumbers,
  sliceArgs,
  throwIfAborted,
  type PreparedLoss,
  type Scope,
} from '@attribution/core';
import { ArgumentError, describeValue, formatShape, sizeOf, type Backend, type Model, type Shape } from '@attribution/tensor';

/** One input held on the host while an attack iterates: its values (row-major), shape and dtype. */
export interface HostInput {
  data: Float32Array | Float64Array;
  readonly shape: Shape;
  readonly dtype: 'float32' | 'float64';
}

/** Rounds to the input's precision: float32 inputs compute each operation in float32, as PyTorch does. */
export const rounder = (dtype: 'float32' | 'float64'): ((x: number) => number) => (dtype === 'float32' ? Math.fround : (x: number) => x);

/** Reads input tensors to the host (float32, or float64 when the tensor is float64). */
export async function toHost<T>(b: Backend<T>, tensors: readonly T[]): Promise<HostInput[]> {
  return Promise.all(
    tensors.map(async (t) => {
      const dtype = b.dtype(t) === 'float64' ? 'float64' : 'float32';
      const raw = await b.data(t);
      const data = dtype === 'float64' ? Float64Array.from(hostNumbers(raw)) : Float32Array.from(raw as ArrayLike<number>);
      return { data, shape: b.shape(t), dtype } as HostInput;
    }),
  );
}

/** Makes tensors of host inputs (owned by the caller). */
export function fromHost<T>(b: Backend<T>, inputs: readonly HostInput[]): T[] {
  return inputs.map((h) => b.tensor(h.data.slice(), h.shape, h.dtype));
}

/** A finite number option. */
export function checkNumber(argument: string, value: unknown, min = -Infinity): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new ArgumentError(argument, min === -Infinity ? 'a finite number' : `a finite number ≥ ${min}`, describeValue(value));
  }
  return value;
}

/** Checks `lowerBound` and `upperBound` (numbers, ±Infinity allowed, lower ≤ upper). */
export function checkBounds(lower: unknown, upper: unknown): [number, number] {
  const lo = lower ?? -Infinity;
  const hi = upper ?? Infinity;
  if (typeof lo !== 'number' || Number.isNaN(lo)) throw new ArgumentError('lowerBound', 'a number (−Infinity: none)', describeValue(lower));
  if (typeof hi !== 'number' || Number.isNaN(hi)) throw new ArgumentError('upperBound', 'a number (Infinity: none)', describeValue(upper));
  if (lo > hi) throw new ArgumentError('upperBound', `a number ≥ lowerBound (${lo})`, String(hi));
  return [lo, hi];
}

/**
 * The `mask` option on the host: one array per input, broadcast to that input's shape, or `undefined` (all ones).
 * A single input takes a tensor; several take an array with one tensor per input.
 */
export async function hostMasks<T>(b: Backend<T>, mask: unknown, inputs: readonly T[], single: boolean): Promise<Float64Array[] | undefined> {
  if (mask === undefined || mask === null) return undefined;
  const list: readonly unknown[] = single && !Array.isArray(mask) ? [mask] : Array.isArray(mask) ? mask : [mask];
  if (list.length !== inputs.length) {
    throw new ArgumentError('mask', `${single ? 'one tensor' : `one tensor per input (${inputs.length})`}`, Array.isArray(mask) ? `an array of ${mask.length}` : describeValue(mask));
  }
  return Promise.all(
    list.map(async (m, i) => {
      const name = single ? 'mask' : `mask[${i}]`;
      if (!b.isTensor(m)) throw new ArgumentError(name, `a tensor of the ${b.name} backend shaped like its input`, describeValue(m));
      const shape = b.shape(inputs[i] as T);
      const data = broadcastData(hostNumbers(await b.data(m)), b.shape(m), shape, name);
      for (let k = 0; k < data.length; k++) {
        if (!Number.isFinite(data[k] as number)) throw new ArgumentError(name, 'finite values', `${describeValue(data[k])} at flat index ${k} (mask of shape ${formatShape(b.shape(m))})`);
      }
      return data;
    }),
  );
}

/** Clamps host values to `[lo, hi]` in place (PyTorch's `clamp`). */
export function clampInPlace(h: HostInput, lo: number, hi: number): void {
  if (lo === -Infinity && hi === Infinity) return;
  const r = rounder(h.dtype);
  const l = r(lo);
  const u = r(hi);
  const d = h.data;
  for (let k = 0; k < d.length; k++) d[k] = Math.min(Math.max(d[k] as number, l), u);
}

/** What one sign step needs. */
export interface StepContext<T> {
  readonly model: Model<T>;
  readonly args: readonly unknown[];
  readonly loss: PreparedLoss<T>;
  readonly maxRows: number | undefined;
  readonly signal: AbortSignal | undefined;
  readonly scope: Scope<T>;
}

/**
 * The gradient of the summed loss with respect to each input at `current` (forward → host ∂L/∂output →
 * vector-Jacobian product), in calls of at most `maxRows` examples.
 */
export async function lossGradients<T>(ctx: StepContext<T>, current: readonly HostInput[]): Promise<Float64Array[]> {
  const { model, scope } = ctx;
  const b = model.backend;
  const n = current[0]?.shape[0] as number;
  const grads = current.map((h) => new Float64Array(h.data.length));
  for (const [start, end] of exampleRanges(n, 1, ctx.maxRows)) {
    throwIfAborted(ctx.signal);
    const part = current.map((h) => {
      const row = sizeOf(h.shape.slice(1));
      return scope.track(b.tensor(h.data.slice(start * row, end * row), [end - start, ...h.shape.slice(1)], h.dtype));
    });
    const partArgs = sliceArgs(b, ctx.args, start, end, scope);
    const forward = await model.forward({ inputs: part, args: partArgs });
    scope.track(forward.captured);
    const output = checkOutput(b, scope.track(forward.output), end - start);
    const { gradient: weights } = await ctx.loss.compute(output, start);
    scope.track(weights);
    scope.free([output, ...forward.captured]);
    const result = await model.gradient({ inputs: part, args: partArgs, outputWeights: weights, wrt: part.map((_, k) => ({ input: k })) });
    scope.track([result.output, ...result.captured, ...result.gradients]);
    for (let k = 0; k < part.length; k++) {
      const g = hostNumbers(await b.data(result.gradients[k] as T));
      const row = sizeOf((current[k] as HostInput).shape.slice(1));
      (grads[k] as Float64Array).set(g.subarray(0, (end - start) * row), start * row);
    }
    scope.free([weights, result.output, ...result.captured, ...result.gradients, ...part, ...partArgs.filter((a): a is T => b.isTensor(a) && !ctx.args.includes(a))]);
  }
  return grads;
}

/** PyTorch's `sign`. */
const sign = (x: number): number => (x > 0 ? 1 : x < 0 ? -1 : 0);

/**
 * One FGSM step in place (Captum's `FGSM._perturb`): `x ± ε·sign(∇)·mask` where `|∇| > 1e-6`, `x` elsewhere;
 * `+` untargeted, `−` targeted; each operation rounded to the input's precision as PyTorch computes it.
 */
export function applySignStep(h: HostInput, grad: Float64Array, epsilon: number, targeted: boolean, mask: Float64Array | undefined): void {
  const r = rounder(h.dtype);
  const scaled = r((targeted ? -1 : 1) * epsilon);
  const thresh = r(1e-6);
  const d = h.data;
  for (let k = 0; k < d.length; k++) {
    const g = r(grad[k] as number);
    if (!(Math.abs(g) > thresh)) continue;
    let delta = r(scaled * sign(g));
    if (mask) delta = r(delta * (mask[k] as number));
    d[k] = r((d[k] as number) + delta);
  }
}
