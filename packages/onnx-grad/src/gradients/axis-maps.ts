import type { Dim } from '../graph.js';
import type { GradContext } from './types.js';

/**
 * A linear map along one axis of a tensor, all other axes untouched:
 * `out[…, j, …] = Σᵢ weights[j·inSize + i] · in[…, i, …]` (a dense `outSize × inSize` matrix, row-major).
 */
export interface AxisMap {
  readonly axis: number;
  readonly inSize: number;
  readonly outSize: number;
  readonly weights: Float64Array;
}

/** The most entries an axis matrix may have (a larger map would be a very large constant). */
export const MAX_AXIS_MAP = 1 << 24;

/** Whether a map is the identity. */
export function isIdentity(m: AxisMap): boolean {
  if (m.inSize !== m.outSize) return false;
  const n = m.inSize;
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) if (m.weights[j * n + i] !== (i === j ? 1 : 0)) return false;
  }
  return true;
}

/** `k` when the map repeats every input `k` times in a row (`out[j] = in[⌊j/k⌋]`, nearest upsampling by an integer factor). */
function repeatFactor(m: AxisMap): number | undefined {
  if (m.outSize % m.inSize !== 0) return undefined;
  const k = m.outSize / m.inSize;
  for (let j = 0; j < m.outSize; j++) {
    const src = Math.floor(j / k);
    for (let i = 0; i < m.inSize; i++) if (m.weights[j * m.inSize + i] !== (i === src ? 1 : 0)) return undefined;
  }
  return k;
}

/**
 * The vector-Jacobian product of `y = x ×₁ A₁ ×₂ A₂ …` (one linear map per axis, as separable resampling
 * and padding are): `dx = dy ×₁ A₁ᵀ ×₂ A₂ᵀ …`. Each transposed map is one MatMul with a constant matrix
 * (a Reshape and ReduceSum for integer nearest upsampling); dims other than the mapped ones may be symbolic.
 * `shape` is the shape of `g` (dy); the result has the shape of `g` with each mapped axis sized `inSize`.
 */
export function applyTransposedMaps(c: GradContext, g: string, shape: readonly Dim[], maps: readonly AxisMap[], like: string): string {
  const { e } = c;
  const rank = shape.length;
  const type = e.floatType(like);
  let cur = g;
  const dims = [...shape];
  for (const m of maps) {
    if (isIdentity(m)) continue;
    const d = m.axis;
    const keep = (n: number): number[] => new Array<number>(n).fill(0);
    const k = repeatFactor(m);
    let next: string;
    if (k !== undefined) {
      // Sum each run of k outputs: [..., in·k, rest] -> [..., in, k, rest] -> ReduceSum over the k axis.
      const split = d === rank - 1 ? [...keep(d), m.inSize, k] : [...keep(d), m.inSize, k, -1];
      next = e.reduceSum(e.op('Reshape', [cur, e.ints(split)]), [d + 1], false);
    } else if (d === rank - 1) {
      next = e.op('MatMul', [cur, e.weights(m.weights, type, [m.outSize, m.inSize])]);
    } else {
      const t = new Float64Array(m.inSize * m.outSize);
      for (let j = 0; j < m.outSize; j++) for (let i = 0; i < m.inSize; i++) t[i * m.outSize + j] = m.weights[j * m.inSize + i] as number;
      const flat = d === rank - 2 ? cur : e.op('Reshape', [cur, e.ints([...keep(d), m.outSize, -1])]);
      next = e.op('MatMul', [e.weights(t, type, [m.inSize, m.outSize]), flat]);
    }
    const merged = k === undefined ? d < rank - 2 : d < rank - 1;
    dims[d] = m.inSize;
    if (merged) {
      // The trailing axes were merged into one: restore them.
      const tail = dims.slice(d + 1);
      const target = tail.every((x): x is number => typeof x === 'number')
        ? e.ints([...keep(d), m.inSize, ...tail])
        : e.op('Concat', [e.ints([...keep(d), m.inSize]), e.slice(e.shape(cur), e.ints([d + 1]), e.ints([rank]), [0])], { axis: 0 });
      next = e.op('Reshape', [next, target]);
    }
    cur = next;
  }
  return cur;
}
