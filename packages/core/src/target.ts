import {
  ArgumentError,
  ShapeError,
  TargetError,
  closestName,
  describeChoices,
  describeValue,
  formatShape,
  sizeOf,
  stridesOf,
  toNumbers,
  type Backend,
  type Shape,
} from '@attribution/tensor';
import type { Scope } from './scope.js';

/**
 * Which model output to explain, per Captum's conventions:
 * - `number` — the same output index for every example (`output[:, t]`; negative counts from the end);
 * - `number[]` — one index per example (2-D outputs);
 * - `number[][]` — one index tuple per example (`output[i, ...tuple]`);
 * - `{ index: number[] }` — the same index tuple for every example (`output[:, a, b, …]`);
 * - a backend tensor holding one index per example, or a single index;
 * - `{ mask: tensor }` — a weight tensor over the whole output (see {@link TargetMask}): the explained value of
 *   example `i` is `Σ output[i] ⊙ mask[i]`;
 * - `'predicted'` — each example's predicted class: the argmax of the model output on the inputs over the
 *   non-batch dimensions (an index for `[N, C]` outputs, an index tuple for higher ranks; ties go to the first
 *   largest value, as `argmax` in PyTorch and NumPy). One forward pass on the original inputs per `attribute`
 *   call, before any noise, steps or perturbations; it always means the argmax, even when a class is named
 *   "predicted";
 * - `string` — a class name, the same for every example, looked up in the model's `labels` (the `labels`
 *   option of `fromTfjs` and `fromOnnx`; a `[N, C]` output);
 * - `(string | number)[]` — one class name (or index) per example.
 * Omit it when the model returns one value per example.
 */
export type Target<T = never> =
  | number
  | readonly number[]
  | readonly (readonly number[])[]
  | { readonly index: readonly number[] }
  | TargetMask<T>
  | 'predicted'
  | (string & {})
  | readonly (number | string)[];

/**
 * A structured target: a weight tensor over the model output (a segmentation mask, a set of boxes' scores, a
 * token span). The explained value of example `i` is `Σ output[i] ⊙ mask[i]`, one value per example, as Captum
 * on the forward `(model(x) * mask).sum(non-batch dims)`.
 *
 * The mask broadcasts against the output as `output * mask` does in NumPy (dimensions aligned on the right;
 * a size-1 dimension stretches), and may not enlarge it. Of rank lower than the output (e.g. the output's shape
 * without the batch dimension) it is shared by every example; of the output's rank, its dimension 0 is the
 * batch: `N` (one mask per example) or 1 (shared). Any numeric or boolean dtype; values must be finite and may
 * be negative (`mask = onehot(a) − onehot(b)` explains the margin between two outputs).
 */
export interface TargetMask<T> {
  /** Weights over the output: `[…output shape without the batch dimension]` (shared) or `[N, …]` (per example). */
  readonly mask: T;
}

/** A target checked for its form, before the output shape is known. */
export type TargetSpec =
  | { readonly kind: 'none' }
  | {
      readonly kind: 'shared';
      readonly index: readonly number[];
      readonly tuple: boolean;
      /** When the target named a class: the number of class names it was looked up in (the output's classes). */
      readonly labels?: number;
    }
  | {
      readonly kind: 'each';
      readonly indices: readonly (readonly number[])[];
      readonly tuple: boolean;
      /** When the target named a class: the number of class names it was looked up in (the output's classes). */
      readonly labels?: number;
    }
  | {
      readonly kind: 'mask';
      /** The mask's values, row-major. */
      readonly data: Float64Array;
      readonly shape: Shape;
      /** Rows of the batch per mask row, when the batch repeats every example in place (1: none). */
      readonly interleave: number;
    };

/**
 * Marks a `{ mask }` target whose batch repeats every example `n` times in place (example-major), so a
 * per-example mask row serves `n` consecutive rows. Set by {@link repeatInterleaveTarget}; not public API.
 */
const INTERLEAVE = Symbol('attribution.target.interleave');

/** The dtypes a target mask may have. */
const MASK_DTYPES = new Set(['float32', 'float64', 'int32', 'int64', 'bool']);

/** Checks a `{ mask }` target: a finite numeric tensor of `backend`, with no other key. */
async function normalizeMask<T>(backend: Backend<T>, target: object): Promise<TargetSpec> {
  const keys = Object.keys(target);
  if (keys.length !== 1) {
    const others = keys.filter((k) => k !== 'mask');
    throw new TargetError(
      '{ mask: tensor } alone',
      `a mask with ${others.map((k) => `'${k}'`).join(', ')}`,
      others.includes('index') ? 'A mask already weighs every output value; select an index by putting weights only there.' : undefined,
    );
  }
  const mask = (target as { mask: unknown }).mask;
  if (!backend.isTensor(mask)) throw new TargetError(`{ mask } holding a tensor of the ${backend.name} backend (a weight per output value)`, `{ mask: ${describeValue(mask)} }`);
  const dtype = backend.dtype(mask);
  if (!MASK_DTYPES.has(dtype)) throw new TargetError('a mask of numbers or booleans (float32, float64, int32, int64 or bool)', `a ${dtype} tensor`);
  const data = toNumbers(await backend.data(mask));
  for (let i = 0; i < data.length; i++) {
    const v = data[i] as number;
    if (!Number.isFinite(v)) throw new TargetError('a mask of finite weights', `${describeValue(v)} at flat index ${i} of a mask of shape ${formatShape(backend.shape(mask))}`);
  }
  const repeat = (target as { [INTERLEAVE]?: number })[INTERLEAVE] ?? 1;
  return { kind: 'mask', data, shape: [...backend.shape(mask)], interleave: repeat };
}

function isIndex(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v);
}

/** The index of class `name` in `labels` (the model's class names); `example` says which example's it is. */
function labelIndex(name: string, labels: readonly string[] | undefined, example?: number): number {
  const where = example === undefined ? '' : ` (example ${example})`;
  const index = labels ? labels.indexOf(name) : -1;
  if (index >= 0) return index;
  if (name === 'predicted') {
    throw new TargetError("'predicted' alone (each example's predicted class), or one index or class name per example", `'predicted' in a list${where}`);
  }
  if (!labels) {
    throw new TargetError(
      'an output index: the model has no class names to look a name up in',
      `the name ${describeValue(name)}${where}`,
      'Pass labels (one class name per index of the output) to fromTfjs or fromOnnx to name classes.',
    );
  }
  const guess = closestName(name, labels);
  throw new TargetError(describeChoices('model labels', name, labels, 'model.labels lists them all'), `${describeValue(name)}${where}`, guess ? `Did you mean '${guess}'?` : undefined);
}

/**
 * Checks the form of `target` for a batch of `batchSize` examples (a tensor target is read back) and looks class
 * names up in `labels` (the model's). `'predicted'` must have been resolved against the model before (see
 * `prepareTarget`).
 */
export async function normalizeTarget<T>(backend: Backend<T>, target: unknown, batchSize: number, labels?: readonly string[]): Promise<TargetSpec> {
  if (target === undefined || target === null) return { kind: 'none' };
  if (isIndex(target)) return { kind: 'shared', index: [target], tuple: false };
  if (target === 'predicted') {
    throw new TargetError(
      "a target resolved against the model: 'predicted' needs the model's output on the inputs",
      "'predicted'",
      'Resolve it with prepareTarget or resolveTarget of @attribution/core first.',
    );
  }
  if (typeof target === 'string') return { kind: 'shared', index: [labelIndex(target, labels)], tuple: false, labels: labels?.length };
  if (backend.isTensor(target)) {
    const values = Array.from(toNumbers(await backend.data(target)));
    if (!values.every(isIndex)) throw new TargetError('integer indices', 'a tensor with non-integer values');
    if (values.length === 1) return { kind: 'shared', index: [values[0] as number], tuple: false };
    if (backend.shape(target).length !== 1 || values.length !== batchSize) {
      throw new TargetError(`a single index or one index per example (${batchSize})`, `a tensor of shape ${formatShape(backend.shape(target))}`);
    }
    return { kind: 'each', indices: values.map((v) => [v]), tuple: false };
  }
  if (typeof target === 'object' && !Array.isArray(target) && 'mask' in target) return normalizeMask(backend, target);
  if (typeof target === 'object' && !Array.isArray(target) && 'index' in target) {
    const index = (target as { index: unknown }).index;
    if (!Array.isArray(index) || index.length === 0 || !index.every(isIndex)) {
      throw new TargetError('{ index: [...] } with a non-empty array of integers', describeValue(index));
    }
    return { kind: 'shared', index: index as number[], tuple: true };
  }
  if (Array.isArray(target)) {
    if (target.length !== batchSize) {
      throw new TargetError(
        `one target per example (${batchSize} entries)`,
        `an array of ${target.length}`,
        'For the same index tuple for every example, pass { index: [...] }.',
      );
    }
    if (target.every(isIndex)) return { kind: 'each', indices: (target as number[]).map((t) => [t]), tuple: false };
    if (target.every((t) => isIndex(t) || typeof t === 'string')) {
      // Class names, with or without indices: one class per example.
      const indices = (target as (number | string)[]).map((t, i) => [typeof t === 'string' ? labelIndex(t, labels, i) : t]);
      return { kind: 'each', indices, tuple: false, labels: labels?.length };
    }
    if (target.every((t) => Array.isArray(t) && t.length > 0 && t.every(isIndex))) {
      return { kind: 'each', indices: target as number[][], tuple: true };
    }
    throw new TargetError('integers, class names or integer tuples, one per example', describeValue(target));
  }
  throw new TargetError("an integer, a class name, 'predicted', an array with one entry per example, { index: [...] } or { mask: tensor }", describeValue(target));
}

/**
 * A target resolved against the model's output shape: for each example, the flat positions (within that
 * example's output row) whose values are explained, and for a mask target the weight of each.
 */
export class TargetSelection {
  private readonly weightCache = new Map<string, unknown>();

  private constructor(
    /** The model output shape for the batch, dimension 0 = examples. */
    readonly outputShape: Shape,
    /** Selected positions within each example's output row (one list per example). */
    readonly positions: readonly Int32Array[],
    /**
     * For a mask target, the weight of each selected position (one list per example, parallel to `positions`):
     * the example's explained value is then the one weighted sum. Absent: every selected value counts by itself.
     */
    readonly coefficients?: readonly Float64Array[],
  ) {}

  /** A selection of the same positions (flat offsets within one example's row) for each of `examples` rows. */
  static fromPositions(shape: Shape, positions: Int32Array): TargetSelection {
    const n = shape[0] ?? 0;
    return new TargetSelection(shape, new Array<Int32Array>(n).fill(positions));
  }

  /** The selection for examples `[start, end)` only. */
  subset(start: number, end: number): TargetSelection {
    if (start === 0 && end === this.positions.length) return this;
    return new TargetSelection([end - start, ...this.outputShape.slice(1)], this.positions.slice(start, end), this.coefficients?.slice(start, end));
  }

  /** The selection for a batch whose rows are the given examples (by index). */
  pick(examples: readonly number[]): TargetSelection {
    const positions = examples.map((i) => this.positions[i] as Int32Array);
    const coefficients = this.coefficients && examples.map((i) => this.coefficients?.[i] as Float64Array);
    return new TargetSelection([positions.length, ...this.outputShape.slice(1)], positions, coefficients);
  }

  /** The selection for a batch where every example is repeated `times` times in a row (example-major). */
  repeatInterleave(times: number): TargetSelection {
    const positions = this.positions.flatMap((p) => new Array<Int32Array>(times).fill(p));
    const coefficients = this.coefficients?.flatMap((c) => new Array<Float64Array>(times).fill(c));
    return new TargetSelection([positions.length, ...this.outputShape.slice(1)], positions, coefficients);
  }

  /** Output values per example. */
  get rowSize(): number {
    return sizeOf(this.outputShape.slice(1));
  }

  /** Whether the selection weighs the output (a mask target): one explained value per example. */
  get weighted(): boolean {
    return this.coefficients !== undefined;
  }

  /** Explained values per example (`K`): 1 for a mask, else the number of selected positions of example 0. */
  get k(): number {
    return this.coefficients ? 1 : (this.positions[0]?.length ?? 1);
  }

  /**
   * Resolves `spec` against `outputShape`. With `onePerExample` (gradient methods) the selection must
   * leave exactly one value per example, as Captum requires.
   */
  static resolve(spec: TargetSpec, outputShape: Shape, onePerExample: boolean): TargetSelection {
    const n = outputShape[0] ?? 0;
    const rest = outputShape.slice(1);
    const rowSize = sizeOf(rest);
    const shapeText = formatShape(outputShape);
    if (spec.kind === 'mask') return TargetSelection.resolveMask(spec, outputShape);
    if (spec.kind === 'none') {
      if (onePerExample && rowSize !== 1) {
        throw new TargetError(
          `an output index: the model output has shape ${shapeText}, ${rowSize} values per example, and gradient methods explain one`,
          'no target',
        );
      }
      const all = Int32Array.from({ length: rowSize }, (_, j) => j);
      return new TargetSelection(outputShape, new Array<Int32Array>(n).fill(all));
    }
    if (spec.labels !== undefined) {
      // Class names index the classes of a [N, C] output, and there must be one name per class.
      if (rest.length !== 1) {
        throw new TargetError(
          `a class index per example or an index tuple: class names pick a class of a [N, C] output, and the model output has shape ${shapeText}`,
          'a class name',
        );
      }
      if (rest[0] !== spec.labels) {
        throw new ArgumentError('labels', `one class name per class of the model output (${rest[0]}: output shape ${shapeText})`, `${spec.labels} names`);
      }
    }
    const strides = stridesOf(rest);
    const select = (index: readonly number[], tuple: boolean): Int32Array => {
      if (rest.length === 0) {
        throw new TargetError(`no target: the model output has shape ${shapeText}, one value per example`, describeValue(tuple ? index : index[0]));
      }
      if (!tuple && spec.kind === 'each' && rest.length !== 1) {
        throw new TargetError(
          `one index tuple per example: per-example integer targets need a 2-D output, and the output has shape ${shapeText}`,
          describeValue(index[0]),
        );
      }
      if (index.length > rest.length) {
        throw new TargetError(`at most ${rest.length} indices for output shape ${shapeText}`, `${index.length} (${describeValue(index)})`);
      }
      let offset = 0;
      for (let d = 0; d < index.length; d++) {
        const size = rest[d] as number;
        const raw = index[d] as number;
        const v = raw < 0 ? raw + size : raw;
        if (v < 0 || v >= size) {
          throw new TargetError(
            `an index in [${-size}, ${size}) for dimension ${d + 1} of output shape ${shapeText}`,
            tuple ? `${raw} in ${describeValue(index)}` : String(raw),
          );
        }
        offset += v * (strides[d] as number);
      }
      const blockSize = index.length < rest.length ? (strides[index.length - 1] as number) : 1;
      if (onePerExample && blockSize !== 1) {
        throw new TargetError(
          `an index tuple that selects one value per example (output shape ${shapeText})`,
          `${describeValue(index)}, which selects ${blockSize}`,
          `Use { index: [${[...index, ...rest.slice(index.length).map(() => 0)].join(', ')}] } or similar.`,
        );
      }
      return Int32Array.from({ length: blockSize }, (_, j) => offset + j);
    };
    if (spec.kind === 'shared') {
      const pos = select(spec.index, spec.tuple);
      return new TargetSelection(outputShape, new Array<Int32Array>(n).fill(pos));
    }
    if (spec.indices.length !== n) {
      throw new TargetError(`one target per example (${n})`, `${spec.indices.length} targets`);
    }
    return new TargetSelection(
      outputShape,
      spec.indices.map((index) => select(index, spec.tuple)),
    );
  }

  /**
   * A mask target against `outputShape`: broadcast as `output * mask` (NumPy rules, no enlarging); of the
   * output's rank with dimension 0 ≠ 1 it holds one row per example (per `interleave` rows of the batch).
   */
  private static resolveMask(spec: Extract<TargetSpec, { kind: 'mask' }>, outputShape: Shape): TargetSelection {
    const n = outputShape[0] ?? 0;
    const rest = outputShape.slice(1);
    const rowSize = sizeOf(rest);
    const m = spec.shape;
    const perExample = m.length === outputShape.length && m[0] !== 1;
    const examples = n / spec.interleave;
    const expected = (): string =>
      `a mask that broadcasts to the output shape ${formatShape(outputShape)}: ${formatShape(rest)} (or with size-1 dimensions) for one mask shared by every example, or ${formatShape([examples, ...rest])} for one per example`;
    if (m.length > outputShape.length || (perExample && m[0] !== examples)) throw new ShapeError('target', expected(), `a mask of shape ${formatShape(m)}`);
    // The mask's shape within one example's row: the batch dimension (if any) dropped, aligned on the right.
    const inner = m.length === outputShape.length ? m.slice(1) : m;
    const lead = rest.length - inner.length;
    if (inner.some((d, i) => d !== 1 && d !== rest[lead + i])) throw new ShapeError('target', expected(), `a mask of shape ${formatShape(m)}`);
    const innerStrides = stridesOf(inner);
    const restStrides = stridesOf(rest);
    const innerSize = sizeOf(inner);
    // Offset in one mask row of each output position.
    const source = new Int32Array(rowSize);
    for (let j = 0; j < rowSize; j++) {
      let offset = 0;
      for (let d = lead; d < rest.length; d++) {
        if (inner[d - lead] === 1) continue;
        const coordinate = Math.floor(j / (restStrides[d] as number)) % (rest[d] as number);
        offset += coordinate * (innerStrides[d - lead] as number);
      }
      source[j] = offset;
    }
    const rowOf = (r: number): { positions: Int32Array; coefficients: Float64Array } => {
      const base = r * innerSize;
      let count = 0;
      for (let j = 0; j < rowSize; j++) if (spec.data[base + (source[j] as number)] !== 0) count++;
      const positions = new Int32Array(count);
      const coefficients = new Float64Array(count);
      let q = 0;
      for (let j = 0; j < rowSize; j++) {
        const w = spec.data[base + (source[j] as number)] as number;
        if (w === 0) continue;
        positions[q] = j;
        coefficients[q++] = w;
      }
      return { positions, coefficients };
    };
    const rows = perExample ? Array.from({ length: examples }, (_, r) => rowOf(r)) : [rowOf(0)];
    const at = (i: number): { positions: Int32Array; coefficients: Float64Array } =>
      rows[perExample ? Math.floor(i / spec.interleave) : 0] as { positions: Int32Array; coefficients: Float64Array };
    return new TargetSelection(
      outputShape,
      Array.from({ length: n }, (_, i) => at(i).positions),
      Array.from({ length: n }, (_, i) => at(i).coefficients),
    );
  }

  /**
   * Per-example sums of the selected values (weighted, for a mask) of an output holding `rows` rows
   * (row-major `data`); row `r` belongs to example `(firstRow + r) mod n`, so batches of repeated copies work too.
   */
  sums(data: ArrayLike<number>, rows = this.positions.length, firstRow = 0): Float64Array {
    const out = new Float64Array(rows);
    const rowSize = this.rowSize;
    const n = this.positions.length;
    for (let r = 0; r < rows; r++) {
      const pos = this.positions[(firstRow + r) % n] as Int32Array;
      const coef = this.coefficients?.[(firstRow + r) % n];
      let s = 0;
      if (coef) for (let j = 0; j < pos.length; j++) s += (coef[j] as number) * (data[r * rowSize + (pos[j] as number)] as number);
      else for (let j = 0; j < pos.length; j++) s += data[r * rowSize + (pos[j] as number)] as number;
      out[r] = s;
    }
    return out;
  }

  /**
   * The explained values of an output holding `rows` rows (row-major `data`; row `r` belongs to example
   * `r mod n`): `rows × K`, row-major. Without a mask, the selected values themselves; with one, its weighted sum.
   */
  values(data: ArrayLike<number>, rows: number): Float64Array {
    if (this.coefficients) return this.sums(data, rows);
    const k = this.k;
    const rowSize = this.rowSize;
    const n = this.positions.length;
    const values = new Float64Array(rows * k);
    for (let r = 0; r < rows; r++) {
      const pos = this.positions[r % n] as Int32Array;
      for (let j = 0; j < k; j++) values[r * k + j] = data[r * rowSize + (pos[j] as number)] as number;
    }
    return values;
  }

  /**
   * The output weights for a batch made of whole copies of the examples (step-major): at the selected
   * positions of each row of copy `s` the value `scales[s]` (times the mask's weight, for a mask), zero
   * elsewhere. Owned by `scope`; equal requests share one tensor.
   */
  weights<T>(backend: Backend<T>, scales: readonly number[], scope: Scope<T>): T {
    const key = scales.join(',');
    const cached = this.weightCache.get(key) as T | undefined;
    if (cached !== undefined && !backend.isDisposed(cached)) return cached;
    const n = this.positions.length;
    const rowSize = this.rowSize;
    const host = new Float32Array(scales.length * n * rowSize);
    for (let r = 0; r < scales.length * n; r++) {
      const scale = scales[Math.floor(r / n)] as number;
      const pos = this.positions[r % n] as Int32Array;
      const coef = this.coefficients?.[r % n];
      if (coef) for (let j = 0; j < pos.length; j++) host[r * rowSize + (pos[j] as number)] = scale * (coef[j] as number);
      else for (const p of pos) host[r * rowSize + p] = scale;
    }
    const t = scope.track(backend.tensor(host, [scales.length * n, ...this.outputShape.slice(1)], 'float32'));
    if (this.weightCache.size > 8) {
      const [oldKey, old] = this.weightCache.entries().next().value as [string, T];
      this.weightCache.delete(oldKey);
      scope.free(old);
    }
    this.weightCache.set(key, t);
    return t;
  }

  /** Weights selecting the target in `copies` whole copies of the batch (all scales 1). */
  ones<T>(backend: Backend<T>, copies: number, scope: Scope<T>): T {
    return this.weights(backend, new Array<number>(copies).fill(1), scope);
  }
}

/**
 * Expands a target option for a batch in which every example is repeated `times` times in place
 * (example-major): per-example lists (or tensors) are repeated element by element; shared targets and class
 * names pass. A `{ mask }` target is passed on marked, so that a per-example mask row serves its example's copies.
 * `'predicted'` is refused: resolve it on the unrepeated inputs first (`resolveTarget`).
 */
export async function repeatInterleaveTarget<T>(backend: Backend<T>, target: unknown, batchSize: number, times: number): Promise<unknown> {
  // Class names are looked up by the method: a name is shared; a list of names (or names and indices) repeats per example.
  if (typeof target === 'string' && target !== 'predicted') return target;
  if (Array.isArray(target) && target.some((t) => typeof t === 'string')) {
    if (target.length !== batchSize) throw new TargetError(`one target per example (${batchSize} entries)`, `an array of ${target.length}`);
    return target.flatMap((t: unknown) => new Array<unknown>(times).fill(t));
  }
  const spec = await normalizeTarget(backend, target, batchSize);
  if (spec.kind === 'mask') return { mask: (target as TargetMask<T>).mask, [INTERLEAVE]: spec.interleave * times };
  if (spec.kind !== 'each') return spec.kind === 'none' ? undefined : spec.tuple ? { index: spec.index } : spec.index[0];
  const expanded = spec.indices.flatMap((index) => new Array<readonly number[]>(times).fill(index));
  return spec.tuple ? expanded : expanded.map((i) => i[0]);
}
