/**
 * @packageDocumentation
 * Captum's toy models (`captum/testing/helpers/basic_models.py`, CAPTUM-SEMANTICS §9.2) rebuilt in
 * TensorFlow.js, so every package can port Captum's own test values. Function models receive the adapter's
 * `tap` as their last argument and mark Captum's layers with it (names as Captum's module attributes).
 */
import * as tf from '@tensorflow/tfjs';
import type { Model } from '@attribution/tensor';
import type { Tap } from '@attribution/tfjs';

/** The tap a function model received (its last argument), or a pass-through when called without one. */
export function tapOf(args: readonly unknown[]): Tap {
  const last = args[args.length - 1];
  return typeof last === 'function' ? (last as Tap) : (_name, value) => value;
}

/** A PyTorch `Linear` with weight rows `[out][in]` and optional bias: `x Wᵀ + b`. Parameters are kept. */
export function linear(weight: number[][], bias?: number[]): (x: tf.Tensor) => tf.Tensor {
  const w = tf.keep(tf.transpose(tf.tensor2d(weight)));
  const b = bias ? tf.keep(tf.tensor1d(bias)) : undefined;
  return (x) => (b ? tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), b) : tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D));
}

const ones = (rows: number, cols: number): number[][] => Array.from({ length: rows }, () => Array<number>(cols).fill(1));
const identity = (n: number): number[][] => Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));

/** Captum's BasicModel2: f(x1, x2) = relu(relu(x1) − 1 − relu(x2)). */
export const basicModel2 = (x1: tf.Tensor, x2: tf.Tensor): tf.Tensor => tf.relu(tf.sub(tf.sub(tf.relu(x1), 1), tf.relu(x2)));

/** The body of BasicModel_MultiLayer after its input: linear0 → linear1 → relu (or multi_relu) → linear2, tapped. */
function multiLayer(multiInputModule: boolean): (x: tf.Tensor, tap: Tap) => tf.Tensor {
  const linear0 = linear(identity(3), [0, 0, 0]);
  const linear1 = linear(ones(4, 3), [-10, 1, 1, 1]);
  const linear1Alt = linear(ones(4, 3), [-10, 1, 1, 1]);
  const linear2 = linear(ones(2, 4), [-1, 1]);
  return (x, tap) => {
    const h = tap('linear1', linear1(tap('linear0', linear0(x))));
    let r: tf.Tensor;
    if (multiInputModule) {
      // MultiRelu receives (h, linear1_alt(x)) — linear1_alt sees the raw input — and returns both ReLUs.
      const alt = tap('linear1_alt', linear1Alt(x));
      r = tf.add(tap('multi_relu', tf.relu(h), 0), tap('multi_relu', tf.relu(alt), 1));
    } else {
      r = tap('relu', tf.relu(h));
    }
    return tap('linear2', linear2(r));
  };
}

/**
 * Captum's BasicModel_MultiLayer (`multiInputModule` as its `multi_input_module`): output [N, 2]. Called as
 * `(x, addInput?, multidimOutput?, tap)`; a tensor `addInput` is added to x first, and `multidimOutput` true
 * returns `[N, 2, 2, 2]` with `out[n, i, j, k] = o[n, i] · (j ? 2 : 1) · (k ? 4 : 1)`. Taps: `linear0`,
 * `linear1`, `relu` (or `multi_relu` outputs 0 and 1 and `linear1_alt`), `linear2`.
 */
export function basicModelMultiLayer(options: { readonly multiInputModule?: boolean } = {}): (x: tf.Tensor, ...rest: unknown[]) => tf.Tensor {
  const body = multiLayer(options.multiInputModule ?? false);
  const spread = tf.keep(tf.tensor3d([[[1, 4], [2, 8]]]));
  return (x, ...rest) => {
    const addInput = rest[0] instanceof tf.Tensor ? rest[0] : undefined;
    const out = body(addInput ? tf.add(x, addInput) : x, tapOf(rest));
    return rest[1] === true ? tf.mul(tf.reshape(out, [-1, 2, 1, 1]), spread) : out;
  };
}

/** Captum's BasicModel_MultiLayer_MultiInput: f(x1, x2, x3, scale) = MultiLayer(scale·(x1 + x2 + x3)), same taps. */
export function basicModelMultiLayerMultiInput(): (x1: tf.Tensor, x2: tf.Tensor, x3: tf.Tensor, scale: number | tf.Tensor, ...rest: unknown[]) => tf.Tensor {
  const body = multiLayer(false);
  return (x1, x2, x3, scale, ...rest) => body(tf.mul(tf.add(tf.add(x1, x2), x3), scale), tapOf(rest));
}

/** Captum's ReLUDeepLiftModel: f(x1, x2) = 2·relu(x1) + x3·relu(x2 − 1.5) with its default x3 = 2. */
export const reluDeepLiftModel = (x1: tf.Tensor, x2: tf.Tensor): tf.Tensor => tf.add(tf.mul(2, tf.relu(x1)), tf.mul(2, tf.relu(tf.sub(x2, 1.5))));

/** Captum's TanhDeepLiftModel: f(x1, x2) = 2·tanh(x1) + 2·tanh(x2 − 1.5). */
export const tanhDeepLiftModel = (x1: tf.Tensor, x2: tf.Tensor): tf.Tensor => tf.add(tf.mul(2, tf.tanh(x1)), tf.mul(2, tf.tanh(tf.sub(x2, 1.5))));

/**
 * Captum's ReLULinearModel: f(x1, x2, x3 = 1) = l3(relu(concat[l1(x1), x3·l2(x2)])), output [N, 1]. Called
 * as `(x1, x2, x3?, tap)`. Taps: `l1`, `l2`, `relu.input` (the concatenation the ReLU receives), `relu`, `l3`.
 */
export function reluLinearModel(): (x1: tf.Tensor, x2: tf.Tensor, ...rest: unknown[]) => tf.Tensor {
  const l1 = linear([[3, 1, 0]]);
  const l2 = linear([[2, 3, 0]]);
  const l3 = linear([[1, 1]]);
  return (x1, x2, ...rest) => {
    const tap = tapOf(rest);
    const x3 = typeof rest[0] === 'number' || rest[0] instanceof tf.Tensor ? rest[0] : 1;
    const joined = tap('relu.input', tf.concat([tap('l1', l1(x1)), tf.mul(x3, tap('l2', l2(x2)))], 1));
    return tap('l3', l3(tap('relu', tf.relu(joined))));
  };
}

/** Captum's LinearMaxPoolLinearModel: f(x) = max_j x_j, through an identity linear layer and MaxPool1d(4). Output [N, 1]. */
export const linearMaxPoolLinearModel = (x: tf.Tensor): tf.Tensor => {
  const n = x.shape[0] as number;
  const pooled = tf.maxPool(tf.reshape(x, [n, 1, 4, 1]) as tf.Tensor4D, [1, 4], [1, 4], 'valid');
  return tf.reshape(pooled, [n, 1]);
};

const FC1_ROWS = Array.from({ length: 4 }, () => [1, 1, 1, 1, 1, -1, -1, -1]);

/**
 * Captum's BasicModel_ConvNet_One_Conv: conv1 (1→2, 3×3, ones, biases −50, −75), ReLU, flatten (channel-major),
 * fc1 rows [1,1,1,1,1,−1,−1,−1], ReLU. Input [N, 1, 4, 4] (NCHW), called as `(x, x2?, tap)` with an optional
 * second input added first. Taps (NCHW): `conv1`, `relu1`, `fc1`, `relu2`.
 */
export function convNetOneConv(): (x: tf.Tensor, ...rest: unknown[]) => tf.Tensor {
  const filter = tf.keep(tf.ones([3, 3, 1, 2]));
  const bias = tf.keep(tf.tensor1d([-50, -75]));
  const fc1 = linear(FC1_ROWS);
  return (x, ...rest) => {
    const tap = tapOf(rest);
    const input = rest[0] instanceof tf.Tensor ? tf.add(x, rest[0]) : x;
    const nhwc = tf.transpose(input, [0, 2, 3, 1]) as tf.Tensor4D;
    const conv = tap('conv1', tf.transpose(tf.add(tf.conv2d(nhwc, filter as tf.Tensor4D, 1, 'valid'), bias), [0, 3, 1, 2]));
    const flat = tf.reshape(tap('relu1', tf.relu(conv)), [input.shape[0] as number, 8]);
    return tap('relu2', tf.relu(tap('fc1', fc1(flat))));
  };
}

/**
 * BasicModel_ConvNet_One_Conv as a `tf.LayersModel` (channels-first), for layer access by layer name and
 * `attributeToLayerInput`: layers `conv1`, `relu1`, `flatten`, `fc1`, `relu2`.
 */
export function convNetOneConvLayers(): tf.LayersModel {
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ name: 'conv1', inputShape: [1, 4, 4], filters: 2, kernelSize: 3, dataFormat: 'channelsFirst' }),
      tf.layers.reLU({ name: 'relu1' }),
      tf.layers.flatten({ name: 'flatten' }),
      tf.layers.dense({ name: 'fc1', units: 4, useBias: false }),
      tf.layers.reLU({ name: 'relu2' }),
    ],
  });
  tf.tidy(() => {
    model.getLayer('conv1').setWeights([tf.ones([3, 3, 1, 2]), tf.tensor1d([-50, -75])]);
    model.getLayer('fc1').setWeights([tf.transpose(tf.tensor2d(FC1_ROWS))]);
  });
  return model;
}

/** Captum's test inputs (§9.2 shorthands) as fresh tensors. */
export const inputs = {
  /** `[[20, 50, 30]]` */
  X1: (): tf.Tensor => tf.tensor2d([[20, 50, 30]]),
  /** `[[2, 10, 3], [20, 50, 30]]` */
  X2: (): tf.Tensor => tf.tensor2d([
    [2, 10, 3],
    [20, 50, 30],
  ]),
  /** `[[0, 100, 0]]` */
  P: (): tf.Tensor => tf.tensor2d([[0, 100, 0]]),
  /** `arange(16).view(1, 1, 4, 4)` */
  C: (): tf.Tensor => tf.range(0, 16).reshape([1, 1, 4, 4]),
  /** `ones(1, 1, 4, 4)` */
  O: (): tf.Tensor => tf.ones([1, 1, 4, 4]),
};

/** Reads a tensor's values. */
export const values = async (t: tf.Tensor | undefined): Promise<number[]> => Array.from(await (t as tf.Tensor).data());

/**
 * Checks a tensor against Captum's expected values the way Captum's tests do (`assertTensorAlmostEqual`):
 * `mode: 'sum'` bounds the sum of absolute differences, `'max'` each difference. Throws with the details.
 */
export async function assertClose(t: tf.Tensor | undefined, want: readonly number[], delta: number, mode: 'sum' | 'max' = 'max'): Promise<void> {
  const got = await values(t);
  if (got.length !== want.length) throw new Error(`got ${got.length} values [${got.join(', ')}], want ${want.length} [${want.join(', ')}]`);
  const diffs = got.map((g, i) => Math.abs(g - (want[i] as number)));
  const error = mode === 'sum' ? diffs.reduce((a, d) => a + d, 0) : Math.max(0, ...diffs);
  if (!(error <= delta)) throw new Error(`got [${got.join(', ')}], want [${want.join(', ')}] (${mode} error ${error} > ${delta})`);
}

/** Tensors a successful attribution call leaves behind once its result is disposed (0 when it frees everything). */
export async function leakedBy(call: () => Promise<{ readonly attributions: unknown; readonly delta?: unknown }>): Promise<number> {
  await call().then((r) => tf.dispose([r.attributions, r.delta] as tf.Tensor[])); // warm-up: caches, kernels
  const before = tf.memory().numTensors;
  const result = await call();
  tf.dispose([result.attributions, result.delta] as tf.Tensor[]);
  return tf.memory().numTensors - before;
}

/** The error a call throws and the tensors it leaked; throws when the call succeeds instead. */
export async function failureOf(call: () => Promise<unknown>): Promise<{ readonly error: Error; readonly leaked: number }> {
  const before = tf.memory().numTensors;
  const outcome = await call().then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error('expected the call to fail, but it succeeded');
  if (!(outcome.error instanceof Error)) throw new Error(`expected an Error, got ${String(outcome.error)}`);
  return { error: outcome.error, leaked: tf.memory().numTensors - before };
}

/** A model that records the rows of every call it passes on: `calls` holds `['F' | 'G', rows]` per call. */
export function recordingModel<T>(model: Model<T>): { readonly model: Model<T>; readonly calls: ['F' | 'G', number][] } {
  const calls: ['F' | 'G', number][] = [];
  const rows = (inputs: readonly T[], replace?: readonly { readonly value: T }[]): number =>
    model.backend.shape((replace?.[0]?.value ?? inputs[0]) as T)[0] as number;
  return {
    calls,
    model: {
      backend: model.backend,
      inputNames: model.inputNames,
      forward: (request) => {
        calls.push(['F', rows(request.inputs, request.replace)]);
        return model.forward(request);
      },
      gradient: (request) => {
        calls.push(['G', rows(request.inputs, request.replace)]);
        return model.gradient(request);
      },
      layers: model.layers?.bind(model),
      dispose: model.dispose?.bind(model),
    },
  };
}

export { FORWARD_ONLY_W, forwardOnlyGradient, forwardOnlyModel } from './forward-only.js';
