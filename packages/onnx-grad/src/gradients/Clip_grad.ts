import type { GradientRule } from './types.js';

/**
 * y = clip(x, min, max): dx = dy where min < x < max, else 0 (strict, like PyTorch's hardtanh and clamp at
 * their bounds). Bounds come from inputs (opset ≥ 11) or attributes.
 */
export const clipGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const { e } = c;
    const x = c.input(0);
    const dy = c.dy() as string;
    let min: string | undefined;
    let max: string | undefined;
    if (c.opset >= 11) {
      min = c.input(1) || undefined;
      max = c.input(2) || undefined;
    } else {
      min = e.scalar(c.attrFloat('min', -3.4028234663852886e38), x);
      max = e.scalar(c.attrFloat('max', 3.4028234663852886e38), x);
    }
    let keep: string | undefined;
    if (min) keep = e.op('Greater', [x, min]);
    if (max) {
      const below = e.op('Less', [x, max]);
      keep = keep ? e.op('And', [keep, below]) : below;
    }
    return [keep ? e.mask(dy, keep, x) : dy];
  },
};
