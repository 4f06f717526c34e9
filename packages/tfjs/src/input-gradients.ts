import * as tf from '@tensorflow/tfjs-core';

/**
 * Input-only gradients for tfjs's fused operations.
 *
 * Under a gradient tape, tfjs keeps a fused convolution or matrix product (`tf.fused.conv2d`,
 * `tf.fused.depthwiseConv2d`, `tf.fused.matMul`) fused when its activation is linear — the case in every
 * converted model, where batch normalisation is folded into the bias — and records a custom gradient that
 * computes the gradients of the input, the filter and the bias at once. Attribution never needs filter or bias
 * gradients, and some backends cannot compute them (tfjs-wasm has no `Conv2DBackpropFilter`) or compute them
 * slowly (tfjs-cpu spends most of a MobileNet's backward pass there).
 *
 * While an attribution gradient is being recorded, the fused kernels' attributes are remembered (a thin wrapper
 * around each backend's kernel). Before tfjs walks the tape backwards, every node of such an operation gets a
 * lazy gradient instead: each input's gradient is computed by tfjs's own gradient of the unfused kernel
 * (`Conv2D`, `DepthwiseConv2dNative`, `BatchMatMul`) and only when tfjs asks for it, which it does only for
 * inputs that depend on what is differentiated. Nodes whose activation is not linear, or that were not seen by
 * the wrapper, keep tfjs's gradient.
 */

interface FusedCall {
  readonly kernel: string;
  readonly attrs: tf.NamedAttrMap;
}

interface TapeNodeLike {
  readonly id: number;
  readonly kernelName: string;
  readonly inputs: Record<string, tf.Tensor>;
  readonly outputs: tf.Tensor[];
  readonly saved?: tf.Tensor[];
  gradient?: (dys: tf.Tensor[]) => Record<string, () => tf.Tensor>;
}

const FUSED: readonly string[] = [tf.FusedConv2D, tf.FusedDepthwiseConv2D, tf._FusedMatMul, tf.FusedBatchNorm];
/** Kernels whose attributes are remembered too: LRP re-runs them with modified weights (see lrp.ts). */
const RECORDED: readonly string[] = [...FUSED, tf.Conv2D, tf.DepthwiseConv2dNative, tf.BatchMatMul];

/** Attributes of fused kernels run while recording, by the data id of their output. */
const calls = new WeakMap<object, FusedCall>();
/** Tape nodes already given input-only gradients. */
const patched = new WeakSet<object>();
/** The wrappers installed, so that a backend's kernel is wrapped once. */
const wrappers = new WeakSet<tf.KernelFunc>();
let recording = 0;

/** The kernel and attributes that computed `t` while recording, for the kernels remembered (undefined otherwise). */
export function kernelCall(t: tf.Tensor): { readonly kernel: string; readonly attrs: tf.NamedAttrMap } | undefined {
  return calls.get(t.dataId);
}

/** Wraps the fused kernels of every registered backend (again for backends registered later; idempotent). */
export function wrapFusedKernels(): void {
  const backends = Object.keys((tf.engine() as unknown as { registryFactory: Record<string, unknown> }).registryFactory ?? {});
  for (const backendName of backends) {
    for (const kernelName of RECORDED) {
      const config = tf.getKernel(kernelName, backendName);
      if (!config || wrappers.has(config.kernelFunc)) continue;
      const original = config.kernelFunc;
      const kernelFunc: tf.KernelFunc = (args) => {
        const out = original(args);
        if (recording > 0 && !Array.isArray(out)) calls.set((out as tf.TensorInfo).dataId, { kernel: kernelName, attrs: { ...args.attrs } });
        return out;
      };
      wrappers.add(kernelFunc);
      tf.unregisterKernel(kernelName, backendName);
      tf.registerKernel({ ...config, kernelFunc });
    }
  }
}

interface EngineLike {
  getTensorsForGradient(kernelName: string, inputs: tf.NamedTensorMap, outputs: tf.Tensor[]): (tf.Tensor | undefined)[];
}

/**
 * tfjs saves a kernel's inputs for its gradient by name and fails on an optional one that is absent — e.g.
 * a BatchNormalization layer with `scale: false` (InceptionV3) cannot run under a gradient tape ("reading
 * 'dataId'"), although its gradient treats a missing scale as 1. While recording, trailing absent inputs are
 * not saved.
 */
function tolerateAbsentInputs(engine: EngineLike): () => void {
  const own = Object.prototype.hasOwnProperty.call(engine, 'getTensorsForGradient');
  const original = engine.getTensorsForGradient;
  engine.getTensorsForGradient = function (this: EngineLike, kernelName, inputs, outputs) {
    const saved = original.call(this, kernelName, inputs, outputs);
    while (saved.length > 0 && saved[saved.length - 1] == null) saved.pop();
    return saved;
  };
  return () => {
    if (own) engine.getTensorsForGradient = original;
    else delete (engine as Partial<EngineLike>).getTensorsForGradient;
  };
}

/**
 * Runs `f` (which records a gradient tape) remembering the attributes of the fused kernels it runs, with
 * absent optional inputs tolerated (see above); synchronous, so nothing else runs meanwhile.
 */
export function recordingGradients<R>(f: () => R): R {
  recording++;
  const restore = recording === 1 ? tolerateAbsentInputs(tf.engine() as unknown as EngineLike) : undefined;
  try {
    return f();
  } finally {
    recording--;
    restore?.();
  }
}

/** The axes of `dy` that a bias of shape `bias` was broadcast along (NumPy rules, aligned right). */
function biasAxes(dy: readonly number[], bias: readonly number[]): number[] {
  const axes: number[] = [];
  const offset = dy.length - bias.length;
  dy.forEach((size, i) => {
    if (i < offset || (bias[i - offset] === 1 && size !== 1)) axes.push(i);
  });
  return axes;
}

/** The lazy per-input gradient of a fused node, from tfjs's gradient of the unfused kernel. */
function inputOnlyGradient(node: TapeNodeLike, call: FusedCall): TapeNodeLike['gradient'] | undefined {
  const saved = node.saved ?? [];
  const { kernel, attrs } = call;
  if ((attrs.activation ?? 'linear') !== 'linear') return undefined;
  const unfused = kernel === tf._FusedMatMul ? tf.BatchMatMul : kernel === tf.FusedConv2D ? tf.Conv2D : tf.DepthwiseConv2dNative;
  const config = tf.getGradient(unfused);
  if (!config) return undefined;
  // Saved by tfjs: convolutions [filter, x, y, bias?], matrix products [a, b, y, bias?].
  const [first, second, y, bias] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor | undefined];
  if (!first || !second || !y) return undefined;
  const operands = kernel === tf._FusedMatMul ? [first, second] : [second, first];
  return (dys) => {
    const dy = tf.reshape(dys[0] as tf.Tensor, y.shape);
    const grads = config.gradFunc(dy, operands, attrs) as Record<string, () => tf.Tensor>;
    const [p, q] = kernel === tf._FusedMatMul ? ['a', 'b'] : ['x', 'filter'];
    const map: Record<string, () => tf.Tensor> = { 0: grads[p as string] as () => tf.Tensor, 1: grads[q as string] as () => tf.Tensor };
    if (bias) map[2] = () => tf.reshape(tf.sum(dy, biasAxes(dy.shape, bias.shape)), bias.shape);
    return map;
  };
}

/**
 * Batch normalisation (inference): x's gradient is `dy · scale / √(variance + ε)`, broadcast over the channel
 * axis. tfjs's own gradient tiles the factor to x's full shape first (most of a MobileNet's backward pass on
 * tfjs-wasm) and computes `x − mean` and `dy · scale` eagerly for the other inputs' gradients; those keep
 * tfjs's gradient, computed only if asked for.
 */
function batchNormGradient(node: TapeNodeLike, call: FusedCall): TapeNodeLike['gradient'] | undefined {
  const original = node.gradient;
  const [x, , variance, scale] = (node.saved ?? []) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor | undefined];
  const epsilon = call.attrs.varianceEpsilon;
  if (!original || !x || !variance || typeof epsilon !== 'number') return undefined;
  return (dys) => {
    let theirs: Record<string, () => tf.Tensor> | undefined;
    const lazy = (name: string) => (): tf.Tensor => ((theirs ??= original(dys))[name] as () => tf.Tensor)();
    const map: Record<string, () => tf.Tensor> = {};
    for (const name of Object.keys(node.inputs)) map[name] = lazy(name);
    map.x = () => {
      const factor = tf.rsqrt(tf.add(variance, epsilon));
      return tf.reshape(tf.mul(dys[0] as tf.Tensor, scale ? tf.mul(factor, scale) : factor), x.shape);
    };
    return map;
  };
}

/**
 * Gives every fused node recorded on the active tape since `from` an input-only gradient, and drops absent
 * optional inputs from every node. Call it at the end of the function being differentiated, before tfjs runs
 * the backward pass.
 */
export function useInputOnlyGradients(from = 0): void {
  const tape = (tf.engine().state as unknown as { activeTape: TapeNodeLike[] | null }).activeTape;
  if (!tape) return;
  for (let i = from; i < tape.length; i++) {
    const node = tape[i] as TapeNodeLike;
    // Absent optional inputs (see tolerateAbsentInputs) are recorded as undefined, which tfjs's tape walk cannot read.
    for (const [name, t] of Object.entries(node.inputs)) if (t == null) delete node.inputs[name];
    if (patched.has(node) || !node.gradient) continue;
    // tfjs hands a one-output node's gradient a tensor, not a list, which Unpack's gradient stacks and fails on
    // ("tf.stack"): unstacking a batch of 1. Its gradient is the one output's, reshaped to the input.
    const unstacked = node.kernelName === tf.Unpack && node.outputs.length === 1 ? node.inputs.value : undefined;
    if (unstacked) {
      node.gradient = (dys) => ({ value: () => tf.reshape(dys[0] as tf.Tensor, unstacked.shape) });
      patched.add(node);
      continue;
    }
    // The node's output is the kernel's (reshaped for 3-D operands: same data); its saved copy may not be (wasm clones).
    const out = node.outputs[0];
    const call = out ? calls.get(out.dataId) : undefined;
    if (!call || !FUSED.includes(call.kernel)) continue;
    const gradient = call.kernel === tf.FusedBatchNorm ? batchNormGradient(node, call) : inputOnlyGradient(node, call);
    if (gradient) {
      node.gradient = gradient;
      patched.add(node);
    }
  }
}

/** How many nodes the active tape holds (where a call's own nodes start). */
export function tapeLength(): number {
  return (tf.engine().state as unknown as { activeTape: unknown[] | null }).activeTape?.length ?? 0;
}
