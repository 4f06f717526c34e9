import type { GradientRule } from './types.js';

/** y = mean over the spatial dims of x: dx = broadcast of dy / (number of spatial positions). */
export const globalAveragePoolGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const { e } = c;
    const [x, y] = [c.input(0), c.output(0)];
    const spatial = c.shape(x)?.slice(2);
    const count =
      spatial && spatial.every((d): d is number => typeof d === 'number')
        ? e.scalar(spatial.reduce((p, d) => p * d, 1), x)
        : e.op('Cast', [e.div(e.op('Size', [x]), e.op('Size', [y]))], { to: e.floatType(x) });
    return [e.div(e.op('Expand', [c.dy() as string, e.shape(x)]), count)];
  },
};
