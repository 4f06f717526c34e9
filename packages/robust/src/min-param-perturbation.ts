import { checkBoolean, checkInteger, checkOptionNames, hostNumbers, normalizeArgs, withScope } from '@attribution/core';
import { ArgumentError, TargetError, describeValue, formatShape, toNumbers, type Backend, type Model } from '@attribution/tensor';
import { callAttack, checkAttack, forwardEach, modelInputs, tensorsIn, type Attack } from './evaluation.js';
import { checkNumber } from './gradient-step.js';

/** How {@link MinParamPerturbation} searches the parameter range. */
export type SearchMode = 'linear' | 'binary';

/**
 * Whether the model is still right on a batch (sync or async): `kwargs` holds `target` (when given) and the
 * evaluate call's `correctFnKwargs`. The search stops at the first parameter for which it returns false.
 */
export type CorrectFunction<T> = (output: T, kwargs: Readonly<Record<string, unknown>>) => boolean | Promise<boolean>;

/** Options of the {@link MinParamPerturbation} constructor. */
export interface MinParamPerturbationOptions<T, I> {
  /** The name of the attack's keyword argument to search (e.g. `'epsilon'`). */
  readonly argName: string;
  /** The smallest value tried. */
  readonly argMin: number;
  /** The end of the range (not tried); must exceed `argMin + argStep`. */
  readonly argMax: number;
  /** The distance between tried values (> 0). */
  readonly argStep: number;
  /** `'linear'` (default: every value from argMin up) or `'binary'` (bisection, assuming monotone success). */
  readonly mode?: SearchMode;
  /** How many times the attack runs per value (default 1): any attempt that fools the model counts. */
  readonly numAttempts?: number;
  /** Maps inputs to model inputs (default: the inputs are model inputs). */
  readonly preprocFn?: (inputs: I) => T | readonly T[] | Promise<T | readonly T[]>;
  /** Whether the attack sees the inputs before `preprocFn` (default false: the preprocessed ones). */
  readonly applyBeforePreproc?: boolean;
  /** Whether the model is still right (default: the argmax of a 2-D output equals `target` for every example). */
  readonly correctFn?: CorrectFunction<T>;
}

/** Options of {@link MinParamPerturbation.evaluate}. */
export interface MinParamEvaluateOptions {
  /** Extra arguments passed to the model after the inputs (repeated for joined evaluations). */
  readonly additionalForwardArgs?: unknown;
  /** The correct classes, passed to `correctFn` (required by the default one): one index, or one per example. */
  readonly target?: unknown;
  /** How many perturbed inputs one model call evaluates, joined along dimension 0 (default 1). */
  readonly perturbationsPerEval?: number;
  /** Keyword arguments passed to the attack besides the searched one. */
  readonly attackKwargs?: Readonly<Record<string, unknown>>;
  /** Keyword arguments passed to `correctFn`. */
  readonly correctFnKwargs?: Readonly<Record<string, unknown>>;
}

/** What {@link MinParamPerturbation.evaluate} finds: the perturbed inputs and parameter of the first success, or nulls. */
export interface MinParamResult<P> {
  /** The perturbed inputs that fooled the model (before `preprocFn` when the attack ran before it; owned by the caller). */
  readonly perturbed: P | null;
  /** The smallest parameter found that fools the model. */
  readonly param: number | null;
}

const CONSTRUCTOR_OPTIONS = ['argName', 'argMin', 'argMax', 'argStep', 'mode', 'numAttempts', 'preprocFn', 'applyBeforePreproc', 'correctFn'];
const EVALUATE_OPTIONS = ['additionalForwardArgs', 'target', 'perturbationsPerEval', 'attackKwargs', 'correctFnKwargs'];

/** Captum's `default_correct_fn`: every example's argmax over a 2-D output equals its target. */
async function defaultCorrect<T>(b: Backend<T>, output: T, target: unknown): Promise<boolean> {
  const shape = b.shape(output);
  if (shape.length !== 2) {
    throw new ArgumentError('correctFn', 'a correct function for a model whose output is not 2-D (the default compares the argmax of a [N, C] output)', `an output of shape ${formatShape(shape)}`);
  }
  const [n, c] = shape as [number, number];
  let targets: number[];
  if (typeof target === 'number') targets = new Array<number>(n).fill(target);
  else if (Array.isArray(target) && target.every((t) => typeof t === 'number')) targets = target as number[];
  else if (b.isTensor(target)) targets = Array.from(toNumbers(await b.data(target)));
  else throw new TargetError('one class index, or one per example, for the default correct function', describeValue(target));
  if (targets.length === 1 && n !== 1) targets = new Array<number>(n).fill(targets[0] as number);
  if (targets.length !== n) throw new TargetError(`one class index, or one per example (${n})`, `${targets.length} indices`);
  const data = hostNumbers(await b.data(output));
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < c; j++) if ((data[i * c + j] as number) > (data[i * c + best] as number)) best = j;
    if (best !== targets[i]) return false;
  }
  return true;
}

/** Python's `math.isclose` with its defaults. */
const isClose = (a: number, b: number): boolean => a === b || Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));

/**
 * The smallest value of one attack parameter that makes the model wrong (Captum's `MinParamPerturbation`): the
 * attack runs with `argName` set to values from `argMin` in steps of `argStep` below `argMax` (`'linear'`) or
 * bisected (`'binary'`), and the first value whose perturbed inputs make `correctFn` false is returned with them.
 *
 * `I` is the type of the inputs before `preprocFn` (model inputs when there is none). Perturbed inputs other than
 * the one returned are freed, and so are the tensors `preprocFn` returns, except the inputs themselves.
 */
export class MinParamPerturbation<T, I = T | readonly T[]> {
  /** The model evaluated. */
  readonly model: Model<T>;
  private readonly attack: Attack<unknown>;
  private readonly argName: string;
  private readonly argMin: number;
  private readonly argMax: number;
  private readonly argStep: number;
  private readonly mode: SearchMode;
  private readonly numAttempts: number;
  private readonly applyBeforePreproc: boolean;
  private readonly preprocFn?: (inputs: I) => T | readonly T[] | Promise<T | readonly T[]>;
  private readonly correctFn?: CorrectFunction<T>;

  /** Wraps a model and an attack; `options` say which parameter to search and how. */
  constructor(model: Model<T>, attack: Attack<NoInfer<I>> | Attack<NoInfer<T | readonly T[]>>, options: MinParamPerturbationOptions<T, I>) {
    const m = model as { forward?: unknown; backend?: unknown } | null;
    if (m === null || typeof m !== 'object' || typeof m.forward !== 'function' || m.backend === undefined) {
      throw new ArgumentError('model', 'a Model (fromTfjs or fromOnnx of a model)', describeValue(model));
    }
    this.model = model;
    this.attack = checkAttack(attack);
    if (options === undefined || options === null || typeof options !== 'object') {
      throw new ArgumentError('MinParamPerturbation options', 'an options object with argName, argMin, argMax and argStep', describeValue(options));
    }
    checkOptionNames(options, CONSTRUCTOR_OPTIONS, 'MinParamPerturbation options');
    if (typeof options.argName !== 'string' || options.argName.length === 0) throw new ArgumentError('argName', "the name of the attack's keyword argument to search", describeValue(options.argName));
    this.argName = options.argName;
    this.argMin = checkNumber('argMin', options.argMin);
    this.argStep = checkNumber('argStep', options.argStep);
    if (!(this.argStep > 0)) throw new ArgumentError('argStep', 'a finite number > 0', String(this.argStep));
    this.argMax = checkNumber('argMax', options.argMax);
    if (!(this.argMax > this.argMin + this.argStep)) {
      throw new ArgumentError('argMax', `a number > argMin + argStep (${this.argMin + this.argStep}): the range must hold more than one step`, String(this.argMax));
    }
    const mode = options.mode ?? 'linear';
    if (mode !== 'linear' && mode !== 'binary') throw new ArgumentError('mode', "'linear' or 'binary'", describeValue(mode));
    this.mode = mode;
    this.numAttempts = checkInteger('numAttempts', options.numAttempts ?? 1, 1);
    this.applyBeforePreproc = checkBoolean('applyBeforePreproc', options.applyBeforePreproc ?? false);
    if (options.preprocFn !== undefined && typeof options.preprocFn !== 'function') throw new ArgumentError('preprocFn', 'a function (inputs) => model inputs', describeValue(options.preprocFn));
    if (options.correctFn !== undefined && typeof options.correctFn !== 'function') throw new ArgumentError('correctFn', 'a function (output, kwargs) => boolean', describeValue(options.correctFn));
    this.preprocFn = options.preprocFn;
    this.correctFn = options.correctFn;
  }

  /** Searches the parameter (Captum's `evaluate`); `{ perturbed: null, param: null }` when no value fools the model. */
  async evaluate<P = I>(inputs: I, options: MinParamEvaluateOptions = {}): Promise<MinParamResult<P>> {
    checkOptionNames(options, EVALUATE_OPTIONS, 'MinParamPerturbation.evaluate');
    const ppe = checkInteger('perturbationsPerEval', options.perturbationsPerEval ?? 1, 1);
    const attackKwargs = options.attackKwargs ?? {};
    if (attackKwargs === null || typeof attackKwargs !== 'object' || Array.isArray(attackKwargs)) throw new ArgumentError('attackKwargs', 'an object of keyword arguments', describeValue(attackKwargs));
    const correctKwargs = options.correctFnKwargs ?? {};
    if (correctKwargs === null || typeof correctKwargs !== 'object' || Array.isArray(correctKwargs)) throw new ArgumentError('correctFnKwargs', 'an object of keyword arguments', describeValue(correctKwargs));
    if (this.correctFn === undefined && (options.target === undefined || options.target === null)) {
      throw new TargetError('the correct class of each example (the default correct function compares it with the argmax)', describeValue(options.target));
    }
    const args = normalizeArgs(options.additionalForwardArgs);
    const { model } = this;
    const b = model.backend;
    const keep = new Set([...tensorsIn(b, inputs), ...tensorsIn(b, args)]);
    const kwargs: Record<string, unknown> = { ...(options.target !== undefined ? { target: options.target } : {}), ...correctKwargs };
    return withScope(b, async (scope) => {
      const owned = (value: unknown): void => {
        for (const t of tensorsIn(b, value)) if (!keep.has(t)) scope.track(t);
      };
      const preprocInput = this.preprocFn ? await this.preprocFn(inputs) : inputs;
      owned(preprocInput);
      const persistent = new Set([...keep, ...tensorsIn(b, preprocInput)]);
      const correct = async (out: T): Promise<boolean> => {
        const ok = this.correctFn ? await this.correctFn(out, kwargs) : await defaultCorrect(b, out, options.target);
        if (typeof ok !== 'boolean') throw new ArgumentError('correctFn', 'a function returning true or false', describeValue(ok));
        return ok;
      };
      type Entry = { readonly modelIn: T[]; readonly attacked: unknown; readonly param: number };
      const attackAt = async (param: number): Promise<Entry> => {
        const kw = { ...attackKwargs, [this.argName]: param };
        if (this.applyBeforePreproc) {
          const attacked = await callAttack(this.attack, inputs, kw);
          owned(attacked);
          const modelIn = this.preprocFn ? await this.preprocFn(attacked as I) : attacked;
          owned(modelIn);
          return { modelIn: modelInputs(b, modelIn, `the inputs perturbed with ${this.argName} = ${param}`), attacked, param };
        }
        const attacked = await callAttack(this.attack, preprocInput, kw);
        owned(attacked);
        return { modelIn: modelInputs(b, attacked, `the inputs perturbed with ${this.argName} = ${param}`), attacked, param };
      };
      const release = (entries: readonly Entry[], except?: Entry): void => {
        const kept = new Set([...persistent, ...(except ? tensorsIn(b, except.attacked) : [])]);
        for (const e of entries) scope.free([...tensorsIn(b, e.attacked), ...e.modelIn].filter((t) => !kept.has(t)));
      };
      /** The index of the first entry the model gets wrong, or undefined. */
      const firstWrong = async (entries: readonly Entry[]): Promise<number | undefined> => {
        const outputs = await forwardEach(model, entries.map((e) => e.modelIn), args, scope);
        let found: number | undefined;
        for (const [i, out] of outputs.entries()) {
          if (found === undefined && !(await correct(out))) found = i;
          scope.free(out);
        }
        return found;
      };
      const success = (entry: Entry, entries: readonly Entry[]): MinParamResult<P> => {
        release(entries, entry);
        scope.release(tensorsIn(b, entry.attacked).filter((t) => !keep.has(t)));
        return { perturbed: entry.attacked as P, param: entry.param };
      };

      if (this.mode === 'linear') {
        let batch: Entry[] = [];
        for (let param = this.argMin; param < this.argMax; param += this.argStep) {
          for (let a = 0; a < this.numAttempts; a++) {
            batch.push(await attackAt(param));
            if (batch.length === ppe) {
              const i = await firstWrong(batch);
              if (i !== undefined) return success(batch[i] as Entry, batch);
              release(batch);
              batch = [];
            }
          }
        }
        if (batch.length > 0) {
          const i = await firstWrong(batch);
          if (i !== undefined) return success(batch[i] as Entry, batch);
          release(batch);
        }
        return { perturbed: null, param: null };
      }

      let minRange = this.argMin;
      let maxRange = this.argMax;
      let best: Entry | undefined;
      while (maxRange > minRange) {
        let midStep = Math.floor(Math.floor((maxRange - minRange) / this.argStep) / 2);
        if (midStep === 0 && minRange + this.argStep < maxRange) midStep = 1;
        const mid = minRange + midStep * this.argStep;
        let batch: Entry[] = [];
        let attackSuccess = false;
        for (let a = 0; a < this.numAttempts; a++) {
          batch.push(await attackAt(mid));
          if (batch.length === ppe || a === this.numAttempts - 1) {
            const i = await firstWrong(batch);
            if (i !== undefined) {
              attackSuccess = true;
              maxRange = mid;
              if (best === undefined || best.param > mid) {
                const previous = best;
                best = batch[i] as Entry;
                release(batch, best);
                if (previous) release([previous]);
              } else release(batch);
              break;
            }
            release(batch);
            batch = [];
          }
        }
        if (isClose(minRange, mid)) break;
        if (!attackSuccess) minRange = mid;
      }
      if (!best) return { perturbed: null, param: null };
      scope.release(tensorsIn(b, best.attacked).filter((t) => !keep.has(t)));
      return { perturbed: best.attacked as P, param: best.param };
    });
  }
}
