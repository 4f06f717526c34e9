import { normAxis } from '../shapes.js';
import type { GradContext } from './types.js';

/**
 * The scale of a QuantizeLinear/DequantizeLinear node (input 1), shaped to broadcast against its data
 * (input 0): a scalar as it is, a per-axis vector reshaped to lie along `axis`. Block-wise scales
 * (opset 21 `block_size`) are refused.
 */
export function broadcastScale(c: GradContext): string {
  const { e } = c;
  const [x, scale] = [c.input(0), c.input(1)];
  if (c.attrInt('block_size', 0) > 0) c.unsupported('block-wise quantization (block_size)');
  const ss = c.shape(scale);
  if (!ss || ss.length === 0 || (ss.length === 1 && ss[0] === 1)) return scale;
  const rank = c.rank(x);
  const axis = normAxis(c.attrInt('axis', 1), rank);
  const target = Array.from({ length: rank }, (_, i) => (i === axis ? -1 : 1));
  return e.op('Reshape', [scale, e.ints(target)]);
}
