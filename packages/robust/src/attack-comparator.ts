import { Max, Mean, Min, Summarizer, checkBoolean, checkInteger, checkOptionNames, normalizeArgs, withScope } from '@attribution/core';
import { ArgumentError, describeValue, type Model } from '@attribution/tensor';
import { callAttack, checkAttack, forwardEach, modelInputs, tensorsIn, type Attack } from './evaluation.js';
import { aggregate, flattenMetric, sameLayout, unflatten, type FlatMetric, type Layout, type MetricResult, type MetricValue } from './metric-value.js';

/** The key of the unperturbed inputs' results. */
export const ORIGINAL_KEY = 'Original';

/** A metric of the model output for a batch (sync or async); `kwargs` are the evaluate call's other options. */
export type MetricFunction<T> = (output: T, kwargs: Readonly<Record<string, unknown>>) => MetricValue<T> | Promise<MetricValue<T>>;

/** Options of {@link AttackComparator.addAttack}. */
export interface AddAttackOptions {
  /** The attack's key in the results (default: the class name of an attack object, the name of a named function). */
  readonly name?: string;
  /** How many times the attack runs per evaluation (default 1); above 1 the results hold mean, min and max. */
  readonly numAttempts?: number;
  /** Whether the attack sees the inputs before `preprocFn` (default true) or the preprocessed ones. */
  readonly applyBeforePreproc?: boolean;
  /** Keyword arguments passed to the attack (e.g. `{ epsilon: 0.1 }` for FGSM). */
  readonly attackKwargs?: Readonly<Record<string, unknown>>;
  /** Names of evaluate options passed on to the attack too (e.g. `['target']`). */
  readonly additionalAttackArgNames?: readonly string[];
}

/** Options of {@link AttackComparator.evaluate}: these two, and any metric keyword arguments. */
export interface ComparatorEvaluateOptions {
  /** Extra arguments passed to the model after the inputs (repeated for joined evaluations). */
  readonly additionalForwardArgs?: unknown;
  /** How many inputs (the original and perturbed ones) one model call evaluates, joined along dimension 0 (default 1). */
  readonly perturbationsPerEval?: number;
  /** Metric keyword arguments (and attack arguments named by `additionalAttackArgNames`). */
  readonly [kwarg: string]: unknown;
}

/** An attack's results for one evaluation: the mean over attempts, and with several attempts the min and max. */
export interface AttackResult {
  /** The mean of the metric over the attempts (element-wise). */
  readonly mean: MetricResult;
  /** The element-wise minimum over the attempts (with `numAttempts` > 1). */
  readonly min?: MetricResult;
  /** The element-wise maximum over the attempts (with `numAttempts` > 1). */
  readonly max?: MetricResult;
}

/** The results of {@link AttackComparator.evaluate}: `Original` → the metric, each attack's name → its {@link AttackResult}. */
export type ComparatorResult = Readonly<Record<string, MetricResult | AttackResult>>;

interface AttackInfo {
  readonly attack: Attack<unknown>;
  readonly name: string;
  readonly numAttempts: number;
  readonly applyBeforePreproc: boolean;
  readonly attackKwargs: Readonly<Record<string, unknown>>;
  readonly additionalArgs: readonly string[];
}

/** A summarizer of flat metric rows that remembers their layout. */
class MetricSummarizer {
  private layout?: Layout;
  private readonly summarizer: Summarizer;

  constructor(
    stats: 'mean' | 'mean-min-max',
    private readonly where: string,
  ) {
    this.summarizer = new Summarizer(stats === 'mean' ? [Mean()] : [Mean(), Min(), Max()]);
  }

  update(flat: FlatMetric): void {
    if (this.layout && !sameLayout(this.layout, flat.layout)) {
      throw new ArgumentError('metric', `values of one structure for every batch (${JSON.stringify(this.layout)})`, `${JSON.stringify(flat.layout)} for ${this.where}`);
    }
    this.layout = flat.layout;
    this.summarizer.update(flat.values);
  }

  /** Stat name → the value in the metric's structure. */
  summary(): Record<string, MetricResult> {
    const s = this.summarizer.summary as Readonly<Record<string, Float64Array | number>>;
    const out: Record<string, MetricResult> = {};
    for (const [k, v] of Object.entries(s)) out[k] = unflatten(this.layout as Layout, typeof v === 'number' ? [v] : v);
    return out;
  }
}

const EVALUATE_OPTIONS = ['additionalForwardArgs', 'perturbationsPerEval'];
const ADD_ATTACK_OPTIONS = ['name', 'numAttempts', 'applyBeforePreproc', 'attackKwargs', 'additionalAttackArgNames'];

const title = (s: string): string => s.replace(/\w\S*/g, (w) => w.charAt(0).toUpperCase() + w.slice(1).toLowerCase());

/**
 * Compares a model's metric on its inputs and on attacked inputs (Captum's `AttackComparator`): each
 * {@link AttackComparator.evaluate} returns the metric on the original inputs and, per attack, its mean (and min and
 * max over attempts); {@link AttackComparator.summary} averages the results of every evaluation so far.
 *
 * `I` is the type of the inputs before `preprocFn` (model inputs when there is none). Tensors that `preprocFn` and
 * the attacks return are freed after each evaluation, except the inputs and forward arguments themselves.
 */
export class AttackComparator<T, I = T | readonly T[]> {
  /** The model evaluated. */
  readonly model: Model<T>;
  private readonly attacks = new Map<string, AttackInfo>();
  private results = new Map<string, MetricSummarizer>();

  /** `metric` maps a model output (one batch) to values; `preprocFn` maps inputs to model inputs. */
  constructor(
    model: Model<T>,
    private readonly metric: MetricFunction<T>,
    private readonly preprocFn?: (inputs: I) => T | readonly T[] | Promise<T | readonly T[]>,
  ) {
    const m = model as { forward?: unknown; backend?: unknown } | null;
    if (m === null || typeof m !== 'object' || typeof m.forward !== 'function' || m.backend === undefined) {
      throw new ArgumentError('model', 'a Model (fromTfjs or fromOnnx of a model)', describeValue(model));
    }
    if (typeof metric !== 'function') throw new ArgumentError('metric', 'a function (output, kwargs) => number, number[], tensor, tuple or record of those', describeValue(metric));
    if (preprocFn !== undefined && typeof preprocFn !== 'function') throw new ArgumentError('preprocFn', 'a function (inputs) => model inputs', describeValue(preprocFn));
    this.model = model;
  }

  /** Adds an attack; its name must be new. */
  addAttack(attack: Attack<NoInfer<I>> | Attack<NoInfer<T | readonly T[]>>, options: AddAttackOptions = {}): void {
    const a = checkAttack(attack);
    checkOptionNames(options, ADD_ATTACK_OPTIONS, 'AttackComparator.addAttack');
    const fallback = typeof a === 'function' ? a.name : (a as object).constructor?.name;
    const name = options.name ?? (fallback && fallback !== 'Object' ? fallback : undefined);
    if (typeof name !== 'string' || name.length === 0) throw new ArgumentError('name', 'a non-empty attack name (this attack has no class or function name)', describeValue(name));
    if (this.attacks.has(name)) throw new ArgumentError('name', 'a name no other attack has', `'${name}', already added`);
    const kwargs = options.attackKwargs ?? {};
    if (kwargs === null || typeof kwargs !== 'object' || Array.isArray(kwargs)) throw new ArgumentError('attackKwargs', 'an object of keyword arguments', describeValue(kwargs));
    const extra = options.additionalAttackArgNames ?? [];
    if (!Array.isArray(extra) || !extra.every((e) => typeof e === 'string')) throw new ArgumentError('additionalAttackArgNames', 'an array of option names', describeValue(extra));
    this.attacks.set(name, {
      attack: a,
      name,
      numAttempts: checkInteger('numAttempts', options.numAttempts ?? 1, 1),
      applyBeforePreproc: checkBoolean('applyBeforePreproc', options.applyBeforePreproc ?? true),
      attackKwargs: kwargs,
      additionalArgs: extra,
    });
  }

  /** The metric on the inputs and on each attack's perturbed inputs (Captum's `evaluate`). */
  async evaluate(inputs: I, options: ComparatorEvaluateOptions = {}): Promise<ComparatorResult> {
    if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new ArgumentError('AttackComparator.evaluate options', 'an options object', describeValue(options));
    const ppe = checkInteger('perturbationsPerEval', options.perturbationsPerEval ?? 1, 1);
    const kwargs: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(options)) if (!EVALUATE_OPTIONS.includes(k)) kwargs[k] = v;
    const args = normalizeArgs(options.additionalForwardArgs);
    const { model } = this;
    const b = model.backend;
    const keep = new Set([...tensorsIn(b, inputs), ...tensorsIn(b, args)]);
    return withScope(b, async (scope) => {
      const owned = (value: unknown): void => {
        for (const t of tensorsIn(b, value)) if (!keep.has(t)) scope.track(t);
      };
      const preprocInput = this.preprocFn ? await this.preprocFn(inputs) : inputs;
      owned(preprocInput);
      // The preprocessed inputs serve every attempt of the attacks applied after preprocessing: freed at the end.
      const persistent = new Set([...keep, ...tensorsIn(b, preprocInput)]);
      const batch: Record<string, MetricSummarizer> = { [ORIGINAL_KEY]: new MetricSummarizer('mean', ORIGINAL_KEY) };
      let list: T[][] = [];
      let keys: string[] = [];
      const evaluateBatch = async (): Promise<void> => {
        const outputs = await forwardEach(model, list, args, scope);
        for (const [i, out] of outputs.entries()) {
          const value = await this.metric(out, kwargs);
          const flat = await flattenMetric(b, value);
          for (const t of tensorsIn(b, Array.isArray(value) ? value : [value])) if (t !== out && !keep.has(t)) b.dispose(t);
          if (value !== null && typeof value === 'object' && !Array.isArray(value) && !b.isTensor(value)) {
            for (const t of Object.values(value as object)) if (b.isTensor(t) && t !== out && !keep.has(t)) b.dispose(t);
          }
          (batch[keys[i] as string] as MetricSummarizer).update(flat);
          scope.free(out);
        }
        for (const entry of list) scope.free(entry.filter((t) => !persistent.has(t)));
        list = [];
        keys = [];
      };
      const push = async (modelIn: unknown, key: string): Promise<void> => {
        list.push(modelInputs(b, modelIn, key === ORIGINAL_KEY ? 'inputs' : `the inputs perturbed by ${key}`));
        keys.push(key);
        if (list.length === ppe) await evaluateBatch();
      };
      await push(preprocInput, ORIGINAL_KEY);
      for (const attack of this.attacks.values()) {
        batch[attack.name] = new MetricSummarizer(attack.numAttempts > 1 ? 'mean-min-max' : 'mean', attack.name);
        const attackArgs: Record<string, unknown> = {};
        for (const key of attack.additionalArgs) {
          if (key in kwargs) attackArgs[key] = kwargs[key];
          else console.warn(`AttackComparator: additional attack argument '${key}' not provided for ${attack.name}.`);
        }
        for (let a = 0; a < attack.numAttempts; a++) {
          let modelIn: unknown;
          if (attack.applyBeforePreproc) {
            const attacked = await callAttack(attack.attack, inputs, { ...attackArgs, ...attack.attackKwargs });
            owned(attacked);
            modelIn = this.preprocFn ? await this.preprocFn(attacked as I) : attacked;
            owned(modelIn);
            if (modelIn !== attacked) scope.free(tensorsIn(b, attacked).filter((t) => !persistent.has(t) && !tensorsIn(b, modelIn).includes(t)));
          } else {
            modelIn = await callAttack(attack.attack, preprocInput, { ...attackArgs, ...attack.attackKwargs });
            owned(modelIn);
          }
          await push(modelIn, attack.name);
        }
      }
      if (list.length > 0) await evaluateBatch();
      return this.parseAndUpdate(batch);
    });
  }

  private parseAndUpdate(batch: Record<string, MetricSummarizer>): ComparatorResult {
    const results: Record<string, MetricResult | AttackResult> = {};
    const original = (batch[ORIGINAL_KEY] as MetricSummarizer).summary();
    results[ORIGINAL_KEY] = original.mean as MetricResult;
    this.record(ORIGINAL_KEY, original.mean as MetricResult);
    for (const attack of this.attacks.values()) {
      const summary = batch[attack.name] as MetricSummarizer;
      const stats = summary.summary();
      results[attack.name] = stats as unknown as AttackResult;
      const entries = Object.entries(stats);
      if (entries.length === 1) this.record(attack.name, (entries[0] as [string, MetricResult])[1]);
      else for (const [key, value] of entries) this.record(`${attack.name} ${title(key)} Attempt`, value);
    }
    return results;
  }

  /** Adds one evaluation's value to the running summary under `key`, averaged over examples first. */
  private record(key: string, value: MetricResult): void {
    const flat = aggregate(flattenHost(value));
    let s = this.results.get(key);
    if (!s) {
      s = new MetricSummarizer('mean', key);
      this.results.set(key, s);
    }
    s.update(flat);
  }

  /** The mean, over every evaluation since the last reset, of each result (per-example values averaged first). */
  summary(): Readonly<Record<string, { readonly mean: MetricResult }>> {
    const out: Record<string, { mean: MetricResult }> = {};
    for (const [key, s] of this.results) out[key] = { mean: s.summary().mean as MetricResult };
    return out;
  }

  /** Forgets the summary. */
  reset(): void {
    this.results = new Map();
  }
}

/** Flattens a host metric value (numbers and arrays of numbers). */
function flattenHost(value: MetricResult): FlatMetric {
  const values: number[] = [];
  const leaf = (v: number | number[]): Layout => {
    if (typeof v === 'number') {
      values.push(v);
      return { kind: 'number' };
    }
    values.push(...v);
    return { kind: 'vector', length: v.length };
  };
  if (Array.isArray(value) && !value.every((v) => typeof v === 'number')) return { layout: { kind: 'tuple', items: (value as (number | number[])[]).map(leaf) }, values };
  if (!Array.isArray(value) && typeof value === 'object') {
    const keys = Object.keys(value);
    return { layout: { kind: 'record', keys, items: keys.map((k) => leaf(value[k] as number | number[])) }, values };
  }
  return { layout: leaf(value as number | number[]), values };
}

