import type { Dim } from '../graph.js';
import { convGeometry, poolOutputSize, transposedConv } from './conv-geometry.js';
import type { GradientRule } from './types.js';

/**
 * y = averagepool(x) (1-D, 2-D, 3-D; pads, auto_pad, strides, ceil_mode, count_include_pad, the dilations of
 * opset 19): each window spreads dy / (its divisor) back over its positions — a transposed convolution
 * with a kernel of ones applied to every channel separately (channels folded into the batch). The divisor
 * is, as ONNX Runtime counts it, the number of window positions inside the input (count_include_pad 0) or
 * inside the padded input (count_include_pad 1: windows that ceil_mode lets run past the end padding count
 * only what they cover). With static spatial sizes the divisors are a constant; otherwise (no ceil_mode)
 * they are counted at run time by pooling a tensor of ones.
 */
export const averagePoolGrad: GradientRule = {
  inputs: [0],
  backward: (c) => {
    const { e } = c;
    const [x, y] = [c.input(0), c.output(0)];
    const rank = c.rank(x);
    const kernel = c.attrInts('kernel_shape') ?? [];
    const g = convGeometry(c, kernel, true);
    const n = kernel.length;
    const size = kernel.reduce((p, k) => p * k, 1);
    const ceil = c.attrInt('ceil_mode', 0) === 1;
    const include = c.attrInt('count_include_pad', 0) === 1;
    const dy = c.dy() as string;
    const xSpatial = c.shape(x)?.slice(2);
    let scaled: string;
    let ySpatial: Dim[] | undefined = c.shape(y)?.slice(2);
    if (xSpatial && xSpatial.length === n && xSpatial.every((d): d is number => typeof d === 'number')) {
      // Per axis, how many window positions each output position covers; the divisor is their product.
      const counts = xSpatial.map((d, i) => {
        const [k, s, dil, head, tail] = [kernel[i] as number, g.strides[i] as number, g.dilations[i] as number, g.pads[i] as number, g.pads[i + n] as number];
        const [lo, hi] = include ? [-head, d + tail] : [0, d];
        return Array.from({ length: poolOutputSize(d, k, s, dil, head, tail, ceil) }, (_, j) => {
          let count = 0;
          for (let t = 0; t < k; t++) {
            const at = j * s - head + t * dil;
            if (at >= lo && at < hi) count++;
          }
          return count;
        });
      });
      ySpatial = counts.map((list) => list.length);
      let recip: number[] = [1];
      for (const list of counts) recip = recip.flatMap((r) => list.map((k) => r / k));
      scaled = recip.every((r) => r === 1 / size)
        ? e.mul(dy, e.scalar(1 / size, x))
        : e.mul(dy, e.constant(recip, e.floatType(x), [1, 1, ...(ySpatial as number[])]));
    } else if (ceil) {
      return c.unsupported('ceil_mode with spatial sizes unknown before run time');
    } else if (include || g.pads.every((p) => p === 0)) {
      scaled = e.mul(dy, e.scalar(1 / size, x));
    } else {
      // Without ceil_mode every window lies inside the padded input: pooling ones with count_include_pad
      // gives (positions inside the input) / size.
      const ones = e.op('Add', [e.zerosLike(x), e.scalar(1, x)]);
      const share = e.op('AveragePool', [ones], {
        kernel_shape: kernel,
        strides: g.strides,
        pads: g.pads,
        dilations: c.attrInts('dilations'),
        count_include_pad: 1,
      });
      scaled = e.div(dy, e.mul(share, e.scalar(size, x)));
    }
    // Fold channels into the batch: [N, C, ...] -> [N·C, 1, ...], run one single-channel transposed conv.
    // Static sizes are used as such: ONNX Runtime's static shape of a ceil_mode pooling can be off by one.
    const foldedShape = (t: string, dims: Dim[] | undefined): string =>
      dims && dims.length === n && dims.every((d): d is number => typeof d === 'number')
        ? e.ints([-1, 1, ...dims])
        : e.op('Concat', [e.ints([-1, 1]), e.slice(e.shape(t), e.ints([2]), e.ints([rank]), [0])], { axis: 0 });
    const folded = e.op('Reshape', [scaled, foldedShape(y, ySpatial)]);
    const ones = e.constant(new Array<number>(size).fill(1), e.floatType(x), [1, 1, ...kernel]);
    const foldedX = e.op('Reshape', [x, foldedShape(x, xSpatial)]);
    c.graph.meta.set(foldedX, { elemType: c.graph.info(x).elemType, shape: [1, 1, ...(xSpatial ?? [])] });
    c.graph.meta.set(folded, { elemType: c.graph.info(x).elemType, shape: [1, 1, ...(ySpatial ?? [])] });
    const spread = transposedConv(c, folded, ones, foldedX, folded, g, 1);
    return [e.reshapeLike(spread, x)];
  },
};
