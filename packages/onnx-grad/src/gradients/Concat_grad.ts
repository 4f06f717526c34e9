import { normAxis } from '../shapes.js';
import type { GradientRule } from './types.js';

/** y = concat(x₀, x₁, …): dxᵢ = the slice of dy that xᵢ occupies along the axis. */
export const concatGrad: GradientRule = {
  inputs: (node) => node.input.map((_, i) => i),
  backward: (c) => {
    const { e } = c;
    const dy = c.dy() as string;
    const inputs = c.node.input;
    const axis = normAxis(c.attrInt('axis', 0), c.rank(c.output(0)));
    const sizes = inputs.map((x) => c.shape(x)?.[axis]);
    const out: (string | undefined)[] = [];
    if (sizes.every((d): d is number => typeof d === 'number')) {
      let offset = 0;
      inputs.forEach((_, i) => {
        const size = sizes[i] as number;
        out.push(c.needs(i) ? e.slice(dy, e.ints([offset]), e.ints([offset + size]), [axis]) : undefined);
        offset += size;
      });
      return out;
    }
    let offset = e.ints([0]);
    inputs.forEach((x, i) => {
      const end = e.add(offset, e.dim(x, axis));
      out.push(c.needs(i) ? e.slice(dy, offset, end, [axis]) : undefined);
      offset = end;
    });
    return out;
  },
};
