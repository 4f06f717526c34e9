import {
  RUN_OPTION_NAMES,
  attributionTensors,
  creditFeature,
  exampleSizes,
  maskFeatures,
  preparePerturbationCall,
  restoreStructure,
  runCopies,
  withScope,
  type Copy,
  type MaskFeatures,
  type PerturbationCall,
  type Scope,
} from '@attribution/core';
import type { Model } from '@attribution/tensor';
import type { AttributionResult, PerturbationOptions } from './types.js';

export const SHAPLEY_OPTION_NAMES = ['baselines', 'target', 'additionalForwardArgs', 'featureMask', 'perturbationsPerEval', ...RUN_OPTION_NAMES];

/**
 * Shapley values from permutations of the features: each permutation switches features on one by one,
 * starting from the baselines, and credits each feature with the output change it causes; the result is
 * the average over the permutations. Feature ids run over `0 … max id` (missing ids contribute nothing).
 */
export async function shapleyFromPermutations<T>(
  model: Model<T>,
  inputs: T | readonly T[],
  options: PerturbationOptions<T>,
  perEval: number,
  permutations: (count: number, examples: number) => Iterable<Permutation>,
  total: (count: number) => number,
): Promise<AttributionResult<T | T[], T>> {
  const b = model.backend;
  return withScope(b, async (scope: Scope<T>) => {
    const call: PerturbationCall<T> = await preparePerturbationCall(model, inputs, options, scope);
    const features: MaskFeatures = await maskFeatures(b, options.featureMask, call.x);
    const count = features.maxId + 1;
    const { k } = call;
    const n = call.x.batchSize;
    const sizes = exampleSizes(call.x);
    const attr = sizes.map((per) => new Float64Array(n * k * per));
    const steps = Math.ceil(count / perEval);
    const perms = total(count);
    const progress = { done: 1, total: 2 + perms * steps };
    // F at the baselines: where every permutation starts.
    let start = new Float64Array(n * k);
    await runCopies(model, call, features, [{ base: 'baseline', switched: [] }], 1, scope, { ...options, progress }, (_f, values) => {
      start = Float64Array.from(values);
    });
    let used = 0;
    const known = (o: readonly (number | undefined)[]): number[] => o.filter((f): f is number => f !== undefined);
    for (const perm of permutations(count, n)) {
      used++;
      if (!Array.isArray(perm)) {
        // One ordering per example: copy t switches on each example's first t + 1 features.
        const orders = (perm as { perExample: readonly (readonly number[])[] }).perExample.map((p) => p.map((id) => features.indexOf.get(id)));
        let previous = start;
        const copies: Copy[] = Array.from({ length: count }, (_, t) => ({ base: 'baseline', switched: orders.map((o) => known(o.slice(0, t + 1))) }));
        await runCopies(model, call, features, copies, perEval, scope, { ...options, progress }, (first, values) => {
          for (let c = 0; c * n * k < values.length; c++) {
            const current = values.subarray(c * n * k, (c + 1) * n * k);
            const before = previous;
            orders.forEach((o, i) => {
              const f = o[first + c];
              if (f !== undefined) creditExample(attr, sizes, features.positions(f), i, k, (j) => (current[i * k + j] as number) - (before[i * k + j] as number));
            });
            previous = Float64Array.from(current);
          }
        });
        continue;
      }
      const order = (perm as readonly number[]).map((id) => features.indexOf.get(id));
      let previous = start;
      const copies: Copy[] = order.map((_, t) => ({
        base: 'baseline',
        switched: known(order.slice(0, t + 1)),
      }));
      await runCopies(model, call, features, copies, perEval, scope, { ...options, progress }, (first, values) => {
        for (let c = 0; c * n * k < values.length; c++) {
          const f = order[first + c];
          const current = values.subarray(c * n * k, (c + 1) * n * k);
          if (f !== undefined) {
            const before = previous;
            creditFeature(attr, sizes, features.positions(f), n, k, (i, j) => (current[i * k + j] as number) - (before[i * k + j] as number));
          }
          previous = Float64Array.from(current);
        }
      });
    }
    for (const a of attr) for (let q = 0; q < a.length; q++) a[q] = (a[q] as number) / Math.max(1, used);
    const shapes = call.x.shapes.map((s) => (k === 1 ? [...s] : [n, k, ...s.slice(1)]));
    return { attributions: restoreStructure(call.x, scope.release(attributionTensors(b, attr, shapes, scope))) };
  });
}

/** A feature ordering shared by every example, or one per example. */
export type Permutation = readonly number[] | { readonly perExample: readonly (readonly number[])[] };

/** Adds `d(j)` to the positions of one feature in example `i` only (outputs j < k). */
function creditExample(attr: readonly Float64Array[], sizes: readonly number[], where: ReturnType<MaskFeatures['positions']>, i: number, k: number, d: (j: number) => number): void {
  where.forEach((w, t) => {
    if (!w) return;
    const per = sizes[t] as number;
    const row = attr[t] as Float64Array;
    const list = w instanceof Int32Array ? w : (w[i] as Int32Array);
    for (let j = 0; j < k; j++) {
      const v = d(j);
      const base = (i * k + j) * per;
      for (const p of list) row[base + p] = (row[base + p] as number) + v;
    }
  });
}

/** All permutations of `0 … count−1` in lexicographic order. */
export function* allPermutations(count: number): Generator<number[]> {
  const a = Array.from({ length: count }, (_, i) => i);
  for (;;) {
    yield [...a];
    let i = count - 2;
    while (i >= 0 && (a[i] as number) > (a[i + 1] as number)) i--;
    if (i < 0) return;
    let j = count - 1;
    while ((a[j] as number) < (a[i] as number)) j--;
    [a[i], a[j]] = [a[j] as number, a[i] as number];
    a.splice(i + 1, count - i - 1, ...a.slice(i + 1).reverse());
  }
}
