import { createRandom, type Backend, type Model } from '@attribution/tensor';
import { gatherArgs } from './args.js';
import { exampleRanges } from './batching.js';
import type { PreparedInputs } from './inputs.js';
import { addRowNoise } from './noise.js';
import { throwIfAborted, type RunOptions } from './options.js';
import type { Scope } from './scope.js';
import type { TargetSelection } from './target.js';

/** One chunk of GradientSHAP samples: rows of the example-major expansion (N·nSamples rows in all). */
export interface ShapChunk<T> {
  /** Expanded-row ids of the chunk. */
  readonly rows: readonly number[];
  /** The example of each row. */
  readonly examples: readonly number[];
  /** Noisy inputs x̃ per input tensor. */
  readonly noisy: readonly T[];
  /** Drawn references b per input tensor. */
  readonly references: readonly T[];
  /** Path points b + α(x̃ − b). */
  readonly points: readonly T[];
  /** Additional arguments for the chunk's rows. */
  readonly args: readonly unknown[];
  /** The target for the chunk's rows. */
  readonly selection: TargetSelection;
}

/**
 * Walks GradientSHAP's samples in chunks of at most `maxRows` rows: for expanded row r (example ⌊r/S⌋),
 * a reference row drawn uniformly from the distribution, Gaussian noise on the input, and α ~ U(0, 1).
 * References and α are drawn up front, noise per row from the seed, so chunking never changes results.
 */
export async function forEachShapSample<T>(
  model: Model<T>,
  call: { readonly x: PreparedInputs<T>; readonly args: readonly unknown[]; readonly selection: TargetSelection },
  distribution: { readonly tensors: readonly T[]; readonly rows: number },
  options: { readonly samples: number; readonly stdevs: readonly number[]; readonly seed: number; readonly maxRows?: number },
  scope: Scope<T>,
  run: RunOptions,
  body: (chunk: ShapChunk<T>) => Promise<void>,
): Promise<void> {
  const b: Backend<T> = model.backend;
  const rowsTotal = call.x.batchSize * options.samples;
  const rng = createRandom(options.seed);
  const refIndex = Array.from({ length: rowsTotal }, () => rng.int(distribution.rows));
  const alphas = Array.from({ length: rowsTotal }, () => rng.next());
  const ranges = exampleRanges(rowsTotal, 1, options.maxRows);
  let done = 0;
  for (const [start, end] of ranges) {
    throwIfAborted(run.signal);
    const rows = Array.from({ length: end - start }, (_, k) => start + k);
    const examples = rows.map((r) => Math.floor(r / options.samples));
    const noisy = call.x.tensors.map((x, i) => scope.track(addRowNoise(b, scope.track(b.gather(x, examples, 0)), rows, options.seed, options.stdevs[i] as number, i)));
    const references = distribution.tensors.map((d) => scope.track(b.gather(d, rows.map((r) => refIndex[r] as number), 0)));
    const alpha = Float32Array.from(rows, (r) => alphas[r] as number);
    const points = noisy.map((x, i) =>
      scope.track(b.tidy(() => b.add(references[i] as T, b.mul(b.tensor(alpha, [rows.length, ...b.shape(x).slice(1).map(() => 1)], b.dtype(x)), b.sub(x, references[i] as T))))),
    );
    const args = gatherArgs(b, call.args, examples, scope);
    await body({ rows, examples, noisy, references, points, args, selection: call.selection.pick(examples) });
    scope.free([...noisy, ...references, ...points]);
    scope.free(args.filter((a): a is T => b.isTensor(a) && !call.args.includes(a)));
    run.onProgress?.({ done: ++done, total: ranges.length });
  }
}

/** Adds per-row values (`rows × per`) into per-example sums (`N × per`). */
export function addRowsToExamples(sum: Float64Array, data: ArrayLike<number>, examples: readonly number[], per: number): void {
  examples.forEach((e, k) => {
    for (let p = 0; p < per; p++) sum[e * per + p] = (sum[e * per + p] as number) + (data[k * per + p] as number);
  });
}
