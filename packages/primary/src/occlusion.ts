import {
  Attribution,
  RUN_OPTION_NAMES,
  attributionTensors,
  checkOptionNames,
  checkPerturbationsPerEval,
  creditFeature,
  exampleSizes,
  preparePerturbationCall,
  restoreStructure,
  runCopies,
  windowFeatures,
  withScope,
  type Copy,
} from '@attribution/core';
import { ArgumentError, describeValue, formatShape } from '@attribution/tensor';
import type { AttributionResult, GradientOptions } from './types.js';

/** Options of {@link Occlusion.attribute}. */
export interface OcclusionOptions<T> extends GradientOptions<T> {
  /** The window per input, one size per non-batch dimension (a bare list for a single input). */
  readonly slidingWindowShapes: readonly number[] | readonly (readonly number[])[];
  /** Steps between windows: one number for all, or per input a number or one per dimension (default 1). */
  readonly strides?: number | readonly (number | readonly number[])[];
  /** What occluded positions take: a number, a tensor broadcastable to the input, or one per input (default 0). */
  readonly baselines?: number | T | readonly (number | T)[];
  /** Occluded copies of the batch per model call (default 1). */
  readonly perturbationsPerEval?: number;
}

const OPTION_NAMES = ['slidingWindowShapes', 'strides', 'baselines', 'target', 'additionalForwardArgs', 'perturbationsPerEval', ...RUN_OPTION_NAMES];

/**
 * Occlusion (Zeiler and Fergus, 2014): a window slides over each input; the output change when the window is
 * replaced by the baseline is credited to every position it covers, and positions covered by several
 * windows get the average. `1 + ⌈windows / perturbationsPerEval⌉` model calls.
 */
export class Occlusion<T> extends Attribution<T> {
  override get multipliesByInputs(): boolean {
    return true;
  }

  attribute(inputs: T, options: OcclusionOptions<T>): Promise<AttributionResult<T, T>>;
  attribute(inputs: readonly T[], options: OcclusionOptions<T>): Promise<AttributionResult<T[], T>>;
  async attribute(inputs: T | readonly T[], options: OcclusionOptions<T>): Promise<AttributionResult<T | T[], T>> {
    checkOptionNames(options, OPTION_NAMES, 'Occlusion.attribute');
    const perEval = checkPerturbationsPerEval(options?.perturbationsPerEval);
    const { model, backend: b } = this;
    return withScope(b, async (scope) => {
      const call = await preparePerturbationCall(model, inputs, options, scope);
      const shapes = call.x.shapes;
      const { windows, strides } = occlusionGeometry(shapes, options.slidingWindowShapes, options.strides);
      const features = windowFeatures(shapes, windows, strides);
      const { k, f0 } = call;
      const n = call.x.batchSize;
      const sizes = exampleSizes(call.x);
      const sums = sizes.map((per) => new Float64Array(n * k * per));
      const counts = sizes.map((per) => new Float64Array(per));
      for (const f of features.ids) {
        features.positions(f).forEach((w, t) => {
          if (w instanceof Int32Array) for (const p of w) (counts[t] as Float64Array)[p] = ((counts[t] as Float64Array)[p] as number) + 1;
        });
      }
      const copies: Copy[] = features.ids.map((f) => ({ base: 'input', switched: [f] }));
      const progress = { done: 1, total: 1 + Math.ceil(copies.length / perEval) };
      await runCopies(model, call, features, copies, perEval, scope, { ...options, progress }, (first, values) => {
        for (let c = 0; c * n * k < values.length; c++) {
          creditFeature(sums, sizes, features.positions(first + c), n, k, (i, j) => (f0[i * k + j] as number) - (values[(c * n + i) * k + j] as number));
        }
      });
      const averaged = sums.map((s, t) => s.map((v, q) => v / Math.max(1, (counts[t] as Float64Array)[q % (sizes[t] as number)] as number)));
      const outShapes = shapes.map((s) => [n * k, ...s.slice(1)]);
      return { attributions: restoreStructure(call.x, scope.release(attributionTensors(b, averaged, outShapes, scope))) };
    });
  }
}

/** Validates windows and strides against the input shapes (Captum's rules). */
function occlusionGeometry(
  shapes: readonly (readonly number[])[],
  windowsOption: unknown,
  stridesOption: unknown,
): { windows: number[][]; strides: number[][] } {
  const single = shapes.length === 1;
  const rawWindows = Array.isArray(windowsOption) && (windowsOption.length === 0 || typeof windowsOption[0] === 'number') && single ? [windowsOption] : windowsOption;
  if (!Array.isArray(rawWindows) || rawWindows.length !== shapes.length) {
    throw new ArgumentError('slidingWindowShapes', `one window per input (${shapes.length}), each with one size per non-batch dimension`, describeValue(windowsOption));
  }
  const windows = rawWindows.map((w, t) => {
    const dims = (shapes[t] as readonly number[]).slice(1);
    const name = single ? 'slidingWindowShapes' : `slidingWindowShapes[${t}]`;
    if (!Array.isArray(w) || w.length !== dims.length || !w.every((v) => Number.isInteger(v) && v >= 1)) {
      throw new ArgumentError(name, `${dims.length} positive integers (the non-batch dimensions of ${formatShape(dims)})`, describeValue(w));
    }
    w.forEach((v: number, i) => {
      if (v > (dims[i] as number)) throw new ArgumentError(name, `window sizes at most the input's ${formatShape(dims)}`, describeValue(w));
    });
    return w as number[];
  });
  const strides = windows.map((w, t) => {
    const name = single ? 'strides' : `strides[${t}]`;
    let raw: unknown = stridesOption ?? 1;
    if (Array.isArray(stridesOption)) {
      const flat = stridesOption.every((v) => typeof v === 'number');
      raw = single && flat && stridesOption.length === w.length ? stridesOption : stridesOption[t];
    }
    const list = typeof raw === 'number' ? w.map(() => raw) : raw;
    if (!Array.isArray(list) || list.length !== w.length || !list.every((v) => Number.isInteger(v) && v >= 1)) {
      throw new ArgumentError(name, `a positive integer or ${w.length} of them`, describeValue(stridesOption));
    }
    return list as number[];
  });
  return { windows, strides };
}
