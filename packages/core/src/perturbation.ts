import {
  ArgumentError,
  ModelError,
  isFloatDType,
  sizeOf,
  toNumbers,
  type Backend,
  type DType,
  type Model,
  type LayerRef,
  type Shape,
} from '@attribution/tensor';
import { normalizeArgs, repeatArgs } from './args.js';
import { broadcastData, hostNumbers } from './host.js';
import { checkTensor, prepareInputs, type PreparedInputs } from './inputs.js';
import { checkFiniteOutput, checkOutput, probeModel } from './model-calls.js';
import { throwIfAborted, type RunOptions } from './options.js';
import type { Scope } from './scope.js';
import { prepareTarget, targetRowLimit } from './resolve-target.js';
import type { TargetSelection } from './target.js';

/** Which positions of each input a feature covers: per input, one offset list shared by all examples or one per example. */
export type FeaturePositions = readonly (Int32Array | readonly Int32Array[] | undefined)[];

/** A set of interpretable features over the inputs (feature masks, occlusion windows, …). */
export interface FeatureSet {
  /** Feature ids, in processing order. */
  readonly ids: readonly number[];
  /** Positions (flat offsets within one example of each input) of the feature at `index` in `ids`. */
  positions(index: number): FeaturePositions;
}

/** What the perturbation methods share: host copies of inputs and baselines, the target, `F(x)`. */
export interface PerturbationCall<T> {
  readonly x: PreparedInputs<T>;
  readonly args: readonly unknown[];
  readonly selection: TargetSelection;
  /** Selected output values per example (`N × K`, row-major; for a mask target its weighted sum, K = 1). */
  readonly f0: Float64Array;
  /** Selected values per example. */
  readonly k: number;
  /** Input values per input, full shape, as float64. */
  readonly inputData: readonly Float64Array[];
  /** Baseline values per input broadcast to the full input shape, as float64. */
  readonly baselineData: readonly Float64Array[];
  /** Element type of each perturbed input. */
  readonly dtypes: readonly DType[];
  /**
   * Evaluates a batch of perturbed copies and returns the explained values (`copies·N × K`); by default the
   * model on the perturbed inputs with the target selected. Layer and neuron methods replace it.
   */
  readonly evaluate?: (batch: readonly T[], copies: number) => Promise<Float64Array>;
}

/** Per example size of each input. */
export function exampleSizes<T>(x: PreparedInputs<T>): number[] {
  return x.shapes.map((s) => sizeOf(s.slice(1)));
}

/**
 * Prepares a perturbation method: validates inputs (any numeric dtype), reads them and the baselines to the
 * host (a baseline may be a number, or any tensor broadcastable to its input), resolves the target and
 * evaluates `F(x)`.
 */
export async function preparePerturbationCall<T>(
  model: Model<T>,
  inputs: unknown,
  options: {
    readonly target?: unknown;
    readonly additionalForwardArgs?: unknown;
    readonly baselines?: unknown;
    readonly maxExamplesPerBatch?: unknown;
    readonly signal?: AbortSignal;
  },
  scope: Scope<T>,
): Promise<PerturbationCall<T>> {
  const b = model.backend;
  const x = await prepareInputs(b, inputs, { needsGradient: false });
  const args = normalizeArgs(options.additionalForwardArgs);
  const spec = await prepareTarget(model, options.target, x.tensors, args, scope, { maxRows: targetRowLimit(options), signal: options.signal });
  const { selection } = await probeModel(model, x.tensors, args, spec, false, scope, false);
  const k = selection.k;
  if (!selection.weighted && selection.positions.some((p) => p.length !== k)) throw new ArgumentError('target', 'the same number of outputs for every example', 'per-example targets of different sizes');
  const inputData = await Promise.all(x.tensors.map(async (t) => hostNumbers(await b.data(t))));
  const baselineData = await hostBaselines(b, options.baselines, x);
  const dtypes = x.tensors.map((t, i) => {
    const dtype = b.dtype(t);
    const fractional = !isFloatDType(dtype) && (baselineData[i] as Float64Array).some((v) => !Number.isInteger(v));
    return fractional ? 'float32' : dtype;
  });
  const f0 = (await evaluate(model, x.tensors, args, selection, 1, scope)).values;
  return { x, args, selection, f0, k, inputData, baselineData, dtypes };
}

/** Baselines for perturbation methods, on the host, broadcast to the full shape of each tensor of `x`. */
export async function hostBaselines<T>(b: Backend<T>, baselines: unknown, x: PreparedInputs<T>, argument = 'baselines'): Promise<Float64Array[]> {
  const count = x.tensors.length;
  let list: readonly unknown[];
  if (baselines === undefined || baselines === null) list = new Array<unknown>(count).fill(0);
  else if (Array.isArray(baselines)) {
    if (baselines.length !== count) throw new ArgumentError(argument, `one baseline per input (${count})`, `an array of ${baselines.length}`);
    list = baselines;
  } else if (typeof baselines === 'number' || x.single || count === 1) list = new Array<unknown>(count).fill(baselines);
  else throw new ArgumentError(argument, `a number or an array of ${count} baselines`, 'a single tensor for several inputs');
  return Promise.all(
    list.map(async (v, i) => {
      const name = x.single ? argument : `${argument}[${i}]`;
      const shape = x.shapes[i] as Shape;
      if (typeof v === 'number' || typeof v === 'boolean') {
        if (!Number.isFinite(Number(v))) throw new ArgumentError(name, 'a finite number or a tensor', String(v));
        return new Float64Array(sizeOf(shape)).fill(Number(v));
      }
      if (v === undefined || v === null) return new Float64Array(sizeOf(shape));
      const t = checkTensor(b, name, v);
      return broadcastData(toNumbers(await b.data(t)), b.shape(t), shape, name);
    }),
  );
}

/** The selected output values of one evaluation: `rows × K`, row-major. */
export interface Evaluation {
  readonly values: Float64Array;
}

/** Runs the model on a batch made of `copies` whole copies of the examples and returns the selected values. */
export async function evaluate<T>(
  model: Model<T>,
  inputs: readonly T[],
  args: readonly unknown[],
  selection: TargetSelection,
  copies: number,
  scope: Scope<T>,
  replace?: { readonly ref: LayerRef; readonly value: T },
): Promise<Evaluation> {
  const b = model.backend;
  const rows = b.shape((replace ? replace.value : inputs[0]) as T)[0] as number;
  const expanded = repeatArgs(b, args, copies, scope);
  const tiled = replace ? repeatArgs(b, inputs, copies, scope) as T[] : inputs;
  const { output, captured } = await model.forward({ inputs: tiled, args: expanded, replace: replace ? [replace] : undefined });
  scope.track([output, ...captured]);
  const out = checkOutput(b, output, rows);
  const data = toNumbers(await b.data(out));
  checkFiniteOutput(data);
  const values = selection.values(data, rows);
  scope.free([out, ...captured]);
  scope.free(expanded.filter((a): a is T => b.isTensor(a) && !args.includes(a)));
  if (replace) scope.free(tiled.filter((t) => !inputs.includes(t)));
  return { values };
}

/** How one copy of the batch is perturbed: start from a source, then overwrite some features from another. */
export interface Copy {
  /** Where values come from before the switches: the inputs or the baselines. */
  readonly base: 'input' | 'baseline';
  /**
   * Features (indices into the feature set) whose positions take values from `from`: the same for every
   * example, or one list per example.
   */
  readonly switched: readonly number[] | readonly (readonly number[])[];
  /** The source of switched positions (default: the other of `base`), or per-example row remapping of the inputs. */
  readonly from?: 'input' | 'baseline' | { readonly rows: Int32Array };
}

const nativeCopies = new WeakMap<Float64Array, Float32Array | Int32Array | Float64Array>();

/** `data` in element type `Native` (cached per array: a call composes many batches from the same inputs). */
function nativeCopy(data: Float64Array, Native: Float32ArrayConstructor | Int32ArrayConstructor | Float64ArrayConstructor): Float32Array | Int32Array | Float64Array {
  if (Native === Float64Array) return data;
  let copy = nativeCopies.get(data);
  if (!copy || copy.constructor !== Native) {
    copy = Native.from(data);
    nativeCopies.set(data, copy);
  }
  return copy;
}

/** What one slot of a reused batch buffer holds: its base, and the positions written over it since. */
interface SlotState {
  base?: 'input' | 'baseline';
  /** Position lists written over the base, with the example whose block they were written in. */
  readonly written: { list: Int32Array; example: number }[];
  /** Total positions in `written`. */
  count: number;
}

/**
 * Composes batches of perturbed copies into host buffers reused from batch to batch: a slot that held a
 * copy on the same base only has the positions written over it restored before the next copy's switches
 * are written, so a batch costs the size of the perturbations, not of the inputs (an occlusion window
 * rewrites a few hundred values of an image, not the image). Backends that keep the array a tensor was
 * made from see it change only after that tensor is freed, which `runCopies` does before composing again.
 */
export class BatchComposer<T> {
  /** Per batch size (copies), per input: the buffer and its slots. */
  private readonly buffers = new Map<number, { data: Float32Array | Int32Array | Float64Array; slots: SlotState[] }[]>();

  constructor(
    private readonly backend: Backend<T>,
    private readonly call: PerturbationCall<T>,
    private readonly features: FeatureSet,
  ) {}

  /** The backend tensors of a batch of `copies` perturbed copies, step-major (copy c occupies rows c·N … c·N+N−1). Owned by `scope`. */
  compose(copies: readonly Copy[], scope: Scope<T>): T[] {
    const { call, features } = this;
    const n = call.x.batchSize;
    const sizes = exampleSizes(call.x);
    let perInput = this.buffers.get(copies.length);
    if (!perInput) {
      perInput = call.x.tensors.map((_, t) => {
        // float32 and int32 copies are composed in their own element type: whole copies are then memcpy-fast.
        const Native = call.dtypes[t] === 'float32' ? Float32Array : call.dtypes[t] === 'int32' ? Int32Array : Float64Array;
        return { data: new Native(copies.length * n * (sizes[t] as number)), slots: copies.map(() => ({ written: [], count: 0 })) };
      });
      this.buffers.set(copies.length, perInput);
    }
    return call.x.tensors.map((_, t) => {
      const per = sizes[t] as number;
      const block = n * per;
      const { data: out, slots } = perInput[t] as { data: Float32Array | Int32Array | Float64Array; slots: SlotState[] };
      const Native = out.constructor as Float32ArrayConstructor | Int32ArrayConstructor | Float64ArrayConstructor;
      const input = nativeCopy(call.inputData[t] as Float64Array, Native);
      const baseline = nativeCopy(call.baselineData[t] as Float64Array, Native);
      copies.forEach((copy: Copy, c) => {
        const offset = c * block;
        const slot = slots[c] as SlotState;
        const base = copy.base === 'input' ? input : baseline;
        if (slot.base !== copy.base || slot.count * 4 > block) {
          out.set(base, offset);
        } else {
          for (const { list, example } of slot.written) {
            const target = offset + example * per;
            const source = example * per;
            for (let k = 0; k < list.length; k++) {
              const p = list[k] as number;
              out[target + p] = base[source + p] as number;
            }
          }
        }
        slot.base = copy.base;
        slot.written.length = 0;
        slot.count = 0;
        const from = copy.from ?? (copy.base === 'input' ? 'baseline' : 'input');
        // Example i of this copy takes feature f's positions from the source (a row remap reads other inputs' rows).
        const switchIn = (f: number, i: number): void => {
          const where = features.positions(f)[t];
          if (!where) return;
          const list = where instanceof Int32Array ? where : (where[i] as Int32Array);
          const target = offset + i * per;
          const src = typeof from === 'string' ? (from === 'input' ? input : baseline) : input;
          const row = typeof from === 'string' ? i : (from.rows[i] as number);
          for (let k = 0; k < list.length; k++) {
            const p = list[k] as number;
            out[target + p] = src[row * per + p] as number;
          }
          slot.written.push({ list, example: i });
          slot.count += list.length;
        };
        if (Array.isArray(copy.switched[0])) {
          (copy.switched as readonly (readonly number[])[]).forEach((own, i) => {
            for (const f of own) switchIn(f, i);
          });
        } else {
          for (const f of copy.switched as readonly number[]) for (let i = 0; i < n; i++) switchIn(f, i);
        }
      });
      const shape = call.x.shapes[t] as Shape;
      return scope.track(this.backend.tensor(out, [copies.length * n, ...shape.slice(1)], call.dtypes[t]));
    });
  }
}

/**
 * Builds the backend tensors of a batch made of `copies` perturbed copies of the examples, step-major
 * (copy c occupies rows c·N … c·N+N−1). Owned by `scope`.
 */
export function composeBatch<T>(backend: Backend<T>, call: PerturbationCall<T>, features: FeatureSet, copies: readonly Copy[], scope: Scope<T>): T[] {
  return new BatchComposer(backend, call, features).compose(copies, scope);
}

/** Runs perturbed copies in groups of at most `perEval` copies and hands each group's values to `consume`. */
export async function runCopies<T>(
  model: Model<T>,
  call: PerturbationCall<T>,
  features: FeatureSet,
  copies: readonly Copy[],
  perEval: number,
  scope: Scope<T>,
  run: RunOptions & { readonly progress?: { done: number; total: number } },
  consume: (first: number, values: Float64Array) => void,
): Promise<void> {
  const composer = new BatchComposer(model.backend, call, features);
  for (let start = 0; start < copies.length; start += perEval) {
    throwIfAborted(run.signal);
    const group = copies.slice(start, start + perEval);
    const batch = composer.compose(group, scope);
    const values = call.evaluate ? await call.evaluate(batch, group.length) : (await evaluate(model, batch, call.args, call.selection, group.length, scope)).values;
    scope.free(batch);
    consume(start, values);
    if (run.progress) {
      run.progress.done++;
      run.onProgress?.({ done: run.progress.done, total: run.progress.total });
    }
  }
}

/** Checks `perturbationsPerEval`. */
export function checkPerturbationsPerEval(value: unknown): number {
  if (value === undefined) return 1;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new ArgumentError('perturbationsPerEval', 'an integer ≥ 1', String(value));
  }
  return value;
}

/** Puts host attributions (float64, per input) back into backend tensors of the given shapes. Owned by `scope`. */
export function attributionTensors<T>(backend: Backend<T>, data: readonly Float64Array[], shapes: readonly Shape[], scope: Scope<T>): T[] {
  return data.map((d, i) => {
    for (const v of d) if (!Number.isFinite(v)) throw new ModelError(`Attributions for input ${i} contain ${v}.`);
    return scope.track(backend.tensor(d, shapes[i] as Shape, 'float32'));
  });
}

/** Adds `d(i, j)` to every position of a feature for example `i` and selected output `j` (rows `i·K + j`). */
export function creditFeature(
  attr: readonly Float64Array[],
  sizes: readonly number[],
  where: FeaturePositions,
  n: number,
  k: number,
  d: (i: number, j: number) => number,
): void {
  where.forEach((w, t) => {
    if (!w) return;
    const per = sizes[t] as number;
    const row = attr[t] as Float64Array;
    for (let i = 0; i < n; i++) {
      const list = w instanceof Int32Array ? w : (w[i] as Int32Array);
      for (let j = 0; j < k; j++) {
        const v = d(i, j);
        const base = (i * k + j) * per;
        for (const p of list) row[base + p] = (row[base + p] as number) + v;
      }
    }
  });
}

/**
 * Feature ablation over `call`'s perturbed tensors: every feature in turn takes its baseline value and the
 * change of the explained values is credited to its positions. Returns host attributions per tensor
 * (`N·K` rows each).
 */
export async function ablateFeatures<T>(
  model: Model<T>,
  call: PerturbationCall<T>,
  features: FeatureSet,
  perEval: number,
  scope: Scope<T>,
  run: RunOptions,
): Promise<Float64Array[]> {
  const { k, f0 } = call;
  const n = call.x.batchSize;
  const sizes = exampleSizes(call.x);
  const attr = sizes.map((per) => new Float64Array(n * k * per));
  const copies: Copy[] = features.ids.map((_, f) => ({ base: 'input', switched: [f] }));
  // The first model call, F(x), ran in preparePerturbationCall.
  const progress = { done: 1, total: 1 + Math.ceil(copies.length / perEval) };
  run.onProgress?.({ ...progress });
  await runCopies(model, call, features, copies, perEval, scope, { ...run, progress }, (first, values) => {
    for (let c = 0; c * n * k < values.length; c++) {
      creditFeature(attr, sizes, features.positions(first + c), n, k, (i, j) => (f0[i * k + j] as number) - (values[(c * n + i) * k + j] as number));
    }
  });
  return attr;
}

/** A random permutation of `0 … n−1` that is not the identity (FeaturePermutation's shuffles; `n ≥ 2`). */
export function derangedOrder(n: number, rng: { int(n: number): number }): Int32Array {
  for (;;) {
    const p = Int32Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [p[i], p[j]] = [p[j] as number, p[i] as number];
    }
    if (p.some((v, i) => v !== i)) return p;
  }
}
