import { InvalidModelError } from '../errors.js';
import { DataType, makeTensor } from '../proto.js';
import { normAxis } from '../shapes.js';
import type { GradContext, GradientRule } from './types.js';

/** Larger than any dimension, exact in a double and in int64: INT64_MAX/MIN starts are clamped to it. */
const HUGE = 2 ** 53;

/**
 * y = x[starts:ends:steps] along `axes`: dx is zero except at the sliced positions, where it is dy.
 * Along axes with step 1, dy is padded with zeros (Pad); along other axes (negative steps included) dy is
 * scattered (ScatterElements) to the positions start, start + step, … of a zero tensor as long as x is
 * on that axis. Starts follow ONNX's clamping (negative counts from the end; clamped to [0, d] for
 * positive steps, [0, d − 1] for negative ones); the ends need not be read, since dy's size tells how
 * many positions were taken (ends beyond the bounds and INT64_MAX included).
 */
export const sliceGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const { e } = c;
    const [x, y] = [c.input(0), c.output(0)];
    const rank = c.rank(x);
    const inputsForm = c.opset >= 10;
    const starts = inputsForm ? c.constant(1) : c.attrInts('starts');
    if (!starts) return c.unsupported('slice starts computed at run time');
    const axes = inputsForm && c.input(3) ? c.constant(3) : !inputsForm ? (c.attrInts('axes') ?? starts.map((_, i) => i)) : starts.map((_, i) => i);
    if (!axes) return c.unsupported('slice axes computed at run time');
    const steps = inputsForm && c.input(4) ? c.constant(4) : starts.map(() => 1);
    if (!steps) return c.unsupported('slice steps computed at run time');
    const label = c.node.name || y;
    if (axes.length !== starts.length || steps.length !== starts.length) {
      throw new InvalidModelError(`Slice node '${label}' has ${starts.length} starts, ${axes.length} axes and ${steps.length} steps.`);
    }
    const norm = axes.map((a) => normAxis(a, rank));
    if (new Set(norm).size !== norm.length) throw new InvalidModelError(`Slice node '${label}' repeats an axis (${axes.join(', ')}).`);
    if (steps.some((s) => !Number.isInteger(s) || s === 0)) throw new InvalidModelError(`Slice node '${label}' has steps [${steps.join(', ')}]; steps are non-zero integers.`);

    let g = c.dy() as string;
    norm.forEach((d, k) => {
      const step = steps[k] as number;
      if (step !== 1) g = scatterAlong(c, g, d, effectiveStart(c, starts[k] as number, step, d), step);
    });
    const unit = norm.filter((_, k) => steps[k] === 1);
    if (unit.length === 0) return [g];
    const begin: string[] = [];
    const end: string[] = [];
    for (let d = 0; d < rank; d++) {
      const k = norm.indexOf(d);
      if (k < 0 || steps[k] !== 1) {
        begin.push(e.ints([0]));
        end.push(e.ints([0]));
        continue;
      }
      const b = effectiveStart(c, starts[k] as number, 1, d);
      begin.push(b);
      // Whatever is left after the slice is padding at the end.
      end.push(e.sub(e.sub(e.dim(x, d), b), e.dim(y, d)));
    }
    const pads = e.op('Concat', [...begin, ...end], { axis: 0 });
    return [e.op('Pad', [g, pads])];
  },
};

/** The first position a slice takes along axis `d` of x (a 1-element int64 tensor), per ONNX's clamping. */
function effectiveStart(c: GradContext, start0: number, step: number, d: number): string {
  const { e } = c;
  const x = c.input(0);
  const start = Math.min(Math.max(start0, -HUGE), HUGE);
  const size = c.shape(x)?.[d];
  if (typeof size === 'number') {
    const s = start < 0 ? start + size : start;
    return e.ints([Math.min(Math.max(s, 0), step > 0 ? size : size - 1)]);
  }
  const dim = e.dim(x, d);
  if (start < 0) {
    // d + start ≤ d − 1: only the lower bound can bind.
    const s = e.add(dim, e.ints([start]));
    return e.op('Where', [e.op('Less', [s, e.ints([0])]), e.ints([0]), s]);
  }
  const top = step > 0 ? dim : e.sub(dim, e.ints([1]));
  const s = e.ints([start]);
  return e.op('Where', [e.op('Less', [top, s]), top, s]);
}

/** Scatters `g` along axis `d` to positions begin + i·step (i < g's size there) of zeros as long as x on that axis. */
function scatterAlong(c: GradContext, g: string, d: number, begin: string, step: number): string {
  const { e } = c;
  const x = c.input(0);
  const rank = c.rank(x);
  const scalar = (v: number): string => e.constant([v], DataType.INT64, []);
  const count = e.squeeze(e.dim(g, d), [0]);
  const positions = e.add(e.mul(e.op('Range', [scalar(0), count, scalar(1)]), scalar(step)), begin);
  const column = e.op('Reshape', [positions, e.ints(Array.from({ length: rank }, (_, i) => (i === d ? -1 : 1)))]);
  const indices = e.op('Expand', [column, e.shape(g)]);
  const gs = e.shape(g);
  const parts = [
    ...(d > 0 ? [e.slice(gs, e.ints([0]), e.ints([d]), [0])] : []),
    e.dim(x, d),
    ...(d < rank - 1 ? [e.slice(gs, e.ints([d + 1]), e.ints([rank]), [0])] : []),
  ];
  const shape = parts.length === 1 ? (parts[0] as string) : e.op('Concat', parts, { axis: 0 });
  const zeros = e.op('ConstantOfShape', [shape], { value: { t: makeTensor('', e.floatType(x), [1], [0]) } });
  return e.op('ScatterElements', [zeros, indices, g], { axis: d });
}
