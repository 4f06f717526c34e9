import { ModelError, toNumbers, type Backend } from '@attribution/tensor';

/**
 * Reads attributions back, checks that every value is finite (a NaN gradient must never pass silently) and
 * returns the per-example sums over all elements of all tensors.
 */
export async function attributionSums<T>(backend: Backend<T>, attributions: readonly T[]): Promise<Float64Array> {
  let sums: Float64Array | undefined;
  for (let i = 0; i < attributions.length; i++) {
    const t = attributions[i] as T;
    const rows = backend.shape(t)[0] ?? 1;
    sums ??= new Float64Array(rows);
    const data = toNumbers(await backend.data(t));
    const per = data.length / rows;
    for (let r = 0; r < rows; r++) {
      let s = 0;
      for (let j = r * per; j < (r + 1) * per; j++) {
        const v = data[j] as number;
        if (!Number.isFinite(v)) {
          throw new ModelError(
            `Attributions for input ${i} contain ${v} (example ${r}): the model's gradient is not finite there.`,
          );
        }
        s += v;
      }
      sums[r] = (sums[r] as number) + s;
    }
  }
  return sums ?? new Float64Array();
}

/**
 * Captum's convergence delta per example: `Σ attributions − (F(end) − F(start))`, as a float32 tensor of
 * shape `[N]` owned by the caller.
 */
export function convergenceDelta<T>(
  backend: Backend<T>,
  attributionTotals: Float64Array,
  fStart: Float64Array,
  fEnd: Float64Array,
): T {
  const delta = new Float32Array(attributionTotals.length);
  for (let i = 0; i < delta.length; i++) {
    delta[i] = (attributionTotals[i] as number) - ((fEnd[i] as number) - (fStart[i] as number));
  }
  return backend.tensor(delta, [delta.length], 'float32');
}
