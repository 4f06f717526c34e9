import { convGeometry, type ConvGeometry } from './conv-geometry.js';
import type { GradContext, GradientRule } from './types.js';

const BIG = Number.MAX_SAFE_INTEGER;

/** The most scatters the overlapping-window decomposition of opsets before 16 may emit. */
const MAX_CLASSES = 256;

/**
 * Routes `g` (shaped like the pooled output) to the arg-max position of each window, summing where windows
 * overlap: the indices come from a MaxPool with the same attributes that also returns them (flat indices
 * into the input, which are independent of storage_order for the values), and `g` is scattered into zeros
 * shaped like the pooled input. Overlapping windows need the scatter to add: ScatterElements with
 * reduction from opset 16; before, the outputs are split into the classes of positions ≡ r (mod ⌈extent /
 * stride⌉) along each axis, whose windows are disjoint, scattered separately and summed.
 */
export function routeToArgmax(c: GradContext, g: string, geometry: ConvGeometry): string {
  const { e } = c;
  const x = c.input(0);
  const kernel = geometry.kernel;
  const n = kernel.length;
  const classes = kernel.map((k, i) => Math.ceil(((geometry.dilations[i] as number) * (k - 1) + 1) / (geometry.strides[i] as number)));
  const overlapping = classes.some((m) => m > 1);
  const [, indices] = e.opN('MaxPool', [x], 2, {
    kernel_shape: kernel,
    strides: geometry.strides,
    pads: geometry.pads,
    dilations: c.attrInts('dilations'),
    ceil_mode: c.attrInt('ceil_mode', 0),
  });
  const flat = e.ints([-1]);
  const zeros = e.op('Reshape', [e.zerosLike(x), flat]);
  const scatter = (idx: string, values: string, reduction?: string): string =>
    e.op('ScatterElements', [zeros, e.op('Reshape', [idx, flat]), e.op('Reshape', [values, flat])], { axis: 0, reduction });
  let scattered: string;
  if (!overlapping) scattered = scatter(indices as string, g);
  else if (c.opset >= 16) scattered = scatter(indices as string, g, 'add');
  else {
    const count = classes.reduce((a, b) => a * b, 1);
    if (count > MAX_CLASSES) c.unsupported(`windows overlapping ${count}-fold need ScatterElements with reduction (opset ≥ 16)`);
    const axes = e.ints(Array.from({ length: n }, (_, i) => i + 2));
    const ends = e.ints(new Array<number>(n).fill(BIG));
    const steps = e.ints(classes);
    const parts: string[] = [];
    for (let k = 0; k < count; k++) {
      const starts: number[] = [];
      let rest = k;
      for (let i = n - 1; i >= 0; i--) {
        starts.unshift(rest % (classes[i] as number));
        rest = Math.floor(rest / (classes[i] as number));
      }
      const pick = (t: string): string => e.op('Slice', [t, e.ints(starts), ends, axes, steps]);
      parts.push(scatter(pick(indices as string), pick(g)));
    }
    scattered = e.sum(parts);
  }
  return e.reshapeLike(scattered, x);
}

/**
 * y = maxpool(x) (1-D, 2-D, 3-D; pads, auto_pad, strides, dilations, ceil_mode; any storage_order): dy is
 * routed to the arg-max position of each window (see {@link routeToArgmax}).
 */
export const maxPoolGrad: GradientRule = {
  inputs: [0],
  backward: (c) => [routeToArgmax(c, c.dy() as string, convGeometry(c, c.attrInts('kernel_shape') ?? [], true))],
};
