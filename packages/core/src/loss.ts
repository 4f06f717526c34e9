import {
  ArgumentError,
  ShapeError,
  TargetError,
  describeValue,
  formatShape,
  sizeOf,
  toNumbers,
  type Backend,
  type Shape,
} from '@attribution/tensor';
import { hostNumbers } from './host.js';
import { TargetSelection, normalizeTarget, type TargetSpec } from './target.js';

/**
 * The built-in losses:
 * - `'neg-log'` — `−log(output[i, target])` of the output as it is (Captum robust's default: the cross-entropy of a
 *   model that outputs probabilities). Its gradient `−1/output[i, target]` is used wherever the output is non-zero,
 *   as autograd does, so attacks on models with negative outputs behave as in Captum; the loss value of such an
 *   example is NaN (as in PyTorch), and a zero output at the target is an error;
 * - `'cross-entropy'` — `−log softmax(output)[i, target]`, the softmax taken over the last axis (a model that
 *   outputs logits; PyTorch's `CrossEntropyLoss(reduction='none')` on `[N, C]` outputs);
 * - `'mse'` — the mean over each example's output values of `(output − label)²`; labels are a tensor of the
 *   output's shape.
 */
export type BuiltinLoss = 'neg-log' | 'cross-entropy' | 'mse';

/** A user loss: the loss of one example from its output row (flattened, row-major) and its label. */
export type LossRowFunction<L = unknown> = (output: readonly number[], label: L) => number;

/** A user loss with its gradient (`∂loss/∂output`, one value per entry of the row); without it, central differences. */
export interface CustomLoss<L = unknown> {
  /** The loss of one example. */
  readonly loss: LossRowFunction<L>;
  /** Its gradient with respect to the output row (optional: central differences in float64 otherwise). */
  readonly gradient?: (output: readonly number[], label: L) => readonly number[];
}

/** A loss: a built-in name, a per-example function, or a function with its gradient. */
export type LossFunction<L = unknown> = BuiltinLoss | LossRowFunction<L> | CustomLoss<L>;

/** Per-example losses and the gradient of their sum with respect to the output. */
export interface LossResult<T> {
  /** The loss of each example (one per output row). */
  readonly values: Float64Array;
  /** `∂(Σ loss)/∂output`, a tensor of the output's shape and float dtype (owned by the caller; pass it as `outputWeights`). */
  readonly gradient: T;
}

/** The names of the built-in losses. */
export const BUILTIN_LOSSES: readonly BuiltinLoss[] = ['neg-log', 'cross-entropy', 'mse'];

/** Checks a loss option: a built-in name, a function, or `{ loss, gradient? }`. */
export function checkLossFunction(value: unknown, argument = 'lossFunc'): LossFunction {
  if (value === undefined) return 'neg-log';
  if (typeof value === 'string') {
    if ((BUILTIN_LOSSES as readonly string[]).includes(value)) return value as BuiltinLoss;
    throw new ArgumentError(argument, `one of ${BUILTIN_LOSSES.map((l) => `'${l}'`).join(', ')}, a function (output row, label) => number or { loss, gradient? }`, describeValue(value));
  }
  if (typeof value === 'function') return value as LossRowFunction;
  if (value !== null && typeof value === 'object' && typeof (value as CustomLoss).loss === 'function') {
    const g = (value as CustomLoss).gradient;
    if (g !== undefined && typeof g !== 'function') throw new ArgumentError(`${argument}.gradient`, 'a function (output row, label) => number[]', describeValue(g));
    return value as CustomLoss;
  }
  throw new ArgumentError(argument, `one of ${BUILTIN_LOSSES.map((l) => `'${l}'`).join(', ')}, a function (output row, label) => number or { loss, gradient? }`, describeValue(value));
}

/** Central-difference step for a float64 derivative at `x` (≈ ∛ε, scaled). */
const step = (x: number): number => 6.0554544523933395e-6 * Math.max(1, Math.abs(x));

/**
 * A loss bound to the labels of a batch of `batchSize` examples: {@link PreparedLoss.compute} evaluates it on the
 * model output of all or some consecutive rows of that batch. Made by {@link prepareLoss}.
 */
export class PreparedLoss<T> {
  private readonly selections = new Map<string, TargetSelection>();

  /** Use {@link prepareLoss}, which checks the loss and reads the labels. */
  constructor(
    private readonly backend: Backend<T>,
    /** The loss. */
    readonly lossFunc: LossFunction,
    /** Examples the labels describe. */
    readonly batchSize: number,
    private readonly spec: TargetSpec | undefined,
    private readonly mseLabels: { readonly data: Float64Array; readonly shape: Shape } | undefined,
    private readonly userLabel: ((row: number) => unknown) | undefined,
  ) {}

  private selection(shape: Shape): TargetSelection {
    const key = shape.slice(1).join(',');
    let s = this.selections.get(key);
    if (!s) {
      s = TargetSelection.resolve(this.spec as TargetSpec, [this.batchSize, ...shape.slice(1)], true);
      this.selections.set(key, s);
    }
    return s;
  }

  /**
   * The per-example losses and `∂(Σ loss)/∂output` for a model output whose row `r` is example `firstRow + r` of
   * the labelled batch.
   */
  async compute(output: T, firstRow = 0): Promise<LossResult<T>> {
    const b = this.backend;
    const shape = b.shape(output);
    const rows = shape[0] ?? 0;
    if (shape.length === 0 || firstRow < 0 || firstRow + rows > this.batchSize) {
      throw new ShapeError('output', `a model output whose dimension 0 holds rows ${firstRow}… of a batch of ${this.batchSize}`, `shape ${formatShape(shape)}`);
    }
    const rowSize = sizeOf(shape.slice(1));
    const out = hostNumbers(await b.data(output));
    for (let i = 0; i < out.length; i++) {
      if (!Number.isFinite(out[i] as number)) throw new ArgumentError('output', 'a model output of finite values', `${describeValue(out[i])} at flat index ${i}`);
    }
    const values = new Float64Array(rows);
    const grad = new Float64Array(out.length);
    const loss = this.lossFunc;
    if (loss === 'neg-log' || loss === 'cross-entropy') {
      const sel = this.selection(shape);
      const classes = shape.length > 1 ? (shape[shape.length - 1] as number) : 1;
      for (let r = 0; r < rows; r++) {
        const p = (sel.positions[firstRow + r] as Int32Array)[0] as number;
        const base = r * rowSize;
        if (loss === 'neg-log') {
          const v = out[base + p] as number;
          if (v === 0) {
            throw new ArgumentError(
              'output',
              "a non-zero value at the target for the 'neg-log' loss (its gradient is −1/output)",
              `0 at example ${firstRow + r}, position ${p}`,
              "For a model that outputs logits use lossFunc: 'cross-entropy'.",
            );
          }
          // As autograd: the gradient −1/v also where v < 0 (the loss itself is then undefined: NaN, as in PyTorch).
          values[r] = v > 0 ? -Math.log(v) : Number.NaN;
          grad[base + p] = -1 / v;
        } else {
          // log-softmax over the last-axis group that holds the target position.
          const start = base + p - (p % classes);
          let max = -Infinity;
          for (let j = 0; j < classes; j++) max = Math.max(max, out[start + j] as number);
          let z = 0;
          for (let j = 0; j < classes; j++) z += Math.exp((out[start + j] as number) - max);
          const logZ = max + Math.log(z);
          values[r] = logZ - (out[base + p] as number);
          for (let j = 0; j < classes; j++) grad[start + j] = Math.exp((out[start + j] as number) - logZ);
          grad[base + p] = (grad[base + p] as number) - 1;
        }
      }
    } else if (loss === 'mse') {
      const labels = this.mseLabels as { data: Float64Array; shape: Shape };
      if (labels.shape.length !== shape.length || labels.shape.some((d, i) => i > 0 && d !== shape[i])) {
        throw new ShapeError('labels', `a tensor of the model output's shape ${formatShape([this.batchSize, ...shape.slice(1)])}`, `shape ${formatShape(labels.shape)}`);
      }
      for (let r = 0; r < rows; r++) {
        let s = 0;
        for (let j = 0; j < rowSize; j++) {
          const k = r * rowSize + j;
          const d = (out[k] as number) - (labels.data[(firstRow + r) * rowSize + j] as number);
          s += d * d;
          grad[k] = (2 * d) / rowSize;
        }
        values[r] = s / rowSize;
      }
    } else {
      const fn = typeof loss === 'function' ? loss : loss.loss;
      const gradientFn = typeof loss === 'function' ? undefined : loss.gradient;
      const label = this.userLabel as (row: number) => unknown;
      const finite = (v: unknown, what: string, r: number): number => {
        if (typeof v !== 'number' || !Number.isFinite(v)) throw new ArgumentError('lossFunc', `a ${what} returning finite numbers`, `${describeValue(v)} for example ${firstRow + r}`);
        return v;
      };
      for (let r = 0; r < rows; r++) {
        const row = Array.from(out.subarray(r * rowSize, (r + 1) * rowSize));
        const y = label(firstRow + r);
        values[r] = finite(fn(row, y), 'function', r);
        if (gradientFn) {
          const g = gradientFn(row, y);
          if (!Array.isArray(g) && !ArrayBuffer.isView(g)) throw new ArgumentError('lossFunc.gradient', `an array of ${rowSize} numbers`, describeValue(g));
          const gl = g as ArrayLike<unknown>;
          if (gl.length !== rowSize) throw new ArgumentError('lossFunc.gradient', `an array of ${rowSize} numbers (one per output value of an example)`, `${gl.length} values`);
          for (let j = 0; j < rowSize; j++) grad[r * rowSize + j] = finite(gl[j], 'gradient', r);
        } else {
          for (let j = 0; j < rowSize; j++) {
            const x = row[j] as number;
            const h = step(x);
            row[j] = x + h;
            const up = finite(fn(row, y), 'function', r);
            row[j] = x - h;
            const down = finite(fn(row, y), 'function', r);
            row[j] = x;
            grad[r * rowSize + j] = (up - down) / (2 * h);
          }
        }
      }
    }
    const dtype = b.dtype(output) === 'float64' ? 'float64' : 'float32';
    const gradient = b.tensor(dtype === 'float64' ? grad : Float32Array.from(grad), shape, dtype);
    return { values, gradient };
  }
}

/**
 * Binds a loss to the labels of a batch of `batchSize` examples, reading label tensors once:
 * - `'neg-log'` and `'cross-entropy'`: `labels` takes the forms of a `target` — one index for every example, one
 *   per example (an array or a 1-D integer tensor), `{ index: [...] }` (one index tuple for every example of a
 *   higher-rank output) or one index tuple per example;
 * - `'mse'`: a tensor of the output's shape;
 * - a user loss: an array with one entry per example gives each example its own label; a tensor with `batchSize`
 *   rows gives example `i` its row `i` (a number for a 1-D tensor, else the row's values); any other value is
 *   every example's label.
 * `classNames` (a model's `labels`) lets the class-index losses take class names.
 */
export async function prepareLoss<T>(
  backend: Backend<T>,
  lossFunc: LossFunction,
  labels: unknown,
  batchSize: number,
  classNames?: readonly string[],
): Promise<PreparedLoss<T>> {
  const loss = checkLossFunction(lossFunc);
  if (loss === 'neg-log' || loss === 'cross-entropy') {
    if (labels === undefined || labels === null) {
      throw new TargetError(`a class index for the '${loss}' loss: one index, one per example, or index tuples`, describeValue(labels));
    }
    if (typeof labels === 'object' && !Array.isArray(labels) && !backend.isTensor(labels) && 'mask' in labels) {
      throw new TargetError(`a class index for the '${loss}' loss: one index, one per example, or index tuples`, 'a { mask } target');
    }
    const spec = await normalizeTarget(backend, labels, batchSize, classNames);
    return new PreparedLoss(backend, loss, batchSize, spec, undefined, undefined);
  }
  if (loss === 'mse') {
    if (!backend.isTensor(labels)) throw new ArgumentError('labels', `a tensor of the ${backend.name} backend with the model output's shape (the 'mse' loss)`, describeValue(labels));
    const shape = backend.shape(labels);
    if (shape[0] !== batchSize) throw new ShapeError('labels', `a tensor with ${batchSize} rows (one per example), shaped like the model output`, `shape ${formatShape(shape)}`);
    return new PreparedLoss(backend, loss, batchSize, undefined, { data: hostNumbers(await backend.data(labels)), shape }, undefined);
  }
  let label: (row: number) => unknown;
  if (Array.isArray(labels) && labels.length === batchSize) label = (i) => labels[i] as unknown;
  else if (backend.isTensor(labels) && backend.shape(labels)[0] === batchSize) {
    const shape = backend.shape(labels);
    const data = Array.from(toNumbers(await backend.data(labels)));
    const size = sizeOf(shape.slice(1));
    label = shape.length === 1 ? (i) => data[i] : (i) => data.slice(i * size, (i + 1) * size);
  } else label = () => labels;
  return new PreparedLoss(backend, loss, batchSize, undefined, undefined, label);
}

/**
 * The per-example losses of a model `output` (batch on dimension 0) for `labels`, and the gradient of their sum
 * with respect to the output, to pass as `outputWeights` to `model.gradient`. See {@link prepareLoss} for the
 * label forms of each loss.
 */
export async function lossAndGradient<T>(backend: Backend<T>, output: T, labels: unknown, lossFunc: LossFunction = 'neg-log'): Promise<LossResult<T>> {
  if (!backend.isTensor(output)) throw new ArgumentError('output', `a tensor of the ${backend.name} backend`, describeValue(output));
  const shape = backend.shape(output);
  if (shape.length === 0) throw new ShapeError('output', 'a tensor whose dimension 0 is the batch', 'a scalar (rank 0)');
  const prepared = await prepareLoss(backend, lossFunc, labels, shape[0] as number);
  return prepared.compute(output);
}
