import { normAxis } from '../shapes.js';
import type { GradientRule } from './types.js';

/**
 * (values, indices) = topk(x, k, axis): dx = dvalues scattered to the selected positions (zeros
 * elsewhere; the positions are distinct, so ScatterElements without reduction). With ties the gradient
 * goes where TopK's indices point (the lower index first, per the ONNX spec). Indices are integers and
 * carry no gradient.
 */
export const topKGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const { e } = c;
    const x = c.input(0);
    const dv = c.dy(0);
    if (!dv) return [undefined];
    const indices = c.output(1);
    if (!indices) return c.unsupported('the Indices output is not named');
    const axis = normAxis(c.attrInt('axis', -1), c.rank(x));
    return [e.op('ScatterElements', [e.zerosLike(x), indices, dv], { axis })];
  },
};
