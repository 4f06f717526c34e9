import { normAxis } from '../shapes.js';
import type { GradientRule } from './types.js';

/** y = x[starts:ends] (unit steps): dx = dy padded with zeros back to the shape of x. */
export const sliceGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const { e } = c;
    const [x, y] = [c.input(0), c.output(0)];
    const rank = c.rank(x);
    const inputsForm = c.opset >= 10;
    const starts = inputsForm ? c.constant(1) : c.attrInts('starts');
    if (!starts) return c.unsupported('slice starts computed at run time');
    const axes = (inputsForm ? (c.input(3) ? c.constant(3) : undefined) : c.attrInts('axes')) ?? starts.map((_, i) => i);
    const steps = inputsForm && c.input(4) ? c.constant(4) : starts.map(() => 1);
    if (!steps || steps.some((s) => s !== 1)) c.unsupported('slices with steps other than 1');
    const xs = c.shape(x);
    const begin: string[] = [];
    const end: string[] = [];
    for (let d = 0; d < rank; d++) {
      const k = axes.findIndex((a) => normAxis(a, rank) === d);
      if (k < 0) {
        begin.push(e.ints([0]));
        end.push(e.ints([0]));
        continue;
      }
      const start = starts[k] as number;
      const size = xs?.[d];
      let b: string;
      if (typeof size === 'number') b = e.ints([Math.min(Math.max(start < 0 ? start + size : start, 0), size)]);
      else b = start >= 0 ? e.ints([start]) : e.add(e.dim(x, d), e.ints([start]));
      begin.push(b);
      // Whatever is left after the slice is padding at the end.
      end.push(e.sub(e.sub(e.dim(x, d), b), e.dim(y, d)));
    }
    const pads = e.op('Concat', [...begin, ...end], { axis: 0 });
    return [e.op('Pad', [c.dy() as string, pads])];
  },
};
