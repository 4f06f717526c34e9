import { InvalidModelError } from '../errors.js';
import { Graph } from '../graph.js';
import type { GradContext, GradientRule } from './types.js';

const BIG = Number.MAX_SAFE_INTEGER;

type Amount = number | string;

/**
 * y = pad(x) (Pad-2 with attributes, Pad-11+ with inputs, `axes` of Pad-18, wrap of Pad-19). ONNX Runtime
 * first crops the axes with negative pads, then pads the rest; per axis, with the cropped length m and
 * a, b ≥ 0 positions added before and after:
 * - constant: dx = pad(dy, −pads) (the added positions are dropped, cropped ones get zero);
 * - edge: the middle m positions, plus the sums of the a and b added positions on the first and last element;
 * - reflect: y[a − k] = x[k] and y[a + m − 1 + k] = x[m − 1 − k] (k ≥ 1), so the reversed margins are added
 *   at x[1…a] and x[m−1−b…m−2];
 * - wrap: the margins are copies of x[m−a…m−1] and x[0…b−1] and are added there;
 * and cropped positions get zero. Sizes may be symbolic; pads and axes must be constants. The constant
 * value receives no gradient.
 */
export const padGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const { e } = c;
    const x = c.input(0);
    const rank = c.rank(x);
    const label = `Node '${Graph.label(c.node)}' (Pad)`;
    const mode = c.attrString('mode', 'constant');
    if (!['constant', 'reflect', 'edge', 'wrap'].includes(mode)) throw new InvalidModelError(`${label} has an invalid mode '${mode}'.`);
    let raw: number[] | undefined;
    if (c.opset < 11) {
      raw = c.attrInts('pads');
      if (!raw) throw new InvalidModelError(`${label} has no pads attribute.`);
    } else {
      raw = c.constant(1);
      if (!raw) return c.unsupported('pads computed at run time');
    }
    let axes = Array.from({ length: rank }, (_, i) => i);
    if (c.opset >= 18 && c.input(3)) {
      const given = c.constant(3);
      if (!given) return c.unsupported('axes computed at run time');
      axes = given.map((a) => (a < 0 ? a + rank : a));
      if (!axes.every((a) => Number.isInteger(a) && a >= 0 && a < rank) || new Set(axes).size !== axes.length) {
        throw new InvalidModelError(`${label} has invalid axes [${given.join(', ')}] for a rank-${rank} input.`);
      }
    }
    if (raw.length !== 2 * axes.length || !raw.every(Number.isSafeInteger)) {
      throw new InvalidModelError(`${label} has pads [${raw.join(', ')}], which are not 2 integers for each of its ${axes.length} axes.`);
    }
    const begin = new Array<number>(rank).fill(0);
    const end = new Array<number>(rank).fill(0);
    axes.forEach((a, k) => {
      begin[a] = raw[k] as number;
      end[a] = raw[k + axes.length] as number;
    });
    const dy = c.dy() as string;
    if (begin.every((p) => p === 0) && end.every((p) => p === 0)) return [dy];
    if (mode === 'constant') {
      const negated = [...begin, ...end].map((p) => -p);
      return [c.opset >= 11 ? e.op('Pad', [dy, e.ints(negated)]) : e.op('Pad', [dy], { pads: negated })];
    }
    if (c.opset < 10) return c.unsupported(`${mode} padding needs opset 10 or newer for its gradient`);
    let g = dy;
    for (let axis = 0; axis < rank; axis++) {
      if (begin[axis] === 0 && end[axis] === 0) continue;
      g = padAxisGrad(c, g, axis, begin[axis] as number, end[axis] as number, mode);
    }
    return [g];
  },
};

/** The gradient of padding one axis in edge, reflect or wrap mode (see {@link padGrad}). */
function padAxisGrad(c: GradContext, g: string, axis: number, before: number, after: number, mode: string): string {
  const { e } = c;
  const x = c.input(0);
  const rank = c.rank(x);
  const cropBefore = Math.max(-before, 0);
  const cropAfter = Math.max(-after, 0);
  const a = Math.max(before, 0);
  const b = Math.max(after, 0);
  const size = c.shape(x)?.[axis];
  // The cropped length m, and m − k, as numbers or run-time 1-element tensors.
  const m: Amount = typeof size === 'number' ? size - cropBefore - cropAfter : cropBefore + cropAfter > 0 ? e.sub(e.dim(x, axis), e.ints([cropBefore + cropAfter])) : e.dim(x, axis);
  const minus = (k: number): Amount => (typeof m === 'number' ? m - k : e.sub(m, e.ints([k])));
  if (typeof m === 'number') {
    const limit = mode === 'reflect' ? m - 1 : mode === 'wrap' ? m : Infinity;
    if ((a > 0 || b > 0) && (m < 1 || a > limit || b > limit)) {
      if (mode === 'wrap') return c.unsupported(`wrap padding of ${a}, ${b} around an axis of length ${m} (ONNX Runtime wraps at most once)`);
      throw new InvalidModelError(`Node '${Graph.label(c.node)}' (Pad) pads ${a}, ${b} by ${mode} an axis of length ${m}.`);
    }
  }
  const slice = (t: string, start: number, stop: number, step = 1): string =>
    e.op('Slice', [t, e.ints([start]), e.ints([stop]), e.ints([axis]), e.ints([step])]);
  const parts = [slice(g, a, b > 0 ? -b : BIG)];
  if (a > 0) {
    const margin = slice(g, 0, a);
    if (mode === 'edge') parts.push(zeroPad(c, e.reduceSum(margin, [axis], true), rank, axis, 0, minus(1)));
    else if (mode === 'reflect') parts.push(zeroPad(c, slice(margin, -1, -BIG, -1), rank, axis, 1, minus(1 + a)));
    else parts.push(zeroPad(c, margin, rank, axis, minus(a), 0));
  }
  if (b > 0) {
    const margin = slice(g, -b, BIG);
    if (mode === 'edge') parts.push(zeroPad(c, e.reduceSum(margin, [axis], true), rank, axis, minus(1), 0));
    else if (mode === 'reflect') parts.push(zeroPad(c, slice(margin, -1, -BIG, -1), rank, axis, minus(1 + b), 1));
    else parts.push(zeroPad(c, margin, rank, axis, 0, minus(b)));
  }
  const summed = e.sum(parts);
  return cropBefore > 0 || cropAfter > 0 ? zeroPad(c, summed, rank, axis, cropBefore, cropAfter) : summed;
}

/** Pads one axis of `t` with zeros, by amounts known now or at run time. */
function zeroPad(c: GradContext, t: string, rank: number, axis: number, before: Amount, after: Amount): string {
  const { e } = c;
  if (before === 0 && after === 0) return t;
  if (typeof before === 'number' && typeof after === 'number') {
    const pads = new Array<number>(2 * rank).fill(0);
    pads[axis] = before;
    pads[axis + rank] = after;
    return c.opset >= 11 ? e.op('Pad', [t, e.ints(pads)]) : e.op('Pad', [t], { pads });
  }
  if (c.opset < 11) return c.unsupported('padding gradients along axes of unknown size need opset 11 or newer');
  const amount = (v: Amount): string => (typeof v === 'number' ? e.ints([v]) : v);
  const zeros = (n: number): string[] => (n > 0 ? [e.ints(new Array<number>(n).fill(0))] : []);
  const pads = e.op('Concat', [...zeros(axis), amount(before), ...zeros(rank - 1), amount(after), ...zeros(rank - 1 - axis)], { axis: 0 });
  return e.op('Pad', [t, pads]);
}
