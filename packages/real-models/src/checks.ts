import type { Box } from './images.js';

/** The index of the largest value of each row of a `[N, K]` array. */
export function argmaxRows(values: ArrayLike<number>, rows: number): number[] {
  const k = values.length / rows;
  return Array.from({ length: rows }, (_, r) => {
    let best = 0;
    for (let j = 1; j < k; j++) if ((values[r * k + j] as number) > (values[r * k + best] as number)) best = j;
    return best;
  });
}

/** A per-pixel map, row-major `[height, width]`. */
export interface PixelMap {
  readonly width: number;
  readonly height: number;
  readonly data: Float64Array;
}

/** An `[1, H, W, C]` (channels-last) attribution summed over its channels: one value per pixel. */
export function sumChannels(values: ArrayLike<number>, height: number, width: number): PixelMap {
  const c = values.length / (height * width);
  const data = new Float64Array(height * width);
  for (let p = 0; p < height * width; p++) {
    let s = 0;
    for (let k = 0; k < c; k++) s += values[p * c + k] as number;
    data[p] = s;
  }
  return { width, height, data };
}

/** Nearest-neighbour upsampling of an `h`×`w` map to `height`×`width` (integer factors: each cell a block). */
export function upsampleNearest(map: PixelMap, height: number, width: number): PixelMap {
  const data = new Float64Array(height * width);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(Math.floor((y * map.height) / height), map.height - 1);
    for (let x = 0; x < width; x++) data[y * width + x] = map.data[sy * map.width + Math.min(Math.floor((x * map.width) / width), map.width - 1)] as number;
  }
  return { width, height, data };
}

function inside(box: Box, x: number, y: number): boolean {
  return x >= box.x && x < box.x + box.width && y >= box.y && y < box.y + box.height;
}

/**
 * The share of a map's positive mass (Σ max(v, 0)) that lies inside `box`. With `abs`, of Σ |v|. A map with
 * no positive mass gives NaN (a test on it fails).
 */
export function massInside(map: PixelMap, box: Box, abs = false): number {
  let total = 0;
  let inBox = 0;
  for (let y = 0; y < map.height; y++) {
    for (let x = 0; x < map.width; x++) {
      const raw = map.data[y * map.width + x] as number;
      const v = abs ? Math.abs(raw) : Math.max(raw, 0);
      total += v;
      if (inside(box, x, y)) inBox += v;
    }
  }
  return inBox / total;
}

/** The share of the map's area that `box` covers (what {@link massInside} gives for a uniform map). */
export function areaShare(map: PixelMap, box: Box): number {
  return (box.width * box.height) / (map.width * map.height);
}

/**
 * Mean |v| inside `inner` over mean |v| on the border ring of `margin` pixels around the map's edge (how much
 * more the centre of a face crop matters than its edge).
 */
export function innerOverBorder(map: PixelMap, margin: number, abs = true): number {
  const inner: Box = { x: margin, y: margin, width: map.width - 2 * margin, height: map.height - 2 * margin };
  let sIn = 0;
  let nIn = 0;
  let sOut = 0;
  let nOut = 0;
  for (let y = 0; y < map.height; y++) {
    for (let x = 0; x < map.width; x++) {
      const raw = map.data[y * map.width + x] as number;
      const v = abs ? Math.abs(raw) : Math.max(raw, 0);
      if (inside(inner, x, y)) {
        sIn += v;
        nIn++;
      } else {
        sOut += v;
        nOut++;
      }
    }
  }
  return sIn / nIn / (sOut / nOut);
}

/**
 * Grad-CAM computed by hand from a channels-last layer activation `A` and the gradient `G` of the target with
 * respect to it (both `[N, H, W, C]`, flat): `map[n, h, w] = Σ_c mean_{h', w'}(G[n, h', w', c]) · A[n, h, w, c]`.
 */
export function gradCamByHand(acts: ArrayLike<number>, grads: ArrayLike<number>, shape: readonly number[]): Float64Array {
  const [n, h, w, c] = shape as [number, number, number, number];
  const out = new Float64Array(n * h * w);
  for (let b = 0; b < n; b++) {
    const weights = new Float64Array(c);
    for (let p = 0; p < h * w; p++) for (let k = 0; k < c; k++) weights[k] = (weights[k] as number) + (grads[(b * h * w + p) * c + k] as number);
    for (let k = 0; k < c; k++) weights[k] = (weights[k] as number) / (h * w);
    for (let p = 0; p < h * w; p++) {
      let s = 0;
      for (let k = 0; k < c; k++) s += (weights[k] as number) * (acts[(b * h * w + p) * c + k] as number);
      out[b * h * w + p] = s;
    }
  }
  return out;
}

/**
 * A Grad-CAM map from the library in the layout `[N, H, W]`: it may keep the layer's layout (`[N, H, W, 1]`
 * for channels-last tfjs layers) or put the channel first (`[N, 1, H, W]`); with one channel both hold the
 * same values in the same order. Any other shape (e.g. the channels-first misreading of a channels-last layer,
 * `[N, 1, W, C]`) is refused with a message naming it.
 */
export function camAsNHW(values: ArrayLike<number>, shape: readonly number[], n: number, h: number, w: number): Float64Array {
  const ok = (shape.length === 4 && shape[0] === n && ((shape[1] === 1 && shape[2] === h && shape[3] === w) || (shape[1] === h && shape[2] === w && shape[3] === 1)));
  if (!ok) throw new Error(`Grad-CAM map of shape [${shape.join(', ')}], expected [${n}, 1, ${h}, ${w}] or [${n}, ${h}, ${w}, 1]`);
  return Float64Array.from(values as ArrayLike<number>);
}

/** The largest |a − b| over max |b|: a relative error that ignores the scale of the values. */
export function relativeMaxError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let err = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    err = Math.max(err, Math.abs((a[i] as number) - (b[i] as number)));
    scale = Math.max(scale, Math.abs(b[i] as number));
  }
  return err / scale;
}

/** Milliseconds of `f`, logged under `label` (collected for the timing report). */
export async function timed<R>(label: string, f: () => Promise<R>, log: Map<string, number>): Promise<R> {
  const t = performance.now();
  try {
    return await f();
  } finally {
    log.set(label, Math.round(performance.now() - t));
  }
}
