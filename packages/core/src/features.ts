import { ArgumentError, ShapeError, broadcastShapes, describeValue, formatShape, sizeOf, stridesOf, toNumbers, type Backend, type Shape } from '@attribution/tensor';
import { broadcastData } from './host.js';
import { checkTensor, type PreparedInputs } from './inputs.js';
import { MAX_COUNT } from './options.js';
import type { FeaturePositions, FeatureSet } from './perturbation.js';

/** Feature masks: one integer tensor per input (or one for a single input); equal ids form one feature, across inputs too. */
export type FeatureMask<T> = T | readonly T[];

/** Features made of feature-mask ids. `maxId` is the largest id (Shapley methods count features as maxId + 1). */
export interface MaskFeatures extends FeatureSet {
  readonly maxId: number;
  /** Position of each id in `ids`, by id. */
  readonly indexOf: ReadonlyMap<number, number>;
}

/**
 * Reads feature masks: each must broadcast to its input with dimension 0 either 1 (shared by every example)
 * or N (one mask per example). Without masks every scalar is its own feature, numbered consecutively across
 * inputs. Ids are processed as Captum does: the sorted ids of input 0, then new ids of input 1, and so on.
 * `argument` names the option in messages (e.g. `layerMask`).
 */
export async function maskFeatures<T>(backend: Backend<T>, featureMask: unknown, x: PreparedInputs<T>, argument = 'featureMask'): Promise<MaskFeatures> {
  const n = x.batchSize;
  const sizes = x.shapes.map((s) => sizeOf(s.slice(1)));
  if (featureMask === undefined || featureMask === null) {
    const offsets = sizes.map((_, i) => sizes.slice(0, i).reduce((a, b) => a + b, 0));
    const total = sizes.reduce((a, b) => a + b, 0);
    const ids = Array.from({ length: total }, (_, i) => i);
    const cache: FeaturePositions[] = [];
    return {
      ids,
      maxId: total - 1,
      indexOf: new Map(ids.map((id) => [id, id])),
      positions: (f) => (cache[f] ??= sizes.map((size, t) => (f >= (offsets[t] as number) && f < (offsets[t] as number) + size ? Int32Array.of(f - (offsets[t] as number)) : undefined))),
    };
  }
  // A plain JavaScript array of ids (not tensors) would otherwise read as a list of masks of the wrong length.
  if (Array.isArray(featureMask) && featureMask.length > 0 && featureMask.every((m) => typeof m === 'number' || Array.isArray(m))) {
    throw new ArgumentError(
      argument,
      x.single ? `a tensor of the ${backend.name} backend holding integer feature ids` : `one tensor of the ${backend.name} backend per input (${x.tensors.length}), holding integer feature ids`,
      describeValue(featureMask),
    );
  }
  const list = Array.isArray(featureMask) ? (featureMask as readonly unknown[]) : [featureMask];
  if (list.length !== x.tensors.length) {
    throw new ArgumentError(argument, `one mask per input (${x.tensors.length})`, `${list.length}`);
  }
  // byId: id -> per input: shared positions, or per-example positions.
  const byId = new Map<number, (number[] | number[][] | undefined)[]>();
  const order: number[] = [];
  for (let t = 0; t < list.length; t++) {
    const name = x.single ? argument : `${argument}[${t}]`;
    const mask = checkTensor(backend, name, list[t]);
    const inputShape = x.shapes[t] as Shape;
    let shape = backend.shape(mask);
    if (shape.length < inputShape.length) shape = [...new Array<number>(inputShape.length - shape.length).fill(1), ...shape];
    const rows = shape[0] as number;
    const fits = broadcastShapes(shape, inputShape);
    if (shape.length !== inputShape.length || !fits || fits.some((d, i) => d !== inputShape[i]) || (rows !== 1 && rows !== n)) {
      throw new ShapeError(name, `a shape that broadcasts to ${formatShape(inputShape)} with dimension 0 of 1 or ${n}`, `shape ${formatShape(backend.shape(mask))}`);
    }
    const values = toNumbers(await backend.data(mask));
    if (!values.every(Number.isInteger)) throw new ArgumentError(name, 'integer feature ids', 'non-integer values');
    const perExample = [rows, ...inputShape.slice(1)];
    const full = broadcastData(values, shape, perExample, name);
    const size = sizes[t] as number;
    const newIds = new Set<number>();
    for (let r = 0; r < rows; r++) {
      for (let p = 0; p < size; p++) {
        const id = full[r * size + p] as number;
        let entry = byId.get(id);
        if (!entry) {
          entry = new Array(list.length).fill(undefined);
          byId.set(id, entry);
          newIds.add(id);
        }
        if (rows === 1) ((entry[t] ??= []) as number[]).push(p);
        else {
          const lists = (entry[t] ??= Array.from({ length: n }, () => [])) as number[][];
          (lists[r] as number[]).push(p);
        }
      }
    }
    for (const id of [...newIds].sort((a, b) => a - b)) order.push(id);
  }
  const positions: FeaturePositions[] = order.map((id) =>
    (byId.get(id) as (number[] | number[][] | undefined)[]).map((e) =>
      e === undefined ? undefined : Array.isArray(e[0]) ? (e as number[][]).map((l) => Int32Array.from(l)) : Int32Array.from(e as number[]),
    ),
  );
  // Shapley and surrogate methods count features up to the largest id: a sparse, huge id would make them
  // allocate per missing id. Ids may skip values, within reason.
  let minId = Infinity;
  let maxId = -Infinity;
  for (const id of order) {
    if (id < minId) minId = id;
    if (id > maxId) maxId = id;
  }
  const positionsCount = x.shapes.reduce((a, s) => a + sizeOf(s), 0);
  const span = Math.max(maxId + 1, maxId - minId + 1);
  if (span > Math.max(MAX_COUNT, positionsCount)) {
    throw new ArgumentError(
      argument,
      `feature ids spanning at most ${Math.max(MAX_COUNT, positionsCount)} values (number features 0, 1, 2, …)`,
      `ids from ${minId} to ${maxId}`,
    );
  }
  return {
    ids: order,
    maxId,
    indexOf: new Map(order.map((id, i) => [id, i])),
    positions: (f) => positions[f] as FeaturePositions,
  };
}

/** Sliding windows over each input (Captum's Occlusion): every window is one feature. */
export function windowFeatures(shapes: readonly Shape[], windows: readonly (readonly number[])[], strides: readonly (readonly number[])[]): FeatureSet {
  const perInput: Int32Array[][] = shapes.map((full, t) => {
    const shape = full.slice(1);
    const window = windows[t] as readonly number[];
    const stride = strides[t] as readonly number[];
    const counts = shape.map((d, i) => Math.ceil((d - (window[i] as number)) / (stride[i] as number)) + 1);
    const total = counts.reduce((a, b) => a * b, 1);
    const st = stridesOf(shape);
    const out: Int32Array[] = [];
    for (let q = 0; q < total; q++) {
      // The first non-batch dimension varies fastest.
      const starts: number[] = [];
      let rest = q;
      for (let i = 0; i < shape.length; i++) {
        starts.push((rest % (counts[i] as number)) * (stride[i] as number));
        rest = Math.floor(rest / (counts[i] as number));
      }
      const extents = shape.map((d, i) => Math.min(window[i] as number, d - (starts[i] as number)));
      const size = extents.reduce((a, b) => a * b, 1);
      const positions = new Int32Array(size);
      // Walk the window's elements in row-major order, moving the flat offset along with the index.
      const index = new Array<number>(shape.length).fill(0);
      let offset = starts.reduce((sum, v, i) => sum + v * (st[i] as number), 0);
      for (let k = 0; k < size; k++) {
        positions[k] = offset;
        for (let d = shape.length - 1; d >= 0; d--) {
          index[d] = (index[d] as number) + 1;
          offset += st[d] as number;
          if ((index[d] as number) < (extents[d] as number)) break;
          offset -= (index[d] as number) * (st[d] as number);
          index[d] = 0;
        }
      }
      out.push(positions);
    }
    return out;
  });
  const features: FeaturePositions[] = perInput.flatMap((list, t) => list.map((window) => shapes.map((_, i) => (i === t ? window : undefined))));
  return {
    ids: features.map((_, i) => i),
    positions: (f) => features[f] as FeaturePositions,
  };
}
