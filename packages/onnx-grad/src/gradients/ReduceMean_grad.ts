import { expandOverAxes, reducedAxes } from './ReduceSum_grad.js';
import type { GradientRule } from './types.js';

/** y = mean_axes x: dx = broadcast of dy over the reduced axes, divided by their number of elements. */
export const reduceMeanGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const { e } = c;
    const x = c.input(0);
    const y = c.output(0);
    const axes = reducedAxes(c, c.opset >= 18);
    const shape = c.shape(x);
    const dims = axes.map((a) => shape?.[a]);
    const count = dims.every((d): d is number => typeof d === 'number')
      ? e.scalar(dims.reduce((p, d) => p * d, 1), x)
      : e.op('Cast', [e.div(e.op('Size', [x]), e.op('Size', [y]))], { to: e.floatType(x) });
    return [e.div(expandOverAxes(c, c.dy() as string, axes), count)];
  },
};
