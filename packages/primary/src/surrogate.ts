import {
  attributionTensors,
  checkSeeds,
  exampleSizes,
  maskFeatures,
  preparePerturbationCall,
  restoreStructure,
  runCopies,
  withScope,
  type Copy,
  type LinearFit,
} from '@attribution/core';
import { TargetError, createRandom, type Model, type Random } from '@attribution/tensor';
import type { AttributionResult, ExampleSamplingOptions, PerturbationOptions } from './types.js';

/** How a surrogate method samples, weighs and fits (the parts LIME and Kernel SHAP differ in). */
export interface SurrogateSpec {
  readonly nSamples: number;
  /** The `s`-th interpretable sample for an example, drawn from `rng`: one bit per feature (1 = the feature keeps its input value). */
  sample(s: number, features: number, rng: Random): Uint8Array;
  /** The weight of a sample, from the bits and the flattened original and perturbed example (built on demand). */
  similarity(bits: Uint8Array, original: Float64Array, perturbed: () => Float64Array): number;
  /** Fits the interpretable linear model: rows of bits, outputs, weights. */
  fit(Z: Float64Array, y: Float64Array, w: Float64Array, features: number): LinearFit;
}

/** Options shared by Lime and KernelShap. */
export interface SurrogateOptions<T> extends PerturbationOptions<T>, ExampleSamplingOptions {
  /** Samples per example (default 25). */
  readonly nSamples?: number;
  /** Return attributions shaped like the inputs (default) or the `[N, M]` coefficients. */
  readonly returnInputShape?: boolean;
}

/**
 * Fits one interpretable linear model per example on perturbed copies of it (features present = input
 * values, absent = baselines) and returns the model's coefficients as attributions. Samples of all examples
 * are evaluated together, `perturbationsPerEval` samples per model call.
 */
export async function surrogateAttributions<T>(
  model: Model<T>,
  inputs: T | readonly T[],
  options: SurrogateOptions<T>,
  perEval: number,
  spec: SurrogateSpec,
): Promise<AttributionResult<T | T[], T>> {
  const b = model.backend;
  return withScope(b, async (scope) => {
    const call = await preparePerturbationCall(model, inputs, options, scope);
    if (call.k !== 1) throw new TargetError('a target that selects one output per example (LIME and Kernel SHAP fit one scalar)', `${call.k} outputs per example`);
    const features = await maskFeatures(b, options.featureMask, call.x);
    const minId = features.ids.reduce((a, v) => Math.min(a, v), Infinity);
    const m = features.maxId - minId + 1;
    const n = call.x.batchSize;
    const sizes = exampleSizes(call.x);
    const samples = spec.nSamples;
    // One stream for the call (examples drawn one after another), or one per example from its own seed.
    const seeds = checkSeeds(options.seed, n);
    const shared = typeof seeds === 'object' ? undefined : createRandom(seeds);
    const bits: Uint8Array[][] = Array.from({ length: n }, (_, i) => {
      const rng = shared ?? createRandom((seeds as readonly number[])[i]);
      return Array.from({ length: samples }, (_, s) => spec.sample(s, m, rng));
    });
    const ids = features.ids;
    // Sample s of example i keeps (takes from the input) the features whose bit is set.
    const kept = (z: Uint8Array): number[] => {
      const out: number[] = [];
      for (let f = 0; f < ids.length; f++) if (z[(ids[f] as number) - minId]) out.push(f);
      return out;
    };
    const copies: Copy[] = Array.from({ length: samples }, (_, s) => ({ base: 'baseline', switched: bits.map((perExample) => kept(perExample[s] as Uint8Array)) }));
    const y = Array.from({ length: n }, () => new Float64Array(samples));
    // The first model call, F(x), ran in preparePerturbationCall.
    const progress = { done: 1, total: 1 + Math.ceil(samples / perEval) };
    options.onProgress?.({ ...progress });
    await runCopies(model, call, features, copies, perEval, scope, { ...options, progress }, (first, values) => {
      for (let c = 0; c * n < values.length; c++) for (let i = 0; i < n; i++) (y[i] as Float64Array)[first + c] = values[c * n + i] as number;
    });
    const coefs: Float64Array[] = [];
    for (let i = 0; i < n; i++) {
      const original = flatExample(call.inputData, sizes, i);
      const Z = new Float64Array(samples * m);
      const w = new Float64Array(samples);
      for (let s = 0; s < samples; s++) {
        const z = (bits[i] as Uint8Array[])[s] as Uint8Array;
        Z.set(z, s * m);
        w[s] = spec.similarity(z, original, () => perturbedExample(call.inputData, call.baselineData, sizes, i, z, features, minId));
      }
      coefs.push(spec.fit(Z, y[i] as Float64Array, w, m).coef);
    }
    if (options.returnInputShape === false) {
      const flat = new Float64Array(n * m);
      coefs.forEach((c, i) => flat.set(c, i * m));
      const [t] = attributionTensors(b, [flat], [[n, m]], scope);
      return { attributions: scope.release(t as T) };
    }
    const attr = sizes.map((per) => new Float64Array(n * per));
    features.ids.forEach((id, f) => {
      features.positions(f).forEach((where, t) => {
        if (!where) return;
        for (let i = 0; i < n; i++) {
          const list = where instanceof Int32Array ? where : (where[i] as Int32Array);
          const value = (coefs[i] as Float64Array)[id - minId] as number;
          for (const p of list) (attr[t] as Float64Array)[i * (sizes[t] as number) + p] = value;
        }
      });
    });
    return { attributions: restoreStructure(call.x, scope.release(attributionTensors(b, attr, call.x.shapes, scope))) };
  });
}

function flatExample(data: readonly Float64Array[], sizes: readonly number[], i: number): Float64Array {
  const out = new Float64Array(sizes.reduce((a, v) => a + v, 0));
  let offset = 0;
  data.forEach((d, t) => {
    const per = sizes[t] as number;
    out.set(d.subarray(i * per, (i + 1) * per), offset);
    offset += per;
  });
  return out;
}

function perturbedExample(
  inputs: readonly Float64Array[],
  baselines: readonly Float64Array[],
  sizes: readonly number[],
  i: number,
  z: Uint8Array,
  features: { ids: readonly number[]; positions(f: number): readonly (Int32Array | readonly Int32Array[] | undefined)[] },
  minId: number,
): Float64Array {
  const out = flatExample(baselines, sizes, i);
  const offsets = sizes.map((_, t) => sizes.slice(0, t).reduce((a, v) => a + v, 0));
  features.ids.forEach((id, f) => {
    if (!z[id - minId]) return;
    features.positions(f).forEach((where, t) => {
      if (!where) return;
      const list = where instanceof Int32Array ? where : (where[i] as Int32Array);
      const per = sizes[t] as number;
      for (const p of list) out[(offsets[t] as number) + p] = (inputs[t] as Float64Array)[i * per + p] as number;
    });
  });
  return out;
}
