import {
  RUN_OPTION_NAMES,
  callSeed,
  checkOptionNames,
  checkSeed,
  normalizeArgs,
  prepareInputs,
  repeatInterleaveArgs,
  repeatInterleaveTarget,
  repeatRows,
  resolveTarget,
  rowRandom,
  targetRowLimit,
  throwIfAborted,
  withScope,
  type RunOptions,
  type Scope,
} from '@attribution/core';
import { ArgumentError, TargetError, describeValue, sizeOf, toNumbers, type Backend, type Model } from '@attribution/tensor';
import type { PerturbationContext } from './infidelity.js';
import { checkSamples, expandExamples, sampleChunks } from './samples.js';

/** An explanation to probe: any method with `attribute(inputs, options)` (all of this project's methods). */
export interface Explainer<T> {
  readonly backend: Backend<T>;
  attribute(inputs: T[], options: never): Promise<{ readonly attributions: T | readonly T[] }>;
}

/** An explanation as a plain function of the inputs and the explanation options; pass `backend` with it. */
export type ExplanationFunc<T> = (inputs: T[], options: Record<string, unknown>) => Promise<T | readonly T[] | { readonly attributions: T | readonly T[] }>;

/** Captum's `perturb_func` for max-sensitivity: the perturbed inputs for inputs expanded example-major. */
export type SensitivityPerturbFunc<T> = (inputs: T[], radius: number, context: PerturbationContext<T>) => T | readonly T[] | Promise<T | readonly T[]>;

/** Options of {@link sensitivityMax}. */
export interface SensitivityMaxOptions<T> extends RunOptions {
  /** The backend of the inputs, when `explanation` is a plain function. */
  readonly backend?: Backend<T>;
  /** The options of every explanation call (target, baselines, nSteps, …); target, per-example baselines and tensor arguments are expanded with the samples. */
  readonly explanationOptions?: Record<string, unknown>;
  /** The perturbation (default: independent Uniform(−r, r) noise on every element). */
  readonly perturbFunc?: SensitivityPerturbFunc<T>;
  /** The radius `r` (default 0.02). */
  readonly perturbRadius?: number;
  /** Perturbations per example (default 10). */
  readonly nPerturbSamples?: number;
  /** The norm: `'fro'` (Euclidean over all elements, the default), a number p ≥ 1, or `Infinity`. */
  readonly normOrd?: 'fro' | number;
  /** The most rows per explanation call (samples of all examples are chunked as in Captum). */
  readonly maxExamplesPerBatch?: number;
  /** Seed of the default perturbation (default: random). */
  readonly seed?: number;
}

const OPTION_NAMES = ['backend', 'explanationOptions', 'perturbFunc', 'perturbRadius', 'nPerturbSamples', 'normOrd', 'maxExamplesPerBatch', 'seed', ...RUN_OPTION_NAMES];

/** The default perturbation: `x + u`, `u ~ Uniform(−r, r)` per element, drawn per row from the seed. */
export function uniformPerturbation<T>(): SensitivityPerturbFunc<T> {
  return (inputs, radius, { backend: b, rows, seed }) =>
    inputs.map((x, i) => {
      const shape = b.shape(x);
      const per = sizeOf(shape.slice(1));
      const noise = new Float32Array(rows.length * per);
      rows.forEach((r, k) => {
        const rng = rowRandom(seed, r, i);
        for (let p = 0; p < per; p++) noise[k * per + p] = (2 * rng.next() - 1) * radius;
      });
      return b.tidy(() => b.add(x, b.tensor(noise, shape, 'float32')));
    });
}

/**
 * Max-sensitivity (Yeh et al., 2019), as Captum's `sensitivity_max`: the largest relative change of the
 * explanation under small input perturbations, `max_j ‖E(x_i) − E(x̃_ij)‖ / ‖E(x_i)‖` (a zero denominator
 * counts as 1). Returns a tensor `[N]` owned by the caller. One explanation call on the inputs and one per
 * chunk of samples.
 */
export async function sensitivityMax<T>(explanation: Explainer<T> | ExplanationFunc<T>, inputs: T | readonly T[], options: SensitivityMaxOptions<T> = {}): Promise<T> {
  checkOptionNames(options, OPTION_NAMES, 'sensitivityMax');
  const explain = explainerOf(explanation);
  const b = typeof explanation === 'function' ? options.backend : explanation.backend;
  if (!b || typeof b.tensor !== 'function') {
    throw new ArgumentError('backend', 'the backend of the inputs (e.g. tfjsBackend or hostBackend) when the explanation is a plain function', describeValue(b));
  }
  const samples = checkSamples(options.nPerturbSamples);
  const radius = options.perturbRadius ?? 0.02;
  if (typeof radius !== 'number' || !(radius >= 0) || !Number.isFinite(radius)) throw new ArgumentError('perturbRadius', 'a finite number ≥ 0', String(radius));
  const norm = normOf(options.normOrd ?? 'fro');
  const perturb = options.perturbFunc ?? uniformPerturbation<T>();
  if (typeof perturb !== 'function') throw new ArgumentError('perturbFunc', 'a function (inputs, radius, context) => perturbed inputs', typeof perturb);
  const seed = callSeed(checkSeed(options.seed));
  const given = options.explanationOptions ?? {};
  return withScope(b, async (scope) => {
    const x = await prepareInputs(b, inputs, { needsGradient: false });
    const n = x.batchSize;
    const explanationOptions = await withResolvedTarget(explanation, given, x.tensors, scope, options.signal);
    const base = await flatExplanation(b, await explain([...x.tensors], explanationOptions), n, scope);
    const baseNorms = base.map((row) => norm(row));
    const worst = new Float64Array(n);
    const chunks = sampleChunks(samples, n, options.maxExamplesPerBatch);
    let done = 0;
    for (const chunk of chunks) {
      throwIfAborted(options.signal);
      const own = expandExamples(b, x.tensors, chunk.count, scope);
      const result = await perturb(own, radius, { backend: b, rows: chunk.rows, seed });
      const perturbed = (Array.isArray(result) ? result : [result]) as T[];
      if (perturbed.length !== own.length || !perturbed.every((t) => b.isTensor(t))) {
        throw new ArgumentError('perturbFunc(…)', `${own.length} tensor(s), one per input`, describeValue(result));
      }
      scope.track(perturbed.filter((t) => !own.includes(t) && !x.tensors.includes(t)));
      const expanded = await expandOptions(b, explanationOptions, x.tensors, n, chunk.count, scope);
      const rows = await flatExplanation(b, await explain(perturbed, expanded), chunk.rows.length, scope);
      rows.forEach((row, k) => {
        const i = Math.floor(k / chunk.count);
        const ref = base[i] as Float64Array;
        const change = norm(row.map((v, p) => (ref[p] as number) - v));
        const denominator = baseNorms[i] === 0 ? 1 : (baseNorms[i] as number);
        worst[i] = Math.max(worst[i] as number, change / denominator);
      });
      scope.free([...own, ...perturbed]);
      options.onProgress?.({ done: ++done, total: chunks.length });
    }
    return b.tensor(Float32Array.from(worst), [n], 'float32');
  });
}

/**
 * The explanation options with a `'predicted'` target resolved on the unperturbed inputs, so that every
 * perturbed copy explains its example's predicted class (this needs the explainer's model).
 */
async function withResolvedTarget<T>(
  explanation: Explainer<T> | ExplanationFunc<T>,
  options: Record<string, unknown>,
  inputs: readonly T[],
  scope: Scope<T>,
  signal: AbortSignal | undefined,
): Promise<Record<string, unknown>> {
  if (options.target !== 'predicted') return options;
  const model = typeof explanation === 'function' ? undefined : (explanation as { model?: Model<T> }).model;
  if (!model || typeof model.forward !== 'function') {
    throw new TargetError(
      "an attribution method as the explanation when the target is 'predicted' (its model gives each example's class)",
      "'predicted' with a plain explanation function",
      'Pass an attribution method (e.g. new Saliency(model)), or the predicted indices as the target.',
    );
  }
  const args = normalizeArgs(options.additionalForwardArgs);
  return { ...options, target: await resolveTarget(model, 'predicted', inputs, args, scope, { maxRows: targetRowLimit(options), signal }) };
}

function explainerOf<T>(explanation: Explainer<T> | ExplanationFunc<T>): ExplanationFunc<T> {
  if (typeof explanation === 'function') return explanation;
  if (explanation && typeof explanation.attribute === 'function') return (inputs, options) => explanation.attribute(inputs, options as never);
  throw new ArgumentError('explanation', 'an attribution method (e.g. new Saliency(model)) or a function (inputs, options) => attributions', describeValue(explanation));
}

/** The explanation's values per example, all tensors concatenated; frees the explanation tensors. */
async function flatExplanation<T>(b: Backend<T>, result: T | readonly T[] | { readonly attributions: T | readonly T[] }, rows: number, scope: Scope<T>): Promise<Float64Array[]> {
  const value = result && typeof result === 'object' && 'attributions' in (result as object) ? (result as { attributions: T | readonly T[] }).attributions : (result as T | readonly T[]);
  const tensors = (Array.isArray(value) ? value : [value]) as T[];
  if (!tensors.every((t) => b.isTensor(t) && b.shape(t)[0] === rows)) {
    throw new ArgumentError('explanation', `attributions with ${rows} rows (one per example)`, describeValue(value));
  }
  scope.track(tensors);
  const parts = await Promise.all(tensors.map(async (t) => ({ data: toNumbers(await b.data(t)), per: sizeOf(b.shape(t).slice(1)) })));
  scope.free(tensors);
  const width = parts.reduce((s, p) => s + p.per, 0);
  return Array.from({ length: rows }, (_, r) => {
    const out = new Float64Array(width);
    let offset = 0;
    for (const { data, per } of parts) {
      for (let p = 0; p < per; p++) out[offset + p] = data[r * per + p] as number;
      offset += per;
    }
    return out;
  });
}

/** The explanation options for inputs repeated `times` times per example: target, per-example baselines and tensor arguments expanded. */
async function expandOptions<T>(b: Backend<T>, options: Record<string, unknown>, inputs: readonly T[], n: number, times: number, scope: Scope<T>): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = { ...options };
  if (options.target !== undefined) out.target = await repeatInterleaveTarget(b, options.target, n, times);
  if (options.additionalForwardArgs !== undefined) out.additionalForwardArgs = repeatInterleaveArgs(b, normalizeArgs(options.additionalForwardArgs), times, scope);
  if (options.baselines !== undefined) {
    // As Captum: baselines are expanded only when the first has exactly the shape of the first input.
    const list = Array.isArray(options.baselines) ? (options.baselines as unknown[]) : [options.baselines];
    const first = list[0];
    const inputShape = b.shape(inputs[0] as T);
    if (b.isTensor(first) && b.shape(first).length === inputShape.length && b.shape(first).every((d, k) => d === inputShape[k])) {
      const expanded = list.map((v) => (b.isTensor(v) && (b.shape(v)[0] ?? 0) === n ? scope.track(repeatRows(b, v, times)) : v));
      out.baselines = Array.isArray(options.baselines) ? expanded : expanded[0];
    }
  }
  return out;
}

/** The vector norm named by `normOrd`. */
function normOf(ord: unknown): (v: Float64Array) => number {
  if (ord === 'fro' || ord === 2) return (v) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  if (ord === Infinity) return (v) => v.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
  if (typeof ord === 'number' && ord >= 1 && Number.isFinite(ord)) return (v) => v.reduce((s, x) => s + Math.abs(x) ** ord, 0) ** (1 / ord);
  throw new ArgumentError('normOrd', "'fro', a number p ≥ 1 or Infinity", describeValue(ord));
}
