import { InvalidModelError } from '../errors.js';
import { Graph } from '../graph.js';
import { convGeometry, transposedConv, type ConvGeometry } from './conv-geometry.js';
import type { GradContext, GradientRule } from './types.js';

/**
 * y = conv(x, W) + B: dx = convTranspose(dy, W) with the same strides, pads, dilations and groups (grouped
 * and depthwise convolutions included). With unit strides and constant weights the same result is a plain
 * convolution with the spatially flipped, channel-transposed kernel, which ONNX Runtime runs much faster than
 * ConvTranspose. When the weights are differentiated too (parameters made inputs): dW is a convolution of the
 * input by dy (see {@link filterGrad}) and dB = Σ dy over the batch and spatial axes.
 */
export const convGrad: GradientRule = {
  inputs: [0, 1, 2],
  backward: (c) => {
    const dx = c.needs(0) ? inputGrad(c) : undefined;
    const dw = c.needs(1) ? filterGrad(c) : undefined;
    const dy = c.dy() as string;
    const db = c.input(2) && c.needs(2) ? c.e.reduceSum(dy, Array.from({ length: c.rank(c.input(0)) - 1 }, (_, i) => (i === 0 ? 0 : i + 1)), false) : undefined;
    return [dx, dw, db];
  },
};

/** The kernel's spatial size and the convolution's geometry and group count (checked). */
function geometry(c: GradContext): { g: ConvGeometry; group: number } {
  const w = c.input(1);
  const ws = c.shape(w);
  const kernel = c.attrInts('kernel_shape') ?? ws?.slice(2).map((d) => (typeof d === 'number' ? d : NaN));
  if (!kernel || kernel.some(Number.isNaN)) return c.unsupported('the kernel size is unknown before run time');
  const g = convGeometry(c, kernel);
  const group = c.attrInt('group', 1);
  const cout = ws?.[0];
  if (!Number.isSafeInteger(group) || group < 1 || (typeof cout === 'number' && cout % group !== 0)) {
    throw new InvalidModelError(`Node '${Graph.label(c.node)}' (Conv) has group ${group}, which does not divide its ${cout ?? '?'} output channels.`);
  }
  return { g, group };
}

/**
 * dW[o, i, k] = Σ_n Σ_p dy[n, o, p] · x[n, i, p·s + k·d − pad] (per group) is itself a convolution with the
 * roles of strides and dilations swapped: the input channels as the batch, the batch as the channels (per
 * group: [cin/G, G·N, …]) and dy as the kernel ([cout, N, …]), in G groups; the result [cin/G, cout, k′…] is
 * transposed and cut to the kernel size (k′ ≥ k when the last window stops short of the end pad).
 */
function filterGrad(c: GradContext): string {
  const { e } = c;
  const { g, group } = geometry(c);
  const [x, w] = [c.input(0), c.input(1)];
  const dy = c.dy() as string;
  const ws = c.shape(w);
  const [cout, cinPerGroup] = [ws?.[0], ws?.[1]];
  if (typeof cout !== 'number' || typeof cinPerGroup !== 'number') return c.unsupported('weight gradients need the weight shape before run time');
  const n = g.kernel.length;
  const spatial = Array.from({ length: n }, (_, i) => i + 2);
  // The last n dims of a tensor's shape (its spatial sizes).
  const rest = (t: string): string => e.slice(e.shape(t), e.ints([-n]), e.ints([2 ** 31 - 1]), [0]);
  const reshape = (t: string, head: string): string => e.op('Reshape', [t, e.op('Concat', [head, rest(t)], { axis: 0 })]);
  const batch = (t: string): string => e.slice(e.shape(t), e.ints([0]), e.ints([1]), [0]);
  let a: string;
  let b: string;
  if (group === 1) {
    a = e.transpose(x, [1, 0, ...spatial]);
    b = e.transpose(dy, [1, 0, ...spatial]);
  } else {
    const coutPerGroup = cout / group;
    // x [N, G·ci, S…] → [N, G, ci, S…] → [ci, G, N, S…] → [ci, G·N, S…]
    const xg = reshape(x, e.op('Concat', [batch(x), e.ints([group, cinPerGroup])], { axis: 0 }));
    a = reshape(e.transpose(xg, [2, 1, 0, ...spatial.map((d) => d + 1)]), e.ints([cinPerGroup, -1]));
    // dy [N, G·co, P…] → [N, G, co, P…] → [G, co, N, P…] → [G·co, N, P…]
    const dyg = reshape(dy, e.op('Concat', [batch(dy), e.ints([group, coutPerGroup])], { axis: 0 }));
    b = reshape(e.transpose(dyg, [1, 2, 0, ...spatial.map((d) => d + 1)]), e.ints([cout, -1]));
  }
  const r = e.op('Conv', [a, b], { strides: g.dilations, dilations: g.strides, pads: g.pads, group });
  const dw = e.transpose(r, [1, 0, ...spatial]);
  return e.slice(dw, e.ints(new Array<number>(n).fill(0)), e.ints(g.kernel), spatial);
}

/** dx: the transposed convolution of dy, or a flipped-kernel convolution for unit strides and constant weights. */
function inputGrad(c: GradContext): string {
  {
    const [x, w, y] = [c.input(0), c.input(1), c.output(0)];
    const { g, group } = geometry(c);
    return flippedConv(c, g, group) ?? transposedConv(c, c.dy() as string, w, x, y, g, group);
  }
}

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
