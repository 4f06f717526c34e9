import { InvalidModelError } from '../errors.js';
import { Graph } from '../graph.js';
import { convGeometry, transposedConv, type ConvGeometry } from './conv-geometry.js';
import type { GradContext, GradientRule } from './types.js';

/**
 * y = conv(x, W) + B: dx = convTranspose(dy, W) with the same strides, pads, dilations and groups (grouped
 * and depthwise convolutions included). Only the input receives a gradient. With unit strides and constant
 * weights the same result is a plain convolution with the spatially flipped, channel-transposed kernel,
 * which ONNX Runtime runs much faster than ConvTranspose.
 */
export const convGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const [x, w, y] = [c.input(0), c.input(1), c.output(0)];
    const ws = c.shape(w);
    const kernel = c.attrInts('kernel_shape') ?? ws?.slice(2).map((d) => (typeof d === 'number' ? d : NaN));
    if (!kernel || kernel.some(Number.isNaN)) return c.unsupported('the kernel size is unknown before run time');
    const g = convGeometry(c, kernel);
    const group = c.attrInt('group', 1);
    const cout = ws?.[0];
    if (!Number.isSafeInteger(group) || group < 1 || (typeof cout === 'number' && cout % group !== 0)) {
      throw new InvalidModelError(`Node '${Graph.label(c.node)}' (Conv) has group ${group}, which does not divide its ${cout ?? '?'} output channels.`);
    }
    return [flippedConv(c, g, group) ?? transposedConv(c, c.dy() as string, w, x, y, g, group)];
  },
};

/** The input gradient of a unit-stride convolution as a convolution, when the weights are constants. */
function flippedConv(c: GradContext, g: ConvGeometry, group: number): string | undefined {
  const { e } = c;
  const w = c.input(1);
  const values = c.constant(1);
  const dims = c.shape(w);
  if (!values || !dims || !dims.every((d): d is number => typeof d === 'number') || g.strides.some((s) => s !== 1)) return undefined;
  // The kernel attribute must describe the weights (it sizes the loops below).
  if (dims.length !== g.kernel.length + 2 || g.kernel.some((k, i) => k !== dims[i + 2]) || values.length !== dims.reduce((a, b) => a * b, 1)) return undefined;
  const n = g.kernel.length;
  const pads = g.pads.map((p, i) => (g.dilations[i % n] as number) * ((g.kernel[i % n] as number) - 1) - p);
  if (pads.some((p) => p < 0)) return undefined;
  const [cout, cinPerGroup] = dims as [number, number];
  const spatial = g.kernel.reduce((a, b) => a * b, 1);
  const coutPerGroup = cout / group;
  const cin = cinPerGroup * group;
  // W'[gi·cinPerGroup + ci, co, ...flipped] = W[gi·coutPerGroup + co, ci, ...]
  const flipped = new Float64Array(values.length);
  for (let gi = 0; gi < group; gi++) {
    for (let co = 0; co < coutPerGroup; co++) {
      for (let ci = 0; ci < cinPerGroup; ci++) {
        const from = ((gi * coutPerGroup + co) * cinPerGroup + ci) * spatial;
        const to = ((gi * cinPerGroup + ci) * coutPerGroup + co) * spatial;
        for (let k = 0; k < spatial; k++) flipped[to + spatial - 1 - k] = values[from + k] as number;
      }
    }
  }
  const weights = e.weights(flipped, e.floatType(w), [cin, coutPerGroup, ...g.kernel]);
  return e.op('Conv', [c.dy() as string, weights], { kernel_shape: g.kernel, pads, dilations: g.dilations, group });
}
