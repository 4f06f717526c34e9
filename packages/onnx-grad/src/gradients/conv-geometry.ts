import type { Dim } from '../graph.js';
import type { GradContext } from './types.js';

/** Spatial geometry of a Conv/pooling node with explicit pads. */
export interface ConvGeometry {
  readonly kernel: number[];
  readonly strides: number[];
  readonly dilations: number[];
  /** Begin pads then end pads, as ONNX orders them. */
  readonly pads: number[];
}

/** Reads kernel, strides, dilations and pads, resolving `auto_pad` (SAME_* needs static spatial sizes). */
export function convGeometry(c: GradContext, kernel: number[]): ConvGeometry {
  const n = kernel.length;
  const strides = c.attrInts('strides') ?? new Array<number>(n).fill(1);
  const dilations = c.attrInts('dilations') ?? new Array<number>(n).fill(1);
  const autoPad = c.attrString('auto_pad', 'NOTSET');
  let pads = c.attrInts('pads') ?? new Array<number>(2 * n).fill(0);
  if (autoPad === 'VALID') pads = new Array<number>(2 * n).fill(0);
  else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const x = c.shape(c.input(0));
    pads = new Array<number>(2 * n).fill(0);
    for (let i = 0; i < n; i++) {
      const d = x?.[i + 2];
      if (typeof d !== 'number') c.unsupported(`auto_pad ${autoPad} with a spatial size unknown before run time`);
      const s = strides[i] as number;
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

/** Pads the trailing spatial positions of `t` with zeros up to the spatial size of `x` (run time). */
export function padToSize(c: GradContext, t: string, x: string): string {
  const { e } = c;
  const rank = c.rank(x);
  const target = e.slice(e.shape(x), e.ints([2]), e.ints([rank]), [0]);
  const have = e.slice(e.op('Shape', [t]), e.ints([2]), e.ints([rank]), [0]);
  const pads = e.op('Concat', [e.ints(new Array<number>(rank + 2).fill(0)), e.sub(target, have)], { axis: 0 });
  return e.op('Pad', [t, pads]);
}

/** A transposed convolution that undoes the geometry `g`, sized like `x`. */
export function transposedConv(c: GradContext, dy: string, weight: string, x: string, y: string, g: ConvGeometry, group: number): string {
  const extra = outputPadding(c, x, y, g);
  const attrs = {
    strides: g.strides,
    pads: g.pads,
    dilations: g.dilations,
    group,
    kernel_shape: g.kernel,
    output_padding: extra && extra.some((v) => v !== 0) ? extra : undefined,
  };
  const result = c.e.op('ConvTranspose', [dy, weight], attrs);
  return extra ? result : padToSize(c, result, x);
}
