import { checkInteger, checkRowLimit, repeatRows, type PreparedInputs, type Scope } from '@attribution/core';
import { ArgumentError, ShapeError, sizeOf, type Backend } from '@attribution/tensor';

/** Chunks of perturbation samples, as Captum's metrics batch them: `s` samples of every example per chunk. */
export interface SampleChunk {
  /** The first sample index of the chunk. */
  readonly first: number;
  /** Samples per example in this chunk. */
  readonly count: number;
  /** Global ids of the chunk's rows, example-major: row k is sample `first + k mod count` of example `⌊k / count⌋`, id `example·K + sample`. */
  readonly rows: readonly number[];
}

/**
 * Splits `K` samples per example into chunks of `min(max(⌊maxExamplesPerBatch / N⌋, 1), K)` samples (Captum's
 * `max_examples_per_batch`), so each model call sees at most `max(maxExamplesPerBatch, N)` rows.
 */
export function sampleChunks(samples: number, examples: number, maxExamplesPerBatch: unknown): SampleChunk[] {
  const limit = checkRowLimit('maxExamplesPerBatch', maxExamplesPerBatch);
  const per = limit === undefined ? samples : Math.min(Math.max(Math.floor(limit / examples), 1), samples);
  const chunks: SampleChunk[] = [];
  for (let first = 0; first < samples; first += per) {
    const count = Math.min(per, samples - first);
    const rows = Array.from({ length: examples * count }, (_, k) => Math.floor(k / count) * samples + first + (k % count));
    chunks.push({ first, count, rows });
  }
  return chunks;
}

/** Checks `nPerturbSamples` (default 10). */
export function checkSamples(value: unknown): number {
  return checkInteger('nPerturbSamples', value ?? 10, 1);
}

/** Each tensor with every example repeated `times` times in place (example-major); owned by `scope`. */
export function expandExamples<T>(b: Backend<T>, tensors: readonly T[], times: number, scope: Scope<T>): T[] {
  return tensors.map((t) => scope.track(repeatRows(b, t, times)));
}

/** Per row of `t` (`[rows, …]`), the sum of its elements, on the host. */
export async function rowSums<T>(b: Backend<T>, t: T): Promise<Float64Array> {
  const shape = b.shape(t);
  const rows = shape[0] as number;
  const per = sizeOf(shape.slice(1));
  const data = await b.data(t);
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let p = 0; p < per; p++) s += Number(data[r * per + p]);
    out[r] = s;
  }
  return out;
}

/** Checks that `attributions` match the inputs tensor by tensor in shape; returns them as a list. */
export function checkAttributions<T>(b: Backend<T>, attributions: unknown, x: PreparedInputs<T>, argument = 'attributions'): T[] {
  const list = Array.isArray(attributions) ? (attributions as unknown[]) : [attributions];
  if (list.length !== x.tensors.length) throw new ArgumentError(argument, `one tensor per input (${x.tensors.length})`, `${list.length}`);
  return list.map((a, i) => {
    const name = x.single ? argument : `${argument}[${i}]`;
    if (!b.isTensor(a)) throw new ArgumentError(name, `a tensor of the ${b.name} backend`, typeof a);
    const want = x.shapes[i] as readonly number[];
    const got = b.shape(a);
    if (got.length !== want.length || got.some((d, k) => d !== want[k])) {
      throw new ShapeError(name, `the shape of its input, [${want.join(', ')}]`, `[${got.join(', ')}]`);
    }
    return a;
  });
}
