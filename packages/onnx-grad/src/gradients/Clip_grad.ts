import { DataType } from '../proto.js';
import type { GradientRule } from './types.js';

/**
 * y = clip(x, min, max): dx = dy where min < x < max, else 0 (strict at the bounds, like PyTorch's hardtanh
 * and ReLU6). Gradient graphs need opset ≥ 11, where the bounds are inputs. With constant bounds
 * (min ≤ max) the mask is read from y, since min < y < max exactly when min < x < max.
 */
export const clipGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const { e } = c;
    const dy = c.dy() as string;
    const bound = (i: number, absent: number): number | undefined => {
      const name = c.input(i);
      if (!name) return absent;
      // float16/bfloat16 constants are not decoded here: their bounds are compared at run time.
      const type = c.graph.info(name).elemType;
      if (type !== DataType.FLOAT && type !== DataType.DOUBLE) return undefined;
      const v = c.constant(i);
      return v?.length === 1 ? v[0] : undefined;
    };
    const lo = bound(1, -Infinity);
    const hi = bound(2, Infinity);
    if (lo !== undefined && hi !== undefined && lo <= hi) return [e.intervalMask(dy, c.output(0), lo, hi)];
    // Bounds computed at run time: compare the input itself.
    const x = c.input(0);
    const [min, max] = [c.input(1), c.input(2)];
    let keep: string | undefined;
    if (min) keep = e.op('Greater', [x, min]);
    if (max) {
      const below = e.op('Less', [x, max]);
      keep = keep ? e.op('And', [keep, below]) : below;
    }
    return [keep ? e.mask(dy, keep, x) : dy];
  },
};
