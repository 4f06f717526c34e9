import { ArgumentError, ShapeError, formatShape } from '@attribution/tensor';
import { checkChoice, checkInteger } from './errors.js';
import type { Grid } from './grid.js';

/**
 * Where the channel axis of an image-like array is: `'chw'` for `(C, H, W)` / `(N, C, H, W)` (PyTorch, ONNX),
 * `'hwc'` for `(H, W, C)` / `(N, H, W, C)` (TensorFlow.js, canvas pixels, Captum's NumPy convention).
 */
export type Layout = 'chw' | 'hwc';

/** Every {@link Layout}. */
export const LAYOUTS: readonly Layout[] = ['chw', 'hwc'];

/** An image-like array rearranged to channels-last `(H, W, C)` float64 values. */
export interface Planes {
  /** Rows. */
  readonly height: number;
  /** Columns. */
  readonly width: number;
  /** Values per pixel. */
  readonly channels: number;
  /** `height · width · channels` values, channels fastest. */
  readonly data: Float64Array;
}

/**
 * Rearranges a rank-2 `(H, W)`, rank-3 or rank-4 (batch) grid to channels-last planes.
 * A rank-3/4 grid needs an explicit `layout`; a batch of more than one needs `batchIndex`.
 * @internal
 */
export function toPlanes(argument: string, g: Grid, layout: unknown, layoutArgument: string, batchIndex: unknown): Planes {
  const rank = g.shape.length;
  if (rank < 2 || rank > 4) {
    throw new ShapeError(`${argument}.shape`, 'rank 2 (H, W), 3 (C, H, W or H, W, C) or 4 (N, C, H, W or N, H, W, C)', formatShape(g.shape));
  }
  let shape = g.shape;
  let offset = 0;
  if (rank === 4) {
    const n = shape[0] as number;
    if (batchIndex === undefined && n !== 1) {
      throw new ArgumentError('batchIndex', `the index of the example to draw (the batch has ${n})`, 'undefined');
    }
    const index = batchIndex === undefined ? 0 : checkInteger('batchIndex', batchIndex, 0, n - 1);
    shape = shape.slice(1);
    offset = index * (shape[0] as number) * (shape[1] as number) * (shape[2] as number);
  }
  let height: number;
  let width: number;
  let channels: number;
  let chw = false;
  if (shape.length === 2) {
    [height, width] = shape as [number, number];
    channels = 1;
  } else {
    if (layout === undefined) {
      throw new ArgumentError(
        layoutArgument,
        `'chw' or 'hwc' for the rank-${rank} ${argument} of shape ${formatShape(g.shape)}`,
        'undefined',
        'The channel axis is never guessed.',
      );
    }
    chw = checkChoice(layoutArgument, layout, LAYOUTS) === 'chw';
    if (chw) [channels, height, width] = shape as [number, number, number];
    else [height, width, channels] = shape as [number, number, number];
  }
  if (height === 0 || width === 0 || channels === 0) {
    throw new ShapeError(`${argument}.shape`, 'a non-empty image (H, W and C ≥ 1)', formatShape(g.shape));
  }
  const plane = height * width;
  const out = new Float64Array(plane * channels);
  const src = g.data;
  if (chw) {
    for (let c = 0; c < channels; c++) {
      for (let p = 0; p < plane; p++) out[p * channels + c] = src[offset + c * plane + p] as number;
    }
  } else {
    for (let i = 0; i < out.length; i++) out[i] = src[offset + i] as number;
  }
  return { height, width, channels, data: out };
}
