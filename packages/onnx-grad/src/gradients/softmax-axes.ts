import { normAxis } from '../shapes.js';
import type { GradContext } from './types.js';

/**
 * The axes a Softmax/LogSoftmax normalises over: its `axis` from opset 13 on; before that, every axis from
 * `axis` (default 1) to the last, because the input was coerced to 2-D.
 */
export function softmaxAxes(c: GradContext): number[] {
  const rank = c.rank(c.input(0));
  if (c.opset >= 13) return [normAxis(c.attrInt('axis', -1), rank)];
  const axis = normAxis(c.attrInt('axis', 1), rank);
  return Array.from({ length: rank - axis }, (_, i) => axis + i);
}
