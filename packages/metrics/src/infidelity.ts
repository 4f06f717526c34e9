import {
  RUN_OPTION_NAMES,
  callSeed,
  checkBoolean,
  checkOptionNames,
  checkSeed,
  normalizeArgs,
  prepareBaselines,
  prepareInputs,
  prepareTarget,
  probeModel,
  repeatInterleaveArgs,
  rowNoise,
  selectedOutputSums,
  targetRowLimit,
  throwIfAborted,
  withScope,
  type Baselines,
  type RunOptions,
  type Target,
} from '@attribution/core';
import { ArgumentError, sizeOf, toNumbers, type Backend, type Model } from '@attribution/tensor';
import { checkAttributions, checkSamples, expandExamples, rowSums, sampleChunks } from './samples.js';

/** What a perturbation function returns: the perturbations `I` and the perturbed inputs `x̃`, one per input. */
export interface Perturbation<T> {
  readonly perturbations: T | readonly T[];
  readonly perturbedInputs: T | readonly T[];
}

/** Where a perturbation function's rows come from, for seeded draws. */
export interface PerturbationContext<T> {
  readonly backend: Backend<T>;
  /** Global id of each row (`example · nPerturbSamples + sample`): draws keyed by it do not depend on batching. */
  readonly rows: readonly number[];
  /** The call's seed. */
  readonly seed: number;
}

/**
 * Captum's `perturb_func` for infidelity: receives the inputs with every example repeated once per sample in
 * the chunk (example-major) and, when baselines were given, the baselines expanded the same way; returns
 * `(I, x̃)`. Returned tensors are freed by the metric unless they are tensors it passed in.
 */
export type InfidelityPerturbFunc<T> = (inputs: T[], baselines: T[] | undefined, context: PerturbationContext<T>) => Perturbation<T> | Promise<Perturbation<T>>;

/** Options of {@link infidelity}. */
export interface InfidelityOptions<T> extends RunOptions {
  /** The perturbation (default: Gaussian noise ε of standard deviation `stdev`, `x̃ = x − ε`, `I = ε`). */
  readonly perturbFunc?: InfidelityPerturbFunc<T>;
  /** Standard deviation of the default perturbation (default 0.003, as Captum's documentation example). */
  readonly stdev?: number;
  /** Baselines handed to the perturbation function (expanded like the inputs). */
  readonly baselines?: Baselines<T>;
  readonly additionalForwardArgs?: unknown;
  /** Which output: one value per example (see the core `Target`). */
  readonly target?: Target<T> | T;
  /** Perturbations per example (default 10). */
  readonly nPerturbSamples?: number;
  /** The most rows per model call (samples of all examples are chunked as in Captum). */
  readonly maxExamplesPerBatch?: number;
  /** Scale the attributions by the best-fitting β first: the result is then invariant to their scale (default false). */
  readonly normalize?: boolean;
  /** Seed of the default perturbation (default: random). */
  readonly seed?: number;
}

const OPTION_NAMES = ['perturbFunc', 'stdev', 'baselines', 'additionalForwardArgs', 'target', 'nPerturbSamples', 'maxExamplesPerBatch', 'normalize', 'seed', ...RUN_OPTION_NAMES];

/** The default perturbation: `ε ~ N(0, stdev²)` per element, `x̃ = x − ε`, `I = ε`. */
export function gaussianPerturbation<T>(stdev: number): InfidelityPerturbFunc<T> {
  return (inputs, _baselines, { backend: b, rows, seed }) => {
    const noise = inputs.map((x, i) => {
      const shape = b.shape(x);
      const per = sizeOf(shape.slice(1));
      const data = new Float32Array(rows.length * per);
      rows.forEach((r, k) => rowNoise(seed, r, per, stdev, i, data, k * per));
      return b.tensor(data, shape, 'float32');
    });
    return { perturbations: noise, perturbedInputs: inputs.map((x, i) => b.tidy(() => b.sub(x, noise[i] as T))) };
  };
}

/**
 * Infidelity (Yeh et al., 2019), as Captum computes it: for perturbations `I_ij` of example i,
 * `a_ij = Σ attr_i ⊙ I_ij` and `b_ij = F(x_i) − F(x̃_ij)`; the result is `(1/n) Σ_j (a_ij − b_ij)²` per example
 * (with `normalize`, `a_ij` is first scaled by `β_i = Σ_j a_ij b_ij / Σ_j a_ij²`). Returns a tensor `[N]` owned by
 * the caller. One model call for `F(x)` and one per chunk of samples; no gradients.
 */
export async function infidelity<T>(model: Model<T>, inputs: T | readonly T[], attributions: T | readonly T[], options: InfidelityOptions<T> = {}): Promise<T> {
  checkOptionNames(options, OPTION_NAMES, 'infidelity');
  const samples = checkSamples(options.nPerturbSamples);
  const normalize = checkBoolean('normalize', options.normalize ?? false);
  const stdev = options.stdev ?? 0.003;
  if (typeof stdev !== 'number' || !(stdev >= 0) || !Number.isFinite(stdev)) throw new ArgumentError('stdev', 'a finite number ≥ 0', String(stdev));
  if (options.perturbFunc !== undefined && typeof options.perturbFunc !== 'function') throw new ArgumentError('perturbFunc', 'a function (inputs, baselines, context) => { perturbations, perturbedInputs }', typeof options.perturbFunc);
  const perturb = options.perturbFunc ?? gaussianPerturbation<T>(stdev);
  const seed = callSeed(checkSeed(options.seed));
  const b = model.backend;
  return withScope(b, async (scope) => {
    const x = await prepareInputs(b, inputs, { needsGradient: false });
    const attrs = checkAttributions(b, attributions, x);
    const n = x.batchSize;
    const args = normalizeArgs(options.additionalForwardArgs);
    const spec = await prepareTarget(model, options.target, x.tensors, args, scope, { maxRows: targetRowLimit(options), signal: options.signal });
    const { selection, selectedSums } = await probeModel(model, x.tensors, args, spec, true, scope, true);
    const fx = selectedSums as Float64Array;
    const baselines = options.baselines === undefined ? undefined : await prepareBaselines(b, options.baselines, x, scope);
    const a = new Float64Array(n * samples);
    const diff = new Float64Array(n * samples);
    const chunks = sampleChunks(samples, n, options.maxExamplesPerBatch);
    let done = 0;
    for (const chunk of chunks) {
      throwIfAborted(options.signal);
      const own = [...expandExamples(b, x.tensors, chunk.count, scope)];
      const expandedBaselines = baselines && expandExamples(b, baselines, chunk.count, scope);
      const result = await perturb(own, expandedBaselines, { backend: b, rows: chunk.rows, seed });
      const keep = new Set<unknown>([...own, ...(expandedBaselines ?? []), ...x.tensors, ...attrs, ...(baselines ?? [])]);
      const perturbations = listOf(b, result?.perturbations, x.tensors.length, 'perturbFunc(…).perturbations');
      const perturbed = listOf(b, result?.perturbedInputs, x.tensors.length, 'perturbFunc(…).perturbedInputs');
      const returned = [...new Set([...perturbations, ...perturbed])].filter((t) => !keep.has(t));
      scope.track(returned);
      // a_ij: Σ over every element of every input of attr_i ⊙ I_ij.
      const dots = new Float64Array(chunk.rows.length);
      for (let i = 0; i < attrs.length; i++) {
        const expandedAttr = scope.track(expandExamples(b, [attrs[i] as T], chunk.count, scope)[0] as T);
        const product = scope.track(b.mul(expandedAttr, perturbations[i] as T));
        (await rowSums(b, product)).forEach((v, k) => (dots[k] = (dots[k] as number) + v));
        scope.free([expandedAttr, product]);
      }
      const fPerturbed = await selectedOutputSums(model, perturbed, repeatInterleaveArgs(b, args, chunk.count, scope), selection.repeatInterleave(chunk.count), undefined, scope);
      chunk.rows.forEach((row, k) => {
        a[row] = dots[k] as number;
        diff[row] = (fx[Math.floor(row / samples)] as number) - (fPerturbed[k] as number);
      });
      scope.free([...own, ...(expandedBaselines ?? []), ...returned]);
      options.onProgress?.({ done: ++done, total: chunks.length });
    }
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      let beta = 1;
      if (normalize) {
        let ab = 0;
        let aa = 0;
        for (let j = 0; j < samples; j++) {
          ab += (a[i * samples + j] as number) * (diff[i * samples + j] as number);
          aa += (a[i * samples + j] as number) ** 2;
        }
        beta = ab / (aa === 0 ? 1 : aa);
      }
      let s = 0;
      for (let j = 0; j < samples; j++) s += (beta * (a[i * samples + j] as number) - (diff[i * samples + j] as number)) ** 2;
      out[i] = s / samples;
    }
    return b.tensor(out, [n], 'float32');
  });
}

/** A perturbation function's output as one tensor per input, checked. */
function listOf<T>(b: Backend<T>, value: T | readonly T[] | undefined, count: number, argument: string): T[] {
  const list = Array.isArray(value) ? (value as T[]) : value === undefined ? [] : [value as T];
  if (list.length !== count || !list.every((t) => b.isTensor(t))) {
    throw new ArgumentError(argument, `${count} tensor(s) of the ${b.name} backend, one per input`, Array.isArray(value) ? `an array of ${value.length}` : typeof value);
  }
  return list;
}

/**
 * Captum's `infidelity_perturb_func_decorator`: turns a function returning only the perturbed inputs `x̃` into
 * an {@link InfidelityPerturbFunc}, with `I = (x − x̃) / (x − x′)` when baselines are given, `(x − x̃) / x`
 * otherwise (zero denominators count as 1), or `I = x − x̃` with `multiplyByInputs: false`.
 */
export function infidelityPerturbFunc<T>(
  perturbed: (inputs: T[], baselines: T[] | undefined, context: PerturbationContext<T>) => T | readonly T[] | Promise<T | readonly T[]>,
  options: { readonly multiplyByInputs?: boolean } = {},
): InfidelityPerturbFunc<T> {
  const multiply = checkBoolean('multiplyByInputs', options.multiplyByInputs ?? true);
  return async (inputs, baselines, context) => {
    const b = context.backend;
    const xt = listOf(b, await perturbed(inputs, baselines, context), inputs.length, 'perturbed inputs');
    const perturbations = await Promise.all(
      inputs.map(async (x, i) => {
        const change = b.sub(x, xt[i] as T);
        if (!multiply) return change;
        const denominator = baselines ? b.sub(x, baselines[i] as T) : x;
        const [c, d] = await Promise.all([b.data(change), b.data(denominator)]);
        if (denominator !== x) b.dispose(denominator);
        b.dispose(change);
        const [changes, denominators] = [toNumbers(c), toNumbers(d)];
        const ratio = Float32Array.from(changes, (v, k) => {
          const den = denominators[k] as number;
          return v / (den === 0 ? 1 : den);
        });
        return b.tensor(ratio, b.shape(x), 'float32');
      }),
    );
    return { perturbations, perturbedInputs: xt };
  };
}
