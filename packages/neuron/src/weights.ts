import type { Scope } from '@attribution/core';
import { toNumbers, type Backend } from '@attribution/tensor';
import type { NeuronCall } from './neuron-attribution.js';

/**
 * Weights selecting the neuron in a step-major batch of `scales.length` copies of the examples, copy `s`
 * scaled by `scales[s]` and row `r` further by `rowScales?.[r]`: over the layer for index selectors, one per
 * row for function selectors. Owned by `scope`.
 */
export function neuronWeights<T>(b: Backend<T>, call: NeuronCall<T>, scales: readonly number[], scope: Scope<T>, rowScales?: ArrayLike<number>): T {
  const n = call.x.batchSize;
  const rows = scales.length * n;
  const rowScale = (r: number): number => (scales[Math.floor(r / n)] as number) * (rowScales ? (rowScales[r] as number) : 1);
  if (!('selection' in call.neuron)) return scope.track(b.tensor(Float32Array.from({ length: rows }, (_, r) => rowScale(r)), [rows], 'float32'));
  if (!rowScales) return call.neuron.selection.weights(b, scales, scope);
  const selection = call.neuron.selection;
  const size = selection.rowSize;
  const host = new Float32Array(rows * size);
  for (let r = 0; r < rows; r++) for (const p of selection.positions[r % n] as Int32Array) host[r * size + p] = rowScale(r);
  return scope.track(b.tensor(host, [rows, ...selection.outputShape.slice(1)], 'float32'));
}

/** The neuron's value in a layer-shaped tensor, per row: the block sum, or the selector function. */
export async function neuronValues<T>(b: Backend<T>, call: NeuronCall<T>, layer: T, rows: number): Promise<Float64Array> {
  if (!('selection' in call.neuron)) {
    const select = call.neuron.select;
    const picked = b.tidy(() => select(layer));
    const values = Float64Array.from(toNumbers(await b.data(picked)));
    b.dispose(picked);
    return values;
  }
  return call.neuron.selection.sums(toNumbers(await b.data(layer)), rows);
}
