import { normAxis } from '../shapes.js';
import type { GradContext, GradientRule } from './types.js';

/** The reduced axes of a ReduceSum/ReduceMean node (attribute or input, by opset), normalised. */
export function reducedAxes(c: GradContext, axesFromInput: boolean): number[] {
  const rank = c.rank(c.input(0));
  const axes = axesFromInput ? (c.input(1) ? c.constant(1) : []) : (c.attrInts('axes') ?? []);
  if (axes === undefined) c.unsupported('the reduced axes are computed at run time');
  if (axes.length === 0) return c.attrInt('noop_with_empty_axes', 0) ? [] : Array.from({ length: rank }, (_, i) => i);
  return axes.map((a) => normAxis(a, rank)).sort((a, b) => a - b);
}

/**
 * A reduction's output (or its gradient) with the reduced axes kept as size-1 dimensions (unsqueezed when
 * the node has `keepdims` 0), so that it broadcasts against the input.
 */
export function keepReduced(c: GradContext, t: string, axes: readonly number[]): string {
  return c.attrInt('keepdims', 1) === 1 ? t : c.e.unsqueeze(t, axes);
}

/** Broadcasts the gradient of a reduction back over the reduced axes of `x`. */
export function expandOverAxes(c: GradContext, dy: string, axes: readonly number[]): string {
  const keep = c.attrInt('keepdims', 1) === 1;
  const lifted = keep ? dy : c.e.unsqueeze(dy, axes);
  return c.e.op('Expand', [lifted, c.e.shape(c.input(0))]);
}

/** y = Σ_axes x: dx = broadcast of dy over the reduced axes. */
export const reduceSumGrad: GradientRule = {
  inputs: [0],
  backward: (c) => [expandOverAxes(c, c.dy() as string, reducedAxes(c, c.opset >= 13))],
};
