import { InvalidModelError } from '../errors.js';
import { Graph } from '../graph.js';
import { attribute } from '../proto.js';
import { interpolationOf, resizeBackward } from './Resize_grad.js';
import type { GradientRule } from './types.js';

/**
 * y = upsample(x) (Upsample-7 with a `scales` attribute, Upsample-9 with a constant `scales` input;
 * deprecated since opset 10): nearest (the input index truncated from `j / scale`) or linear interpolation
 * with asymmetric coordinates, sizes `⌊scale · in⌋`. A separable linear map, differentiated as Resize is:
 * dx = dy ×₁ A₁ᵀ ×₂ A₂ᵀ … with one constant matrix per upsampled axis.
 */
export const upsampleGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const rank = c.rank(c.input(0));
    const p = interpolationOf(c, true);
    let scales: number[] | undefined;
    if (c.input(1)) {
      scales = c.constant(1);
      if (!scales) return c.unsupported('scales computed at run time');
    } else {
      scales = attribute(c.node, 'scales')?.floats.map(Number);
    }
    if (!scales || scales.length !== rank) {
      throw new InvalidModelError(`Node '${Graph.label(c.node)}' (Upsample) needs one scale per axis of its rank-${rank} input, got ${scales?.length ?? 'none'}.`);
    }
    return [resizeBackward(c, p, { scales, axes: scales.map((_, i) => i), policy: 'stretch' })];
  },
};
