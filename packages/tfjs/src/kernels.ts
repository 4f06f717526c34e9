import * as tf from '@tensorflow/tfjs-core';

/**
 * Gradient kernels for tfjs-wasm, registered when a model is wrapped. Its `MaxPoolGrad` is replaced by a
 * correct one (see {@link maxPoolBackprop}); the filter gradients and the gather gradient it lacks are
 * JavaScript loops (see {@link convBackpropFilter}). tfjs-wasm 4.x has no
 * `DepthwiseConv2dNativeBackpropInput`, so no gradient flows through a depthwise convolution there
 * (MobileNets, EfficientNets), and its `Conv2DBackpropInput` is a plain loop about 8× slower than its
 * forward convolution. For unit strides both input gradients are forward convolutions of `dy` with the
 * spatially flipped, channel-transposed filter, which tfjs-wasm runs with XNNPACK; other geometries use
 * tfjs-wasm's own `Conv2DBackpropInput`, or for depthwise convolutions a JavaScript loop on the backend's
 * data.
 */

interface WasmLikeBackend {
  readSync(dataId: object): tf.backend_util.BackendValues;
  makeOutput(shape: number[], dtype: tf.DataType, memoryOffset?: number, values?: tf.backend_util.BackendValues): tf.TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
}

type Explicit = [[number, number], [number, number], [number, number], [number, number]];

/**
 * The pads of the forward convolution that computes a unit-stride convolution's input gradient, or
 * undefined when a pad of the original exceeds the kernel's reach.
 */
function flippedPads(info: tf.backend_util.Conv2DInfo): Explicit | undefined {
  if (info.strideHeight !== 1 || info.strideWidth !== 1 || info.dilationHeight !== 1 || info.dilationWidth !== 1) return undefined;
  const { top, bottom, left, right } = info.padInfo;
  const [h, w] = [info.filterHeight - 1, info.filterWidth - 1];
  const pads: Explicit = [[0, 0], [h - top, h - bottom], [w - left, w - right], [0, 0]];
  return pads.every(([a, b]) => a >= 0 && b >= 0) ? pads : undefined;
}

/** filter [fh, fw, cin, cout] → [fh, fw, cout, cin], reversed in both spatial dimensions. */
function flipFilter(f: Float32Array, [fh, fw, cin, cout]: number[]): Float32Array {
  const out = new Float32Array(f.length);
  for (let i = 0; i < (fh as number); i++) {
    for (let j = 0; j < (fw as number); j++) {
      const from = (i * (fw as number) + j) * (cin as number) * (cout as number);
      const to = (((fh as number) - 1 - i) * (fw as number) + ((fw as number) - 1 - j)) * (cin as number) * (cout as number);
      for (let c = 0; c < (cin as number); c++) for (let o = 0; o < (cout as number); o++) out[to + o * (cin as number) + c] = f[from + c * (cout as number) + o] as number;
    }
  }
  return out;
}

/** Runs a forward kernel of the backend on `dy` with the flipped filter (freed afterwards). */
/**
 * Flipped filters by the original's data id: a model's weights are flipped once, not at every gradient call
 * (tensors are immutable; an entry goes when its data id is collected).
 */
const flippedFilters = new WeakMap<object, Float32Array>();

function forwardWithFlippedFilter(kernel: tf.KernelConfig, dy: tf.TensorInfo, filter: tf.TensorInfo, flippedShape: number[], pads: Explicit, backend: WasmLikeBackend): tf.TensorInfo {
  let values = flippedFilters.get(filter.dataId);
  if (!values) {
    values = flipFilter(backend.readSync(filter.dataId) as Float32Array, filter.shape);
    flippedFilters.set(filter.dataId, values);
  }
  const flipped = backend.makeOutput(flippedShape, 'float32', undefined, values);
  try {
    return kernel.kernelFunc({
      inputs: { x: dy, filter: flipped },
      backend: backend as unknown as tf.KernelBackend,
      attrs: { strides: [1, 1], pad: pads, dataFormat: 'NHWC', dilations: [1, 1] } as unknown as tf.NamedAttrMap,
    }) as tf.TensorInfo;
  } finally {
    backend.disposeData(flipped.dataId);
  }
}

/**
 * Visits every pair of an output position and a filter tap whose input position lies inside the input (NHWC):
 * with the offsets of that output position's row in dy, of the input position's row in x, and the tap's index.
 */
function forEachTap(info: tf.backend_util.Conv2DInfo, visit: (dyBase: number, xBase: number, tap: number) => void): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { strideHeight, strideWidth, dilationHeight, dilationWidth, filterHeight, filterWidth } = info;
  const { top, left } = info.padInfo;
  for (let b = 0; b < batchSize; b++) {
    for (let yr = 0; yr < outHeight; yr++) {
      for (let yc = 0; yc < outWidth; yc++) {
        const dyBase = ((b * outHeight + yr) * outWidth + yc) * outChannels;
        for (let wr = 0; wr < filterHeight; wr++) {
          const xr = yr * strideHeight - top + wr * dilationHeight;
          if (xr < 0 || xr >= inHeight) continue;
          for (let wc = 0; wc < filterWidth; wc++) {
            const xc = yc * strideWidth - left + wc * dilationWidth;
            if (xc < 0 || xc >= inWidth) continue;
            visit(dyBase, ((b * inHeight + xr) * inWidth + xc) * inChannels, wr * filterWidth + wc);
          }
        }
      }
    }
  }
}

/**
 * dx of a depthwise convolution (NHWC): every dy[b, yr, yc, c·m + k] flows back to the input positions its
 * window covered, weighted by filter[wr, wc, c, k].
 */
export function depthwiseBackpropInput(
  dy: Float32Array,
  filter: Float32Array,
  info: tf.backend_util.Conv2DInfo,
): Float32Array {
  const { batchSize, inHeight, inWidth, inChannels, outChannels } = info;
  const multiplier = outChannels / inChannels;
  const dx = new Float64Array(batchSize * inHeight * inWidth * inChannels);
  forEachTap(info, (dyBase, dxBase, tap) => {
    const fBase = tap * inChannels * multiplier;
    if (multiplier === 1) {
      for (let c = 0; c < inChannels; c++) dx[dxBase + c] = (dx[dxBase + c] as number) + (dy[dyBase + c] as number) * (filter[fBase + c] as number);
      return;
    }
    for (let c = 0; c < inChannels; c++) {
      let s = 0;
      for (let k = 0; k < multiplier; k++) s += (dy[dyBase + c * multiplier + k] as number) * (filter[fBase + c * multiplier + k] as number);
      dx[dxBase + c] = (dx[dxBase + c] as number) + s;
    }
  });
  return Float32Array.from(dx);
}

const depthwiseBackpropInputKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, filter } = inputs as unknown as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const a = attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
  const info = tf.backend_util.computeConv2DInfo(
    a.inputShape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    a.strides,
    a.dilations,
    a.pad,
    a.dimRoundingMode,
    true,
  );
  const b = backend as unknown as WasmLikeBackend;
  const pads = flippedPads(info);
  const forward = tf.getKernel(tf.DepthwiseConv2dNative, 'wasm');
  // With a channel multiplier of 1 the gradient is itself a depthwise convolution.
  const consistent = dy.shape[1] === info.outHeight && dy.shape[2] === info.outWidth;
  if (pads && forward && consistent && info.outChannels === info.inChannels) {
    return forwardWithFlippedFilter(forward, dy, filter, filter.shape, pads, b);
  }
  const dx = depthwiseBackpropInput(b.readSync(dy.dataId) as Float32Array, b.readSync(filter.dataId) as Float32Array, info);
  return b.makeOutput([...a.inputShape], 'float32', undefined, dx);
};

/** tfjs-wasm's own Conv2DBackpropInput, used where the forward-convolution form does not apply. */
let nativeConv2DBackpropInput: tf.KernelConfig | undefined;

const conv2DBackpropInputKernel: tf.KernelFunc = (args) => {
  const { dy, filter } = args.inputs as unknown as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const a = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
  const forward = tf.getKernel(tf.Conv2D, 'wasm');
  if ((a.dataFormat ?? 'NHWC') === 'NHWC' && forward && dy.dtype === 'float32') {
    const info = tf.backend_util.computeConv2DInfo(a.inputShape, filter.shape as [number, number, number, number], a.strides, 1, a.pad, a.dimRoundingMode, false);
    const pads = flippedPads(info);
    const [fh, fw, cin, cout] = filter.shape as [number, number, number, number];
    const consistent = dy.shape[1] === info.outHeight && dy.shape[2] === info.outWidth;
    if (pads && consistent) return forwardWithFlippedFilter(forward, dy, filter, [fh, fw, cout, cin], pads, args.backend as unknown as WasmLikeBackend);
  }
  return (nativeConv2DBackpropInput as tf.KernelConfig).kernelFunc(args);
};

/**
 * dx of a max pool (NHWC): each window's dy goes to the window's largest input (the first of equal ones, as
 * tfjs-cpu and PyTorch). tfjs-wasm 4.22's own `MaxPoolGrad` drops windows whose inputs are all negative (no
 * gradient at all there), which silently breaks networks that max-pool before their nonlinearity (face-api's
 * TinyXception).
 */
export function maxPoolBackprop(dy: Float32Array, x: Float32Array, info: tf.backend_util.Conv2DInfo): Float32Array {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, strideHeight, strideWidth, filterHeight, filterWidth } = info;
  const { top, left } = info.padInfo;
  const dx = new Float32Array(x.length);
  for (let b = 0; b < batchSize; b++) {
    for (let yr = 0; yr < outHeight; yr++) {
      for (let yc = 0; yc < outWidth; yc++) {
        for (let c = 0; c < inChannels; c++) {
          let best = -Infinity;
          let at = -1;
          for (let wr = 0; wr < filterHeight; wr++) {
            const xr = yr * strideHeight - top + wr;
            if (xr < 0 || xr >= inHeight) continue;
            for (let wc = 0; wc < filterWidth; wc++) {
              const xc = yc * strideWidth - left + wc;
              if (xc < 0 || xc >= inWidth) continue;
              const i = ((b * inHeight + xr) * inWidth + xc) * inChannels + c;
              if ((x[i] as number) > best || at < 0) {
                best = x[i] as number;
                at = i;
              }
            }
          }
          if (at >= 0) dx[at] = (dx[at] as number) + (dy[((b * outHeight + yr) * outWidth + yc) * inChannels + c] as number);
        }
      }
    }
  }
  return dx;
}

const maxPoolGradKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, input } = inputs as unknown as { dy: tf.TensorInfo; input: tf.TensorInfo };
  const a = attrs as unknown as tf.MaxPoolGradAttrs;
  const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
  const b = backend as unknown as WasmLikeBackend;
  const dx = maxPoolBackprop(b.readSync(dy.dataId) as Float32Array, b.readSync(input.dataId) as Float32Array, info);
  return b.makeOutput([...input.shape], 'float32', undefined, dx);
};

/**
 * The filter gradient of a convolution (NHWC; filter [fh, fw, cin, cout], or for a depthwise convolution
 * [fh, fw, cin, multiplier]): each filter tap sums input × dy over the batch and the output positions it touched.
 * tfjs-wasm 4.x has neither `Conv2DBackpropFilter` nor `DepthwiseConv2dNativeBackpropFilter`, which gradients
 * with respect to convolution weights need.
 */
export function convBackpropFilter(x: Float32Array, dy: Float32Array, info: tf.backend_util.Conv2DInfo, depthwise: boolean): Float32Array {
  const { inChannels, outChannels, filterHeight, filterWidth } = info;
  const perTap = depthwise ? outChannels : inChannels * outChannels;
  const dw = new Float64Array(filterHeight * filterWidth * perTap);
  const multiplier = outChannels / inChannels;
  forEachTap(info, (dyBase, xBase, tapIndex) => {
    const tap = tapIndex * perTap;
    for (let c = 0; c < inChannels; c++) {
      const xv = x[xBase + c] as number;
      if (xv === 0) continue;
      if (depthwise) {
        for (let k = 0; k < multiplier; k++) dw[tap + c * multiplier + k] = (dw[tap + c * multiplier + k] as number) + xv * (dy[dyBase + c * multiplier + k] as number);
      } else {
        const row = tap + c * outChannels;
        for (let o = 0; o < outChannels; o++) dw[row + o] = (dw[row + o] as number) + xv * (dy[dyBase + o] as number);
      }
    }
  });
  return Float32Array.from(dw);
}

function backpropFilterKernel(depthwise: boolean): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs as unknown as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const a = attrs as unknown as { strides: [number, number] | number; pad: tf.backend_util.PadInfo['type'] | number | Explicit; dimRoundingMode?: 'floor' | 'round' | 'ceil'; filterShape: [number, number, number, number]; dilations?: [number, number] | number; dataFormat?: string };
    if ((a.dataFormat ?? 'NHWC') !== 'NHWC') throw new Error(`${depthwise ? 'DepthwiseConv2dNativeBackpropFilter' : 'Conv2DBackpropFilter'} on tfjs-wasm supports NHWC only`);
    const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], a.filterShape, a.strides, a.dilations ?? 1, a.pad as never, a.dimRoundingMode, depthwise);
    const b = backend as unknown as WasmLikeBackend;
    const dw = convBackpropFilter(b.readSync(x.dataId) as Float32Array, b.readSync(dy.dataId) as Float32Array, info, depthwise);
    return b.makeOutput([...a.filterShape], 'float32', undefined, dw);
  };
}

/**
 * out[s, …] = Σ x[i, …] over the positions i whose segment id is s (ids outside [0, numSegments) dropped):
 * the gradient of a gather (an embedding table's), which tfjs-wasm 4.x lacks.
 */
const unsortedSegmentSumKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, segmentIds } = inputs as unknown as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const numSegments = (attrs as unknown as tf.UnsortedSegmentSumAttrs).numSegments;
  const b = backend as unknown as WasmLikeBackend;
  const values = b.readSync(x.dataId) as Float32Array;
  const ids = b.readSync(segmentIds.dataId) as Int32Array;
  const inner = x.shape.slice(segmentIds.shape.length).reduce((p, d) => p * d, 1);
  const out = new Float64Array(numSegments * inner);
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i] as number;
    if (s < 0 || s >= numSegments) continue;
    for (let j = 0; j < inner; j++) out[s * inner + j] = (out[s * inner + j] as number) + (values[i * inner + j] as number);
  }
  return b.makeOutput([numSegments, ...x.shape.slice(segmentIds.shape.length)], 'float32', undefined, Float32Array.from(out));
};

/**
 * Registers the kernels above on tfjs-wasm, for the whole process (again after tfjs-wasm registers its own;
 * idempotent). Every wrapped model calls it.
 */
export function registerMissingKernels(): void {
  const depthwise = tf.getKernel(tf.DepthwiseConv2dNativeBackpropInput, 'wasm');
  if (!depthwise) {
    tf.registerKernel({ kernelName: tf.DepthwiseConv2dNativeBackpropInput, backendName: 'wasm', kernelFunc: depthwiseBackpropInputKernel });
  }
  for (const [name, depthwiseFilter] of [[tf.Conv2DBackpropFilter, false], [tf.DepthwiseConv2dNativeBackpropFilter, true]] as const) {
    if (!tf.getKernel(name, 'wasm')) tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: backpropFilterKernel(depthwiseFilter) });
  }
  if (!tf.getKernel(tf.UnsortedSegmentSum, 'wasm')) tf.registerKernel({ kernelName: tf.UnsortedSegmentSum, backendName: 'wasm', kernelFunc: unsortedSegmentSumKernel });
  const pool = tf.getKernel(tf.MaxPoolGrad, 'wasm');
  if (pool && pool.kernelFunc !== maxPoolGradKernel) {
    tf.unregisterKernel(tf.MaxPoolGrad, 'wasm');
    tf.registerKernel({ ...pool, kernelFunc: maxPoolGradKernel });
  }
  const conv = tf.getKernel(tf.Conv2DBackpropInput, 'wasm');
  if (conv && conv.kernelFunc !== conv2DBackpropInputKernel) {
    nativeConv2DBackpropInput = conv;
    tf.unregisterKernel(tf.Conv2DBackpropInput, 'wasm');
    tf.registerKernel({ ...conv, kernelFunc: conv2DBackpropInputKernel });
  }
}
