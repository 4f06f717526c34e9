import { InvalidModelError } from '../errors.js';
import { Graph, type Dim } from '../graph.js';
import type { GradContext } from './types.js';

/** Spatial geometry of a Conv/pooling node with explicit pads. */
export interface ConvGeometry {
  readonly kernel: number[];
  readonly strides: number[];
  readonly dilations: number[];
  /** Begin pads then end pads, as ONNX orders them. */
  readonly pads: number[];
}

/** The largest kernel extent, stride, dilation or pad (and kernel size) accepted from a model file. */
const MAX_WINDOW = 1 << 20;

/**
 * The output length of a pooling window sliding over `size` positions as ONNX Runtime computes it: with
 * ceil_mode the last window must start inside the input or the leading padding (else it is dropped).
 */
export function poolOutputSize(size: number, kernel: number, stride: number, dilation: number, head: number, tail: number, ceil: boolean): number {
  const numerator = size + head + tail - dilation * (kernel - 1) - 1;
  if (!ceil) return Math.trunc(numerator / stride) + 1;
  let out = Math.ceil(Math.fround(numerator) / stride) + 1;
  if ((out - 1) * stride >= size + head) out--;
  return out;
}

/**
 * The SAME_* pads of a pooling window as ONNX Runtime's pooling kernels compute them: from the undilated
 * kernel (unlike its convolutions), clamped at zero.
 */
export function samePoolPads(size: number, kernel: number, stride: number, lower: boolean): [number, number] {
  const needed = (Math.ceil(size / stride) - 1) * stride + kernel - size;
  const head = lower ? Math.trunc((needed + 1) / 2) : Math.trunc(needed / 2);
  return [Math.max(0, head), Math.max(0, needed - head)];
}

/**
 * Reads kernel, strides, dilations and pads, resolving `auto_pad` (SAME_* needs static spatial sizes;
 * `pooling` resolves it as ONNX Runtime's pooling kernels do, see {@link samePoolPads}).
 */
export function convGeometry(c: GradContext, kernel: number[], pooling = false): ConvGeometry {
  const n = kernel.length;
  const strides = c.attrInts('strides') ?? new Array<number>(n).fill(1);
  const dilations = c.attrInts('dilations') ?? new Array<number>(n).fill(1);
  const autoPad = c.attrString('auto_pad', 'NOTSET');
  let pads = c.attrInts('pads') ?? new Array<number>(2 * n).fill(0);
  // Attributes come from an untrusted file: a kernel of 1e9 would allocate, a stride of 0 divide by zero.
  const invalid = (what: string, value: readonly number[]): never => {
    throw new InvalidModelError(`Node '${Graph.label(c.node)}' (${c.node.opType}) has an invalid ${what}: [${value.join(', ')}].`);
  };
  const within = (v: number, lo: number, hi: number): boolean => Number.isSafeInteger(v) && v >= lo && v <= hi;
  if (n === 0 || !kernel.every((k) => within(k, 1, MAX_WINDOW)) || kernel.reduce((p, k) => p * k, 1) > MAX_WINDOW) invalid('kernel_shape', kernel);
  if (strides.length !== n || !strides.every((v) => within(v, 1, MAX_WINDOW))) invalid('strides', strides);
  if (dilations.length !== n || !dilations.every((v) => within(v, 1, MAX_WINDOW))) invalid('dilations', dilations);
  if (pads.length !== 2 * n || !pads.every((v) => within(v, 0, MAX_WINDOW))) invalid('pads', pads);
  if (autoPad === 'VALID') pads = new Array<number>(2 * n).fill(0);
  else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const x = c.shape(c.input(0));
    pads = new Array<number>(2 * n).fill(0);
    for (let i = 0; i < n; i++) {
      const d = x?.[i + 2];
      if (typeof d !== 'number') c.unsupported(`auto_pad ${autoPad} with a spatial size unknown before run time`);
      const s = strides[i] as number;
      if (pooling) {
        [pads[i], pads[i + n]] = samePoolPads(d, kernel[i] as number, s, autoPad === 'SAME_LOWER');
        continue;
      }
      const out = Math.ceil(d / s);
      const total = Math.max(0, (out - 1) * s + ((dilations[i] as number) * ((kernel[i] as number) - 1) + 1) - d);
      const small = Math.floor(total / 2);
      pads[i] = autoPad === 'SAME_UPPER' ? small : total - small;
      pads[i + n] = total - (pads[i] as number);
    }
  }
  return { kernel, strides, dilations, pads };
}

/**
 * Makes the result of a transposed convolution exactly as large as `x`: ConvTranspose cannot know the
 * rows a strided convolution skipped at the end, so they are added as zeros — statically through
 * `output_padding` when sizes are known, else by a run-time Pad.
 */
export function outputPadding(c: GradContext, x: string, y: string, g: ConvGeometry): number[] | undefined {
  const xs = c.shape(x);
  const ys = c.shape(y);
  const n = g.kernel.length;
  const extra: number[] = [];
  for (let i = 0; i < n; i++) {
    const xd: Dim | undefined = xs?.[i + 2];
    const yd: Dim | undefined = ys?.[i + 2];
    if (typeof xd !== 'number' || typeof yd !== 'number') return undefined;
    const produced = (g.strides[i] as number) * (yd - 1) + (g.dilations[i] as number) * ((g.kernel[i] as number) - 1) + 1 - (g.pads[i] as number) - (g.pads[i + n] as number);
    extra.push(xd - produced);
  }
  return extra;
}

/** Pads (or, by negative pads, cuts) the trailing spatial positions of `t` to the spatial size of `x` (run time). */
export function padToSize(c: GradContext, t: string, x: string): string {
  const { e } = c;
  const rank = c.rank(x);
  const target = e.slice(e.shape(x), e.ints([2]), e.ints([rank]), [0]);
  const have = e.slice(e.op('Shape', [t]), e.ints([2]), e.ints([rank]), [0]);
  const pads = e.op('Concat', [e.ints(new Array<number>(rank + 2).fill(0)), e.sub(target, have)], { axis: 0 });
  return e.op('Pad', [t, pads]);
}

/**
 * A transposed convolution that undoes the geometry `g`, sized like `x`. Windows that run past the end of
 * the padded input (pooling with ceil_mode) make it longer than `x`: the excess is cropped as end padding.
 * When the sizes are unknown, nothing is cropped at the end and the result is padded or cut to the size
 * of `x` at run time (the last window need not reach into the end padding).
 */
export function transposedConv(c: GradContext, dy: string, weight: string, x: string, y: string, g: ConvGeometry, group: number): string {
  let extra = outputPadding(c, x, y, g);
  if (!extra) {
    const n = g.kernel.length;
    const attrs = { strides: g.strides, pads: [...g.pads.slice(0, n), ...new Array<number>(n).fill(0)], dilations: g.dilations, group, kernel_shape: g.kernel };
    return padToSize(c, c.e.op('ConvTranspose', [dy, weight], attrs), x);
  }
  let pads = g.pads;
  if (extra && extra.some((v) => v < 0)) {
    const n = g.kernel.length;
    const cropped = [...g.pads];
    extra = extra.map((v, i) => {
      if (v >= 0) return v;
      cropped[i + n] = (cropped[i + n] as number) - v;
      return 0;
    });
    pads = cropped;
  }
  const attrs = {
    strides: g.strides,
    pads,
    dilations: g.dilations,
    group,
    kernel_shape: g.kernel,
    output_padding: extra && extra.some((v) => v !== 0) ? extra : undefined,
  };
  return c.e.op('ConvTranspose', [dy, weight], attrs);
}

/**
 * Pads and output length of a ConvTranspose along one axis, as ONNX Runtime computes them: from
 * `output_shape` (total pad (in−1)·s + adj + extent − out, clamped at 0), from `auto_pad` SAME_* (the
 * total that makes the output in·s) or the `pads` attribute. A total pad is split with the odd one at the
 * start for SAME_UPPER, at the end otherwise. `size` undefined: unknown (then the head pad is known
 * unless `output_shape` is given).
 */
export function convTransposeAxis(
  size: number | undefined,
  kernel: number,
  stride: number,
  dilation: number,
  adj: number,
  autoPad: string,
  pads: readonly [number, number],
  outputShape?: number,
): { head?: number; tail?: number; out?: number } {
  const extent = dilation * (kernel - 1) + 1;
  const split = (total: number): [number, number] => {
    const head = autoPad === 'SAME_UPPER' ? Math.floor(total / 2) : total - Math.floor(total / 2);
    return [head, total - head];
  };
  if (outputShape !== undefined) {
    if (size === undefined) return { out: outputShape };
    const [head, tail] = split(Math.max(0, (size - 1) * stride + adj + extent - outputShape));
    return { head, tail, out: outputShape };
  }
  const [head, tail] = autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER' ? split(Math.max(0, adj + extent - stride)) : pads;
  return { head, tail, out: size === undefined ? undefined : (size - 1) * stride + adj + extent - head - tail };
}
