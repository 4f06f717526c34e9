import { convGeometry, type ConvGeometry } from './conv-geometry.js';
import type { GradContext, GradientRule } from './types.js';

/**
 * Routes `g` (shaped like the pooled output) to the arg-max position of each window, summing where windows
 * overlap: the indices come from a MaxPool with the same attributes that also returns them, and `g` is
 * scattered into zeros shaped like the pooled input.
 */
export function routeToArgmax(c: GradContext, g: string, geometry: ConvGeometry): string {
  const { e } = c;
  const x = c.input(0);
  if (c.attrInt('storage_order', 0) !== 0) c.unsupported('storage_order 1');
  const kernel = geometry.kernel;
  const overlapping = kernel.some((k, i) => (geometry.strides[i] as number) < (geometry.dilations[i] as number) * (k - 1) + 1);
  if (overlapping && c.opset < 16) c.unsupported('overlapping windows need ScatterElements with reduction (opset ≥ 16)');
  const [, indices] = e.opN('MaxPool', [x], 2, {
    kernel_shape: kernel,
    strides: geometry.strides,
    pads: geometry.pads,
    dilations: c.attrInts('dilations'),
    ceil_mode: c.attrInt('ceil_mode', 0),
  });
  const flat = e.ints([-1]);
  const zeros = e.op('Reshape', [e.zerosLike(x), flat]);
  const scattered = e.op('ScatterElements', [zeros, e.op('Reshape', [indices as string, flat]), e.op('Reshape', [g, flat])], {
    axis: 0,
    reduction: overlapping ? 'add' : undefined,
  });
  return e.reshapeLike(scattered, x);
}

/** y = maxpool(x): dy is routed to the arg-max position of each window (see {@link routeToArgmax}). */
export const maxPoolGrad: GradientRule = {
  inputs: [0],
  backward: (c) => [routeToArgmax(c, c.dy() as string, convGeometry(c, c.attrInts('kernel_shape') ?? []))],
};
