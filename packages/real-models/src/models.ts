import { createRequire } from 'node:module';
import path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { FACE_API_DIR } from './images.js';

const require = createRequire(import.meta.url);

/** The tfjs namespace (`@tensorflow/tfjs`, CommonJS in Node): the one nsfwjs and face-api use too. */
type Tf = typeof tf;

/** What `tap` looks like inside a function model (see `@attribution/tfjs`). */
export type Tap = (name: string, value: tf.Tensor) => tf.Tensor;

// ---------------------------------------------------------------------------------------------------------
// nsfwjs

/** nsfwjs's five classes, index order of its models' outputs. */
export const NSFW_CLASSES = ['Drawing', 'Hentai', 'Neutral', 'Porn', 'Sexy'] as const;

/**
 * Loads one of nsfwjs's bundled models as its users do, `nsfwjs.load(name)`: the weights are base64 inside
 * the package's `.min.js` files, so nothing is fetched. `MobileNetV2` is a tf.LayersModel, `MobileNetV2Mid` a
 * tf.GraphModel; both take `[N, 224, 224, 3]` in 0–1 and return the five class probabilities.
 */
export async function loadNsfw(name: 'MobileNetV2'): Promise<tf.LayersModel>;
export async function loadNsfw(name: 'MobileNetV2Mid'): Promise<tf.GraphModel>;
export async function loadNsfw(name: 'MobileNetV2' | 'MobileNetV2Mid'): Promise<tf.LayersModel | tf.GraphModel> {
  const nsfwjs = await import('nsfwjs');
  const info = console.info;
  console.info = () => undefined; // nsfwjs announces the model it loads
  try {
    const wrapper = await nsfwjs.load(name);
    return wrapper.model as unknown as tf.LayersModel | tf.GraphModel;
  } finally {
    console.info = info;
  }
}

// ---------------------------------------------------------------------------------------------------------
// face-api

/** The parts of face-api's weights used here. */
interface SeparableConv {
  readonly depthwise_filter: tf.Tensor4D;
  readonly pointwise_filter: tf.Tensor4D;
  readonly bias: tf.Tensor1D;
}
interface DenseBlock4 {
  readonly conv0: SeparableConv | { readonly filters: tf.Tensor4D; readonly bias: tf.Tensor1D };
  readonly conv1: SeparableConv;
  readonly conv2: SeparableConv;
  readonly conv3: SeparableConv;
}
interface Fc {
  readonly weights: tf.Tensor2D;
  readonly bias: tf.Tensor1D;
}

/** A face-api network (`NeuralNetwork`) as used here. */
interface FaceApiNet {
  loadFromDisk(dir: string): Promise<void>;
  dispose(throwOnRedispose?: boolean): void;
}

/** face-api's `FaceExpressionNet`: FaceFeatureExtractor (four dense blocks, 112×112 → 7×7×256, avg pool) → fc 7. */
export interface FaceExpressionNet extends FaceApiNet {
  runNet(input: unknown): tf.Tensor2D;
  forwardInput(input: unknown): tf.Tensor2D;
  readonly params: { readonly fc: Fc };
  readonly faceFeatureExtractor: { readonly params: { dense0: DenseBlock4; dense1: DenseBlock4; dense2: DenseBlock4; dense3: DenseBlock4 } };
}

/** face-api's `AgeGenderNet`: TinyXception (112×112 → 7×7×512) → avg pool → fc age, fc gender (2). */
export interface AgeGenderNet extends FaceApiNet {
  runNet(input: unknown): { age: tf.Tensor1D; gender: tf.Tensor2D };
  readonly faceFeatureExtractor: { forwardInput(input: unknown): tf.Tensor4D };
}

interface FaceApi {
  readonly tf: Tf;
  readonly FaceExpressionNet: new () => FaceExpressionNet;
  readonly AgeGenderNet: new () => AgeGenderNet;
  readonly NetInput: new (inputs: tf.Tensor[], treatAsBatchInput?: boolean) => unknown;
}

/**
 * face-api's Node build on tfjs-wasm (`dist/face-api.node-wasm.js`, CommonJS; its ESM build does not load in
 * Node). It requires `@tensorflow/tfjs` and `-backend-wasm`, which pnpm links to the workspace's copies (they
 * are declared as its peers in pnpm-workspace.yaml), so it shares tfjs-core's engine with the adapter.
 */
export function faceApi(): FaceApi {
  return require('@vladmandic/face-api/dist/face-api.node-wasm.js') as FaceApi;
}

/** face-api's own `model/` folder (weight manifests and `.bin` shards). */
export const FACE_API_MODELS = path.join(FACE_API_DIR, 'model');

/** face-api's expression classes, index order of FaceExpressionNet's output. */
export const EXPRESSIONS = ['neutral', 'happy', 'sad', 'angry', 'fearful', 'disgusted', 'surprised'] as const;

/** `new FaceExpressionNet()` with the package's weights read from disk as its users do: `loadFromDisk(modelDir)`. */
export async function loadFaceExpressionNet(): Promise<FaceExpressionNet> {
  const net = new (faceApi().FaceExpressionNet)();
  await net.loadFromDisk(FACE_API_MODELS);
  return net;
}

/** `new AgeGenderNet()` loaded from the package's files. */
export async function loadAgeGenderNet(): Promise<AgeGenderNet> {
  const net = new (faceApi().AgeGenderNet)();
  await net.loadFromDisk(FACE_API_MODELS);
  return net;
}

/** face-api's input wrapper for a batch `[N, 112, 112, 3]` (0–255): one image per row, differentiable. */
function netInput(tfx: Tf, x: tf.Tensor): unknown {
  return new (faceApi().NetInput)(tfx.unstack(x), true);
}

/**
 * FaceExpressionNet as a function model through its public API: `net.runNet(new NetInput(images))`, the seven
 * expression scores before face-api's softmax (`forwardInput` = softmax of this). Input `[N, 112, 112, 3]`,
 * 0–255 RGB of a face crop.
 */
export function expressionLogits(tfx: Tf, net: FaceExpressionNet): (x: tf.Tensor) => tf.Tensor {
  return (x) => net.runNet(netInput(tfx, x));
}

/**
 * The same computation written out from the net's own weights, with its spatial layers tapped (face-api's
 * forward hides them behind the average pool): `dense0` 56×56×32, `dense1` 28×28×64, `dense2` 14×14×128,
 * `dense3` 7×7×256 (the last convolutional block). Mirrors face-api's FaceFeatureExtractor.forwardInput and
 * denseBlock4 (mean-RGB subtraction, /255, four dense blocks of separable convolutions, 7×7 average pool, fc).
 */
export function expressionLogitsTapped(tfx: Tf, net: FaceExpressionNet): (x: tf.Tensor, tap?: Tap) => tf.Tensor {
  const sep = (x: tf.Tensor4D, p: SeparableConv, stride: 1 | 2): tf.Tensor4D =>
    tfx.add(tfx.separableConv2d(x, p.depthwise_filter, p.pointwise_filter, stride, 'same'), p.bias);
  const block = (x: tf.Tensor4D, p: DenseBlock4, first: boolean): tf.Tensor4D => {
    const c0 = p.conv0;
    const out1 = tfx.relu(
      first && 'filters' in c0 ? tfx.add(tfx.conv2d(x, c0.filters, 2, 'same'), c0.bias) : sep(x, c0 as SeparableConv, 2),
    ) as tf.Tensor4D;
    const out2 = sep(out1, p.conv1, 1);
    const in3 = tfx.relu(tfx.add(out1, out2)) as tf.Tensor4D;
    const out3 = sep(in3, p.conv2, 1);
    const in4 = tfx.relu(tfx.add(out1, tfx.add(out2, out3))) as tf.Tensor4D;
    const out4 = sep(in4, p.conv3, 1);
    return tfx.relu(tfx.add(out1, tfx.add(out2, tfx.add(out3, out4)))) as tf.Tensor4D;
  };
  return (x, tap = (_n, v) => v) => {
    const p = net.faceFeatureExtractor.params;
    const normalized = tfx.div(tfx.sub(x, tfx.tensor1d([122.782, 117.001, 104.298])), 255) as tf.Tensor4D;
    let out = tap('dense0', block(normalized, p.dense0, true)) as tf.Tensor4D;
    out = tap('dense1', block(out, p.dense1, false)) as tf.Tensor4D;
    out = tap('dense2', block(out, p.dense2, false)) as tf.Tensor4D;
    out = tap('dense3', block(out, p.dense3, false)) as tf.Tensor4D;
    const pooled = tfx.avgPool(out, [7, 7], [2, 2], 'valid');
    const fc = net.params.fc;
    return tfx.add(tfx.matMul(tfx.reshape(pooled, [x.shape[0] as number, -1]), fc.weights), fc.bias);
  };
}

/**
 * AgeGenderNet's gender scores (before softmax; index 0 male, 1 female) through its public API, with the
 * TinyXception features (`[N, 7, 7, 512]`, the last convolutional block) tapped as `features`:
 * `runNet(features)` takes precomputed features, as face-api allows.
 */
export function genderLogits(tfx: Tf, net: AgeGenderNet): (x: tf.Tensor, tap?: Tap) => tf.Tensor {
  return (x, tap = (_n, v) => v) => {
    const features = tap('features', net.faceFeatureExtractor.forwardInput(netInput(tfx, x)));
    return net.runNet(features).gender;
  };
}
