import { hostNumbers } from '@attribution/core';
import { ArgumentError, describeValue, formatShape, type Backend } from '@attribution/tensor';

/** One metric value: a number, or one number per example (an array or a rank-1 tensor). */
export type MetricLeaf<T> = number | readonly number[] | T;

/**
 * What a metric returns for a batch: a value, a tuple of values (an array whose entries are not all numbers), or a
 * record of values (Captum's named tuple).
 */
export type MetricValue<T> = MetricLeaf<T> | readonly MetricLeaf<T>[] | Readonly<Record<string, MetricLeaf<T>>>;

/** A metric value on the host: numbers and arrays of numbers, in the structure the metric returned. */
export type MetricResult = number | number[] | (number | number[])[] | { [key: string]: number | number[] };

/** Where the values of a metric live in a flat row. */
export type Layout =
  | { readonly kind: 'number' }
  | { readonly kind: 'vector'; readonly length: number }
  | { readonly kind: 'tuple'; readonly items: readonly Layout[] }
  | { readonly kind: 'record'; readonly keys: readonly string[]; readonly items: readonly Layout[] };

/** A metric value flattened: its layout and its values. */
export interface FlatMetric {
  readonly layout: Layout;
  readonly values: number[];
}

const isNumber = (v: unknown): v is number => typeof v === 'number';

async function flattenLeaf<T>(b: Backend<T>, value: unknown, where: string, values: number[]): Promise<Layout> {
  if (isNumber(value)) {
    values.push(value);
    return { kind: 'number' };
  }
  if (Array.isArray(value) && value.every(isNumber)) {
    values.push(...value);
    return { kind: 'vector', length: value.length };
  }
  if (b.isTensor(value)) {
    const shape = b.shape(value);
    if (shape.length > 1) throw new ArgumentError(where, 'a number, an array of numbers or a tensor of rank 0 or 1', `a tensor of shape ${formatShape(shape)}`);
    const data = Array.from(hostNumbers(await b.data(value)));
    values.push(...data);
    return shape.length === 0 ? { kind: 'number' } : { kind: 'vector', length: data.length };
  }
  throw new ArgumentError(where, 'a number, an array of numbers or a tensor of rank 0 or 1', describeValue(value));
}

/** Reads a metric's return value to the host (tensors it returns are read, not freed). */
export async function flattenMetric<T>(b: Backend<T>, value: unknown, where = 'metric'): Promise<FlatMetric> {
  const values: number[] = [];
  let layout: Layout;
  if (Array.isArray(value) && !value.every(isNumber)) {
    const items: Layout[] = [];
    for (const [i, v] of value.entries()) items.push(await flattenLeaf(b, v, `${where}[${i}]`, values));
    layout = { kind: 'tuple', items };
  } else if (value !== null && typeof value === 'object' && !Array.isArray(value) && !b.isTensor(value) && !ArrayBuffer.isView(value)) {
    const keys = Object.keys(value);
    const items: Layout[] = [];
    for (const k of keys) items.push(await flattenLeaf(b, (value as Record<string, unknown>)[k], `${where}.${k}`, values));
    layout = { kind: 'record', keys, items };
  } else layout = await flattenLeaf(b, value, where, values);
  for (const [i, v] of values.entries()) {
    if (!Number.isFinite(v)) throw new ArgumentError(where, 'finite values', `${describeValue(v)} at flat position ${i}`);
  }
  return { layout, values };
}

/** Whether two layouts are the same. */
export const sameLayout = (a: Layout, b: Layout): boolean => JSON.stringify(a) === JSON.stringify(b);

/** Rebuilds a metric value of `layout` from flat values. */
export function unflatten(layout: Layout, values: ArrayLike<number>): MetricResult {
  let at = 0;
  const leaf = (l: Layout): number | number[] => {
    if (l.kind === 'number') return values[at++] as number;
    const n = l.kind === 'vector' ? l.length : 0;
    const out = Array.from({ length: n }, (_, i) => values[at + i] as number);
    at += n;
    return out;
  };
  if (layout.kind === 'tuple') return layout.items.map(leaf);
  if (layout.kind === 'record') {
    const out: { [key: string]: number | number[] } = {};
    layout.items.forEach((l, i) => (out[layout.keys[i] as string] = leaf(l)));
    return out;
  }
  return leaf(layout);
}

/** Captum's `agg_metric`: each per-example value (a vector) replaced by its mean; numbers stay. */
export function aggregate(flat: FlatMetric): FlatMetric {
  const values: number[] = [];
  let at = 0;
  const leaf = (l: Layout): Layout => {
    if (l.kind === 'number') {
      values.push(flat.values[at++] as number);
      return l;
    }
    const n = l.kind === 'vector' ? l.length : 0;
    let s = 0;
    for (let i = 0; i < n; i++) s += flat.values[at + i] as number;
    at += n;
    values.push(s / n);
    return { kind: 'number' };
  };
  const l = flat.layout;
  if (l.kind === 'tuple') return { layout: { kind: 'tuple', items: l.items.map(leaf) }, values };
  if (l.kind === 'record') return { layout: { kind: 'record', keys: l.keys, items: l.items.map(leaf) }, values };
  return { layout: leaf(l), values };
}
