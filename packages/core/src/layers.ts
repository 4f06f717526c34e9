import { ArgumentError, describeValue, formatShape, sizeOf, stridesOf, type LayerRef, type Model, type Shape } from '@attribution/tensor';
import { repeatArgs, sliceArgs } from './args.js';
import { exampleRanges } from './batching.js';
import { joinRows, rowsOf } from './gradient-call.js';
import { throwIfAborted, type RunOptions } from './options.js';
import type { Scope } from './scope.js';
import { TargetSelection } from './target.js';

/** A layer: its name (an ONNX tensor or node name, a tfjs layer or tap name) or a full {@link LayerRef}. */
export type LayerName = string | LayerRef;

/** Validates a layer argument; `toInput` selects the layer's input instead of its output. */
export function resolveLayer(layer: unknown, toInput = false, argument = 'layer'): LayerRef {
  if (typeof layer === 'string' && layer.length > 0) return toInput ? { layer, side: 'input' } : { layer };
  if (layer && typeof layer === 'object' && typeof (layer as LayerRef).layer === 'string' && (layer as LayerRef).layer.length > 0) {
    const ref = layer as LayerRef;
    if (ref.side !== undefined && ref.side !== 'output' && ref.side !== 'input') {
      throw new ArgumentError(`${argument}.side`, "'output' or 'input'", describeValue(ref.side));
    }
    if (ref.index !== undefined && !(typeof ref.index === 'number' && Number.isInteger(ref.index) && ref.index >= 0)) {
      throw new ArgumentError(`${argument}.index`, 'a non-negative integer (which of the layer\'s tensors)', describeValue(ref.index));
    }
    return toInput && !ref.side ? { ...ref, side: 'input' } : ref;
  }
  throw new ArgumentError(argument, 'a layer name (e.g. an ONNX tensor name or a tfjs layer/tap name) or { layer, side?, index? }', describeValue(layer));
}

/** Layer activations at the inputs, evaluated in calls of at most `maxRows` examples. Owned by `scope`. */
export async function layerActivations<T>(
  model: Model<T>,
  inputs: readonly T[],
  args: readonly unknown[],
  refs: readonly LayerRef[],
  scope: Scope<T>,
  run: RunOptions & { readonly maxRows?: number } = {},
): Promise<T[]> {
  const n = model.backend.shape(inputs[0] as T)[0] as number;
  const parts: T[][] = [];
  const ranges = exampleRanges(n, 1, run.maxRows);
  for (const [start, end] of ranges) {
    throwIfAborted(run.signal);
    const { output, captured } = await model.forward({
      inputs: rowsOf(model, inputs, start, end, scope),
      args: sliceArgs(model.backend, args, start, end, scope),
      capture: refs,
    });
    model.backend.dispose(output);
    parts.push(scope.track([...captured]));
    run.onProgress?.({ done: parts.length, total: ranges.length });
  }
  return joinRows(model, parts, scope);
}

/**
 * Layer activations at the inputs and at the baselines (both shaped like the inputs), from one stacked batch
 * `[x; x′]`: one model call instead of two whenever `2N` rows fit in `maxRows`. Returns, per layer, the
 * activations at the inputs and at the baselines. Owned by `scope`.
 */
export async function activationsAtEnds<T>(
  model: Model<T>,
  inputs: readonly T[],
  baselines: readonly T[],
  args: readonly unknown[],
  refs: readonly LayerRef[],
  scope: Scope<T>,
  run: RunOptions & { readonly maxRows?: number } = {},
): Promise<[T[], T[]]> {
  const b = model.backend;
  const stacked = inputs.map((x, i) => scope.track(b.concat([x, baselines[i] as T], 0)));
  const doubled = repeatArgs(b, args, 2, scope);
  const acts = await layerActivations(model, stacked, doubled, refs, scope, run);
  scope.free(stacked);
  scope.free(doubled.filter((a): a is T => b.isTensor(a) && !args.includes(a)));
  // Rows are batch-major, so the first half comes from x and the second from x′, also for a layer whose
  // first dimension is not the batch (e.g. [2N·T, H] after a reshape).
  const half = (t: T, first: boolean): T => {
    const shape = b.shape(t);
    const rows = (shape[0] as number) / 2;
    return scope.track(b.slice(t, shape.map((_, d) => (d === 0 && !first ? rows : 0)), shape.map((s, d) => (d === 0 ? rows : s))));
  };
  const ends: [T[], T[]] = [acts.map((a) => half(a, true)), acts.map((a) => half(a, false))];
  scope.free(acts);
  return ends;
}

/**
 * Which neuron of a layer to explain: an index into the layer output without the batch dimension (a number
 * for 2-D layers, or one index per dimension; fewer indices select a block), `{ block }` with per
 * dimension an index or a `[start, end)` range (the block is summed), or a function of the layer output
 * returning one value per example (backends that differentiate JavaScript only).
 */
export type NeuronSelector<T> = number | readonly number[] | { readonly block: readonly (number | readonly [number, number])[] } | ((layer: T) => T);

/** A neuron selector resolved against the layer's shape: positions to weight, or a function. */
export type ResolvedNeuron<T> = { readonly selection: TargetSelection } | { readonly select: (layer: T) => T };

/** Resolves a neuron selector against the layer output shape `[N, …]`. */
export function resolveNeuron<T>(selector: unknown, layerShape: Shape): ResolvedNeuron<T> {
  if (typeof selector === 'function') return { select: selector as (layer: T) => T };
  const rest = layerShape.slice(1);
  const shapeText = formatShape(rest);
  let parts: readonly unknown[];
  if (typeof selector === 'number') parts = [selector];
  else if (Array.isArray(selector)) parts = selector;
  else if (selector && typeof selector === 'object' && Array.isArray((selector as { block?: unknown }).block)) parts = (selector as { block: unknown[] }).block;
  else throw new ArgumentError('neuronSelector', `an index into the layer output of shape ${shapeText}, { block: [...] } or a function`, describeValue(selector));
  if (parts.length > rest.length) {
    throw new ArgumentError('neuronSelector', `at most ${rest.length} indices for a layer output of shape ${shapeText} (without the batch dimension)`, describeValue(selector));
  }
  const ranges = rest.map((size, d): [number, number] => {
    const p = parts[d];
    if (p === undefined) return [0, size];
    if (typeof p === 'number' && Number.isInteger(p)) {
      const i = p < 0 ? p + size : p;
      if (i < 0 || i >= size) {
        throw new ArgumentError('neuronSelector', `index ${d} in [${-size}, ${size}) for a layer output of shape ${shapeText}`, describeValue(selector));
      }
      return [i, i + 1];
    }
    if (Array.isArray(p) && p.length === 2 && p.every((v) => Number.isInteger(v)) && (p[0] as number) >= 0 && (p[0] as number) < (p[1] as number) && (p[1] as number) <= size) {
      return [p[0] as number, p[1] as number];
    }
    throw new ArgumentError('neuronSelector', `an index or a [start, end) range within ${size} for dimension ${d} of ${shapeText}`, describeValue(p));
  });
  const strides = stridesOf(rest);
  const positions: number[] = [];
  const index = ranges.map((r) => r[0]);
  const count = ranges.reduce((a, r) => a * (r[1] - r[0]), 1);
  for (let k = 0; k < count; k++) {
    positions.push(index.reduce((s, v, d) => s + v * (strides[d] as number), 0));
    for (let d = ranges.length - 1; d >= 0; d--) {
      index[d] = (index[d] as number) + 1;
      if ((index[d] as number) < (ranges[d] as [number, number])[1]) break;
      index[d] = (ranges[d] as [number, number])[0];
    }
  }
  if (sizeOf(rest) === 0) throw new ArgumentError('neuronSelector', 'a non-empty layer output', shapeText);
  return { selection: TargetSelection.fromPositions(layerShape, Int32Array.from(positions)) };
}
