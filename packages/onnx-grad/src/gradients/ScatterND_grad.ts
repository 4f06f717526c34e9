import type { GradContext, GradientRule } from './types.js';

/**
 * The reduction of a scatter node (attribute from opset 16; 'none' before): the rules differentiate
 * 'none' and 'add', and refuse 'mul', 'max' and 'min'.
 */
export function scatterReduction(c: GradContext): 'none' | 'add' {
  const reduction = c.attrString('reduction', 'none');
  if (reduction === 'none' || reduction === 'add') return reduction;
  return c.unsupported(`reduction '${reduction}' (only 'none' and 'add' have gradients here)`);
}

/**
 * y = scatter_nd(data, indices, updates, reduction):
 * 'none' (y[indices] = updates): ddata = dy with zeros at the written positions, dupdates = gather_nd(dy);
 * 'add' (y[indices] += updates): ddata = dy, dupdates = gather_nd(dy).
 * With 'none' and duplicate indices ONNX leaves the written value undefined; each duplicate then receives
 * the gradient of the position.
 */
export const scatterNDGrad: GradientRule = {
  inputs: [0, 2],
  backward: (c) => {
    const { e } = c;
    const [indices, updates] = [c.input(1), c.input(2)];
    const dy = c.dy() as string;
    const reduction = scatterReduction(c);
    const ddata = !c.needs(0) ? undefined : reduction === 'add' ? dy : e.op('ScatterND', [dy, indices, e.zerosLike(updates)]);
    return [ddata, undefined, c.needs(2) ? e.op('GatherND', [dy, indices]) : undefined];
  },
};
