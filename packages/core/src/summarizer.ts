import { ArgumentError, describeChoices, describeValue } from '@attribution/tensor';

/**
 * Streaming summary statistics of attributions, Captum's `Summarizer`, `ClassSummarizer` and the stats of
 * `captum.attr._utils.stat`. Values arrive one example at a time as plain rows of numbers (`number[]`,
 * `Float64Array`, `Float32Array`, … — what any backend's `data()` returns, flattened in row-major order); every
 * statistic is element-wise, so a summary holds one value per position of the row. Memory is bounded: a few
 * `Float64Array`s of the row's length per input, whatever the number of updates.
 *
 * Mean and variance are Welford's (Captum's): a rolling mean `m += (x − m) / n` and `mse += (x − m_prev)(x − m)`,
 * so that large offsets do not cancel catastrophically.
 */

/** One example of one input: its values, flattened (row-major). Its length must stay the same across updates. */
export type Row = ArrayLike<number>;

/** The kinds of statistic. */
export type StatKind = 'count' | 'mean' | 'mse' | 'var' | 'std_dev' | 'min' | 'max' | 'sum';

/** A statistic to track (made by {@link Mean}, {@link Var}, …): its kind, order (variance only) and summary name. */
export interface Stat {
  readonly kind: StatKind;
  /** `Var` and `StdDev`: the divisor is `n − order` (0: population, 1: sample). 0 for the others. */
  readonly order: number;
  /** The key of the statistic in a summary. */
  readonly name: string;
}

/** Options of the stat factories: a custom name for the summary key. */
export interface StatOptions {
  readonly name?: string;
}

/** Options of {@link Var} and {@link StdDev}. */
export interface OrderOptions extends StatOptions {
  /** Divide by `n − order` (default 0, the population variance; 1: the sample variance). */
  readonly order?: number;
}

function checkName(name: string | undefined, fallback: string): string {
  if (name === undefined) return fallback;
  if (typeof name !== 'string' || name === '') throw new ArgumentError('name', 'a non-empty string', describeValue(name));
  return name;
}

function checkOrder(order: number | undefined): number {
  const o = order ?? 0;
  if (!Number.isInteger(o) || o < 0) throw new ArgumentError('order', 'a non-negative integer (0: population, 1: sample)', describeValue(order));
  return o;
}

const stat = (kind: StatKind, name: string, order = 0): Stat => Object.freeze({ kind, order, name });

/** The number of updates (Captum's `Count`): a number in a summary, not an array. Name `count`. */
export const Count = (options: StatOptions = {}): Stat => stat('count', checkName(options.name, 'count'));
/** The element-wise mean (Captum's `Mean`, a rolling mean). Name `mean`. */
export const Mean = (options: StatOptions = {}): Stat => stat('mean', checkName(options.name, 'mean'));
/** The element-wise sum of squared deviations from the mean, Σ(x − mean)² (Captum's `MSE`). Name `mse`. */
export const MSE = (options: StatOptions = {}): Stat => stat('mse', checkName(options.name, 'mse'));
/** The element-wise minimum. Name `min`. */
export const Min = (options: StatOptions = {}): Stat => stat('min', checkName(options.name, 'min'));
/** The element-wise maximum. Name `max`. */
export const Max = (options: StatOptions = {}): Stat => stat('max', checkName(options.name, 'max'));
/** The element-wise sum. Name `sum`. */
export const Sum = (options: StatOptions = {}): Stat => stat('sum', checkName(options.name, 'sum'));

/**
 * The element-wise variance `mse / (n − order)`, 0 while `n ≤ order` (Captum's `Var`). Named `variance`
 * (order 0), `sample_variance` (order 1) or `variance(k)`.
 */
export function Var(options: OrderOptions = {}): Stat {
  const order = checkOrder(options.order);
  return stat('var', checkName(options.name, order === 0 ? 'variance' : order === 1 ? 'sample_variance' : `variance(${order})`), order);
}

/**
 * The element-wise standard deviation, the square root of {@link Var} of the same order (Captum's `StdDev`).
 * Named `std_dev` (order 0), `sample_std_dev` (order 1) or `std_dev(k)`.
 */
export function StdDev(options: OrderOptions = {}): Stat {
  const order = checkOrder(options.order);
  return stat('std_dev', checkName(options.name, order === 0 ? 'std_dev' : order === 1 ? 'sample_std_dev' : `std_dev(${order})`), order);
}

/** Captum's `CommonStats()`: mean, sample variance, sample standard deviation, min and max. */
export function CommonStats(): Stat[] {
  return [Mean(), Var({ order: 1 }), StdDev({ order: 1 }), Min(), Max()];
}

const BY_NAME: Readonly<Record<string, () => Stat>> = {
  mean: () => Mean(),
  variance: () => Var(),
  sample_variance: () => Var({ order: 1 }),
  std_dev: () => StdDev(),
  sample_std_dev: () => StdDev({ order: 1 }),
  min: () => Min(),
  max: () => Max(),
  mse: () => MSE(),
  count: () => Count(),
  sum: () => Sum(),
};

/** The names a stat can be given by (Captum's default names). */
export const STAT_NAMES: readonly string[] = Object.keys(BY_NAME);

/** The stat Captum names `name` (`'mean'`, `'sample_variance'`, …); an unknown name throws an ArgumentError. */
export function statByName(name: string, argument = 'stats'): Stat {
  const make = typeof name === 'string' && Object.hasOwn(BY_NAME, name) ? BY_NAME[name] : undefined;
  if (!make) throw new ArgumentError(argument, describeChoices('the stat names', String(name), STAT_NAMES), typeof name === 'string' ? `'${name}'` : describeValue(name));
  return make();
}

const KINDS: readonly StatKind[] = ['count', 'mean', 'mse', 'var', 'std_dev', 'min', 'max', 'sum'];

/** The stats, checked, with those given by name made and exact duplicates dropped (as Captum's set of stats). */
function normalizeStats(stats: readonly (Stat | string)[], argument: string): Stat[] {
  if (!Array.isArray(stats) || stats.length === 0) throw new ArgumentError(argument, 'a non-empty array of stats (e.g. [Mean(), Var()]) or stat names', describeValue(stats));
  const out: Stat[] = [];
  stats.forEach((s, i) => {
    const st = typeof s === 'string' ? statByName(s, `${argument}[${i}]`) : s;
    if (!st || typeof st !== 'object' || !KINDS.includes(st.kind) || typeof st.name !== 'string') {
      throw new ArgumentError(`${argument}[${i}]`, `a stat (Mean(), Var(), StdDev(), Min(), Max(), MSE(), Count(), Sum()) or ${describeChoices('the stat names', '', STAT_NAMES)}`, describeValue(s));
    }
    const same = out.find((o) => o.name === st.name);
    if (!same) out.push(st);
    else if (same.kind !== st.kind || same.order !== st.order) {
      throw new ArgumentError(`${argument}[${i}]`, 'stats with distinct names', `a second stat named '${st.name}'`, 'Give one of them another name: e.g. Var({ order: 2, name: "var2" }).');
    }
  });
  return out;
}

/** A summary: stat name → one value per position of the row (`count`: a number). */
export type Summary = Readonly<Record<string, Float64Array | number>>;

/** The statistics of one input (Captum's `SummarizerSingleTensor`). */
class SingleSummarizer {
  private n = 0;
  private readonly mean?: Float64Array;
  private readonly prev?: Float64Array;
  private readonly m2?: Float64Array;
  private readonly min?: Float64Array;
  private readonly max?: Float64Array;
  private readonly sum?: Float64Array;

  constructor(
    private readonly stats: readonly Stat[],
    readonly length: number,
  ) {
    const has = (...kinds: StatKind[]): boolean => stats.some((s) => kinds.includes(s.kind));
    const moments = has('mse', 'var', 'std_dev');
    if (moments || has('mean')) this.mean = new Float64Array(length);
    if (moments) {
      this.prev = new Float64Array(length);
      this.m2 = new Float64Array(length);
    }
    if (has('min')) this.min = new Float64Array(length).fill(Infinity);
    if (has('max')) this.max = new Float64Array(length).fill(-Infinity);
    if (has('sum')) this.sum = new Float64Array(length);
  }

  /** The number of updates. */
  get count(): number {
    return this.n;
  }

  update(x: Row): void {
    const n = ++this.n;
    const { mean, prev, m2, min, max, sum } = this;
    for (let i = 0; i < this.length; i++) {
      const v = x[i] as number;
      if (mean) {
        const before = mean[i] as number;
        const after = n === 1 ? v : before + (v - before) / n;
        mean[i] = after;
        if (m2 && prev) {
          // Captum's MSE: Σ (x − mean before x)(x − mean after x); the first update adds nothing.
          if (n > 1) m2[i] = (m2[i] as number) + (v - before) * (v - after);
          prev[i] = after;
        }
      }
      if (min && v < (min[i] as number)) min[i] = v;
      if (max && v > (max[i] as number)) max[i] = v;
      if (sum) sum[i] = (sum[i] as number) + v;
    }
  }

  private variance(order: number): Float64Array {
    const m2 = this.m2 as Float64Array;
    if (this.n <= order) return new Float64Array(this.length);
    return m2.map((v) => v / (this.n - order));
  }

  summary(): Summary {
    const out: Record<string, Float64Array | number> = {};
    for (const s of this.stats) {
      switch (s.kind) {
        case 'count':
          out[s.name] = this.n;
          break;
        case 'mean':
          out[s.name] = Float64Array.from(this.mean as Float64Array);
          break;
        case 'mse':
          out[s.name] = Float64Array.from(this.m2 as Float64Array);
          break;
        case 'var':
          out[s.name] = this.variance(s.order);
          break;
        case 'std_dev':
          out[s.name] = this.variance(s.order).map(Math.sqrt);
          break;
        case 'min':
          out[s.name] = Float64Array.from(this.min as Float64Array);
          break;
        case 'max':
          out[s.name] = Float64Array.from(this.max as Float64Array);
          break;
        case 'sum':
          out[s.name] = Float64Array.from(this.sum as Float64Array);
          break;
      }
    }
    return out;
  }
}

const isRow = (v: unknown): v is Row =>
  ArrayBuffer.isView(v) ? !(v instanceof DataView) : Array.isArray(v) && v.every((e) => typeof e === 'number');

/** Checks one row: array-like of finite numbers. */
function checkRow(x: unknown, argument: string, length: number | undefined): Row {
  const row = typeof x === 'number' ? [x] : x;
  if (!isRow(row)) throw new ArgumentError(argument, 'a number, an array of numbers or a typed array (one example, flattened)', describeValue(x));
  if (length !== undefined && row.length !== length) {
    throw new ArgumentError(argument, `${length} values, as in the first update`, `${row.length}`, 'Every update of a summarizer must have the same shape (flatten each example the same way).');
  }
  for (let i = 0; i < row.length; i++) {
    if (!Number.isFinite(row[i])) {
      throw new ArgumentError(argument, 'finite values', `${describeValue(row[i])} at index ${i}`, 'A NaN or infinity would make every later mean and variance NaN; drop or clean the example first.');
    }
  }
  return row;
}

/**
 * Summarizes a stream of examples, element-wise (Captum's `Summarizer`).
 *
 * ```ts
 * const s = new Summarizer([Mean(), Var({ order: 1 }), Min(), Max()]);
 * for (const row of rows) s.update(row);          // one input: a row of numbers per example
 * s.summary; // { mean: Float64Array, sample_variance: Float64Array, min: …, max: … }
 * ```
 *
 * For a model with several inputs, `update([row0, row1])` (a list of rows, one per input; always a list),
 * and `summary` is a list of summaries, one per input — as Captum's tuple inputs.
 */
export class Summarizer {
  protected readonly stats: readonly Stat[];
  private parts: SingleSummarizer[] = [];
  private multiple: boolean | undefined;

  /** @param stats The stats to track, as {@link Stat}s or names (`'mean'`, `'sample_variance'`, …). */
  constructor(stats: readonly (Stat | string)[]) {
    this.stats = normalizeStats(stats, 'stats');
  }

  /** The stats tracked, in the order of the summary's keys. */
  get statistics(): readonly Stat[] {
    return this.stats;
  }

  /**
   * Adds one example: a row (`number`, `number[]`, typed array) for a single input, or a list of rows (one per
   * input). The form, the number of inputs and each row's length must stay the same; values must be finite.
   * A failed update changes nothing.
   */
  update(x: number | Row | readonly Row[]): void {
    const multiple = typeof x !== 'number' && !isRow(x) && Array.isArray(x);
    if (this.multiple !== undefined && multiple !== this.multiple) {
      throw new ArgumentError('x', this.multiple ? 'a list of rows, one per input, as in the first update' : 'a single row, as in the first update', multiple ? 'a list of rows' : describeValue(x));
    }
    const rows = multiple ? (x as readonly unknown[]) : [x];
    if (multiple && rows.length === 0) throw new ArgumentError('x', 'a list of rows, one per input', 'an empty list');
    if (this.parts.length && rows.length !== this.parts.length) throw new ArgumentError('x', `${this.parts.length} rows (one per input), as in the first update`, `${rows.length}`);
    const checked = rows.map((r, i) => checkRow(r, multiple ? `x[${i}]` : 'x', this.parts[i]?.length));
    if (!this.parts.length) this.parts = checked.map((r) => new SingleSummarizer(this.stats, r.length));
    this.multiple = multiple;
    checked.forEach((r, i) => (this.parts[i] as SingleSummarizer).update(r));
  }

  /** The number of updates so far. */
  get count(): number {
    return this.parts[0]?.count ?? 0;
  }

  /**
   * The summary: stat name → values (Captum's `summary`); a list of summaries, one per input, when updates
   * are lists of rows; `undefined` before the first update. The arrays are copies.
   */
  get summary(): Summary | Summary[] | undefined {
    if (!this.parts.length) return undefined;
    const all = this.parts.map((p) => p.summary());
    return this.multiple ? all : all[0];
  }

  /** The summary of input `index` (0 for a single input), or `undefined` before the first update. */
  summaryOf(index = 0): Summary | undefined {
    return this.parts[index]?.summary();
  }
}

/** A class label: any string or number (`1` and `'1'` are different labels). */
export type Label = string | number;

/**
 * Summaries per class and overall (Captum's `ClassSummarizer`).
 *
 * `update(examples, labels)`: `examples` is a batch, one row per example (`Row[]`) for a single input, or a
 * list of such batches, one per input; `labels` one label per example, or one label for the whole batch.
 * Each example updates its class's summary and the overall `summary`. Without labels, each example updates
 * the overall summary only.
 */
export class ClassSummarizer extends Summarizer {
  private readonly classes = new Map<Label, Summarizer>();

  override update(x: number | Row | readonly Row[]): void;
  override update(examples: readonly Row[] | readonly (readonly Row[])[], labels?: Label | readonly Label[]): void;
  override update(examples: unknown, labels?: Label | readonly Label[]): void {
    if (!Array.isArray(examples) || examples.length === 0) throw new ArgumentError('examples', 'a batch: a non-empty array of rows (one per example), or one such array per input', describeValue(examples));
    const multiple = !isRow(examples[0]) && Array.isArray(examples[0]);
    const batches = (multiple ? examples : [examples]) as unknown[][];
    const size = batches[0]?.length ?? 0;
    batches.forEach((b, i) => {
      if (!Array.isArray(b) || b.length !== size) throw new ArgumentError(multiple ? `examples[${i}]` : 'examples', `${size} rows, one per example`, Array.isArray(b) ? `${b.length}` : describeValue(b));
    });
    let perExample: Label[] | undefined;
    if (labels !== undefined) {
      const list: readonly unknown[] = Array.isArray(labels) ? labels : [labels];
      if (list.length !== 1 && list.length !== size) {
        throw new ArgumentError('labels', `one label, or ${size} (one per example)`, `${list.length}`, 'Give one label per example of the batch, or one for all of them.');
      }
      list.forEach((l, i) => {
        if (typeof l !== 'string' && typeof l !== 'number') throw new ArgumentError(`labels[${i}]`, 'a string or number', describeValue(l));
      });
      perExample = Array.from({ length: size }, (_, i) => (list.length === 1 ? list[0] : list[i]) as Label);
    }
    // Validate every example before updating anything.
    const dims = batches.map((b) => (b[0] !== undefined && isRow(b[0]) ? b[0].length : undefined));
    for (let e = 0; e < size; e++) batches.forEach((b, i) => checkRow(b[e], multiple ? `examples[${i}][${e}]` : `examples[${e}]`, dims[i]));
    for (let e = 0; e < size; e++) {
      const rows = batches.map((b) => b[e] as Row);
      const x = multiple ? rows : (rows[0] as Row);
      super.update(x);
      if (perExample) {
        const label = perExample[e] as Label;
        let s = this.classes.get(label);
        if (!s) this.classes.set(label, (s = new Summarizer(this.stats)));
        s.update(x);
      }
    }
  }

  /** The classes seen, in order of appearance. */
  get labels(): Label[] {
    return [...this.classes.keys()];
  }

  /** Each class's summary (a list per input for several inputs), by label (Captum's `class_summaries`). */
  get classSummaries(): Map<Label, Summary | Summary[]> {
    return new Map([...this.classes].map(([k, s]) => [k, s.summary as Summary | Summary[]]));
  }
}
