import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { LayerGradCam, LayerIntegratedGradients } from '@attribution/layer';
import { infidelity, sensitivityMax } from '@attribution/metrics';
import { NeuronConductance } from '@attribution/neuron';
import { fromOnnx, tensor as onnxTensor, type OnnxTensor } from '@attribution/onnx';
import { proto } from '@attribution/onnx-grad';
import {
  DeepLift,
  FeatureAblation,
  GradientShap,
  IntegratedGradients,
  NoiseTunnel,
  Occlusion,
  Saliency,
  ShapleyValueSampling,
} from '@attribution/primary';
import { toNumbers, type Model } from '@attribution/tensor';
import { fromTfjs, type Tap } from '@attribution/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Structured targets ({ mask: tensor }): on a segmentation-like model (output [N, C, H, W]), every method with a
// mask target equals the same method on the model wrapped as `(model(x) * mask).sum(non-batch dims)` (an [N, 1]
// output) with target 0 — the wrapped models are built independently, in TensorFlow.js and in ONNX, and take
// the mask as an additional forward argument (expanded with the batch as Captum expands them). Both backends
// run the same weights, so their results also agree with each other.

const { makeNode, makeValueInfo, makeTensor, encodeModel, onnx, DataType } = proto;

// The TensorFlow.js side runs on tfjs-cpu, set here: test files share processes, and another may have left a backend set.
beforeAll(async () => {
  expect(await tf.setBackend('cpu')).toBe(true);
});

const N = 2;
const CIN = 2;
const HID = 4;
const COUT = 3;
const H = 5;
const W = 5;

/** Deterministic weights: a sine sequence. */
const values = (count: number, seed: number, scale = 0.5): number[] => Array.from({ length: count }, (_, i) => scale * Math.sin(seed + 1.7 * i) + 0.05 * Math.cos(3 * i));

// ONNX layouts: W1 [HID, CIN, 3, 3], W2 [COUT, HID, 1, 1].
const W1 = values(HID * CIN * 9, 1);
const B1 = values(HID, 2, 0.1);
const W2 = values(COUT * HID, 3, 0.8);
const B2 = values(COUT, 4, 0.1);
const X = values(N * CIN * H * W, 5, 1.2);

/** The mask targets tried: a class region shared by every example, and one region per example. */
const REGION = Array.from({ length: COUT * H * W }, (_, i) => {
  const c = Math.floor(i / (H * W));
  const y = Math.floor((i % (H * W)) / W);
  const x = i % W;
  return c === 1 && y >= 1 && y <= 3 && x >= 2 ? 1 : 0;
});
const PER_EXAMPLE = Array.from({ length: N * COUT * H * W }, (_, i) => {
  const n = Math.floor(i / (COUT * H * W));
  const c = Math.floor((i % (COUT * H * W)) / (H * W));
  const y = Math.floor((i % (H * W)) / W);
  if (n === 0) return c === 0 && y < 3 ? 1 : 0;
  return c === 2 && y >= 2 ? 1 : c === 1 && y === 0 ? -0.5 : 0;
});
const MASKS: Record<string, { data: number[]; shape: number[] }> = {
  'a shared region mask [C, H, W]': { data: REGION, shape: [COUT, H, W] },
  'per-example masks [N, C, H, W] (weights of both signs)': { data: PER_EXAMPLE, shape: [N, COUT, H, W] },
};
/** The mask as one row per example (what the wrapped models take). */
const perExample = (mask: { data: number[]; shape: number[] }): number[] => (mask.shape.length === 4 ? mask.data : [...mask.data, ...mask.data]);

/** Feature groups for the perturbation methods: 2 × 2 blocks per channel, shared by the examples. */
const FEATURES = Array.from({ length: CIN * H * W }, (_, i) => {
  const c = Math.floor(i / (H * W));
  const y = Math.floor((i % (H * W)) / W);
  const x = i % W;
  return c * 9 + Math.floor(y / 2) * 3 + Math.floor(x / 2);
});

// ---- TensorFlow.js: the model, and the wrapped model with the mask as an argument -------------------------

function tfjsSeg(): { forward: (x: tf.Tensor, tap?: Tap) => tf.Tensor; dispose(): void } {
  // tfjs convolutions are NHWC with filters [kh, kw, in, out].
  const w1 = tf.keep(tf.transpose(tf.tensor4d(W1, [HID, CIN, 3, 3]), [2, 3, 1, 0]));
  const b1 = tf.keep(tf.tensor1d(B1));
  const w2 = tf.keep(tf.transpose(tf.tensor4d(W2, [COUT, HID, 1, 1]), [2, 3, 1, 0]));
  const b2 = tf.keep(tf.tensor1d(B2));
  const forward = (x: tf.Tensor, tap?: Tap): tf.Tensor => {
    const nhwc = tf.transpose(x, [0, 2, 3, 1]) as tf.Tensor4D;
    const hidden = tf.transpose(tf.relu(tf.add(tf.conv2d(nhwc, w1 as tf.Tensor4D, 1, 'same'), b1)), [0, 3, 1, 2]);
    const h = tap ? tap('h', hidden) : hidden; // the layer, NCHW [N, HID, H, W]
    const y = tf.add(tf.conv2d(tf.transpose(h, [0, 2, 3, 1]) as tf.Tensor4D, w2 as tf.Tensor4D, 1, 'valid'), b2);
    return tf.transpose(y, [0, 3, 1, 2]); // [N, COUT, H, W]
  };
  return { forward, dispose: () => tf.dispose([w1, b1, w2, b2]) };
}

// ---- ONNX: the same network, and the wrapped one (Mul by a mask input, then a MatMul by ones: [N, 1]) ----------

function onnxSeg(wrapped: boolean): Uint8Array {
  const nodes = [
    makeNode('Conv', ['x', 'W1', 'B1'], ['pre'], { pads: [1, 1, 1, 1], kernel_shape: [3, 3] }, 'conv1'),
    makeNode('Relu', ['pre'], ['h'], {}, 'relu'),
    makeNode('Conv', ['h', 'W2', 'B2'], ['y'], { kernel_shape: [1, 1] }, 'conv2'),
  ];
  const initializer = [
    makeTensor('W1', DataType.FLOAT, [HID, CIN, 3, 3], W1),
    makeTensor('B1', DataType.FLOAT, [HID], B1),
    makeTensor('W2', DataType.FLOAT, [COUT, HID, 1, 1], W2),
    makeTensor('B2', DataType.FLOAT, [COUT], B2),
  ];
  const input = [makeValueInfo('x', DataType.FLOAT, ['batch', CIN, H, W])];
  if (wrapped) {
    nodes.push(
      makeNode('Mul', ['y', 'mask'], ['weighted'], {}, 'weigh'),
      makeNode('Reshape', ['weighted', 'flat_shape'], ['flat'], {}, 'flatten'),
      makeNode('MatMul', ['flat', 'ones'], ['score'], {}, 'sum'),
    );
    initializer.push(makeTensor('flat_shape', DataType.INT64, [2], [-1, COUT * H * W]), makeTensor('ones', DataType.FLOAT, [COUT * H * W, 1], new Array<number>(COUT * H * W).fill(1)));
    input.push(makeValueInfo('mask', DataType.FLOAT, ['batch', COUT, H, W]));
  }
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    graph: { name: wrapped ? 'seg_masked' : 'seg', node: nodes, initializer, input, output: [makeValueInfo(wrapped ? 'score' : 'y', DataType.FLOAT)] },
  });
  return encodeModel(model as never);
}

// ---- The backends under test ----------------------------------------------------------------------------

interface Side<T> {
  readonly name: string;
  /** The segmentation model, output [N, COUT, H, W]. */
  readonly plain: Model<T>;
  /** `(x, mask) → Σ model(x) ⊙ mask`, output [N, 1]. */
  readonly wrapped: Model<T>;
  tensor(data: readonly number[], shape: readonly number[]): T;
  numbers(t: T): Promise<number[]>;
  dispose(t: T | readonly T[]): void;
}

const tfjsSide = (): Side<tf.Tensor> & { close(): void } => {
  const seg = tfjsSeg();
  return {
    name: 'tfjs-cpu',
    // NCHW throughout, as the ONNX model: its tap 'h' is channels-first.
    plain: fromTfjs((x: tf.Tensor, tap: Tap) => seg.forward(x, tap), { dataFormat: 'channelsFirst' }),
    wrapped: fromTfjs((x: tf.Tensor, mask: tf.Tensor, tap: Tap) => tf.reshape(tf.sum(tf.mul(seg.forward(x, tap), mask), [1, 2, 3]), [-1, 1]), { dataFormat: 'channelsFirst' }),
    tensor: (data, shape) => tf.tensor(data as number[], shape as number[]),
    numbers: async (t) => Array.from(await t.data()),
    dispose: (t) => tf.dispose(t as tf.Tensor | tf.Tensor[]),
    close: () => seg.dispose(),
  };
};

const onnxSide = async (): Promise<Side<OnnxTensor> & { close(): void }> => {
  const plain = await fromOnnx(ort, onnxSeg(false));
  const wrapped = await fromOnnx(ort, onnxSeg(true));
  return {
    name: 'onnxruntime-node',
    plain,
    wrapped,
    tensor: (data, shape) => onnxTensor(Float32Array.from(data), shape),
    numbers: async (t) => Array.from(toNumbers(await plain.backend.data(t))),
    dispose: () => undefined,
    close: () => {
      plain.dispose();
      wrapped.dispose();
    },
  };
};

/** Tensors a run needs besides the inputs (made once per check, for both the mask run and the wrapped run). */
interface Aux<T> {
  readonly featureMask: T;
  readonly references: T;
  readonly attributions: T;
}

/** A method run: the model and the target options (mask target, or target 0 with the mask as an argument). */
type Run = <T>(aux: Aux<T>, model: Model<T>, x: T, target: Record<string, unknown>) => Promise<unknown>;

const attributions = async <T>(p: Promise<{ attributions: T | readonly T[] }>): Promise<T | readonly T[]> => (await p).attributions;

const RUNS: Record<string, Run> = {
  Saliency: (_a, m, x, t) => attributions(new Saliency(m).attribute(x, { ...t, abs: false })),
  'IntegratedGradients (internalBatchSize splits the steps)': async (_a, m, x, t) => {
    const r = await new IntegratedGradients(m).attribute(x, { ...t, nSteps: 6, internalBatchSize: 4, returnConvergenceDelta: true });
    return [r.attributions, r.delta!];
  },
  DeepLift: (_a, m, x, t) => attributions(new DeepLift(m).attribute(x, { ...t, baselines: 0.1 })),
  'NoiseTunnel(Saliency) (examples repeated in place)': (_a, m, x, t) =>
    attributions(new NoiseTunnel(new Saliency(m)).attribute(x, { ...t, nSamples: 3, nSamplesBatchSize: 2, stdevs: 0.2, seed: 11 })),
  GradientShap: (a, m, x, t) => attributions(new GradientShap(m).attribute(x, { ...t, baselines: a.references, nSamples: 3, seed: 5, internalBatchSize: 4 })),
  'FeatureAblation (perturbationsPerEval 3)': (a, m, x, t) => attributions(new FeatureAblation(m).attribute(x, { ...t, featureMask: a.featureMask, perturbationsPerEval: 3 })),
  'Occlusion (perturbationsPerEval 2)': (_a, m, x, t) =>
    attributions(new Occlusion(m).attribute(x, { ...t, slidingWindowShapes: [1, 2, 3], strides: [1, 2, 1], baselines: 0.25, perturbationsPerEval: 2 })),
  ShapleyValueSampling: (a, m, x, t) =>
    attributions(new ShapleyValueSampling(m).attribute(x, { ...t, featureMask: a.featureMask, nSamples: 2, seed: 9, perturbationsPerEval: 4 })),
  LayerGradCam: (_a, m, x, t) => attributions(new LayerGradCam(m, 'h').attribute(x, t)),
  'LayerIntegratedGradients (internalBatchSize)': async (_a, m, x, t) => {
    const r = await new LayerIntegratedGradients(m, 'h').attribute(x, { ...t, nSteps: 5, internalBatchSize: 3, returnConvergenceDelta: true });
    return [r.attributions, r.delta!];
  },
  NeuronConductance: (_a, m, x, t) => attributions(new NeuronConductance(m, 'h').attribute(x, { ...t, neuronSelector: [1, 2, 2], nSteps: 4, internalBatchSize: 3 })),
  infidelity: async (a, m, x, t) => [await infidelity(m, x, a.attributions, { ...t, nPerturbSamples: 4, maxExamplesPerBatch: 3, stdev: 0.05, seed: 4 })],
  'sensitivityMax (Saliency)': async (_a, m, x, t) => [
    await sensitivityMax(new Saliency(m), x, { explanationOptions: { ...t, abs: false }, nPerturbSamples: 3, perturbRadius: 0.5, maxExamplesPerBatch: 4, seed: 2 }),
  ],
};

/** The values of a result (a tensor, or nested arrays of them), in order; the tensors are freed. */
async function flat<T>(side: Side<T>, result: unknown): Promise<number[]> {
  const list = [result].flat(Infinity) as T[];
  const out: number[] = [];
  for (const t of list) out.push(...(await side.numbers(t)));
  side.dispose(list);
  return out;
}

function expectClose(got: readonly number[], want: readonly number[], what: string): void {
  expect(got.length, what).toBe(want.length);
  const scale = Math.max(1e-3, ...want.map(Math.abs));
  const worst = got.reduce((m, v, i) => Math.max(m, Math.abs(v - (want[i] as number))), 0);
  expect(worst / scale, `${what}: max |difference| ${worst} (scale ${scale})`).toBeLessThan(2e-4);
}

describe('structured targets: { mask } equals the method on the model wrapped as Σ output ⊙ mask, target 0', () => {
  let tfjs: Awaited<ReturnType<typeof tfjsSide>>;
  let onnxs: Awaited<ReturnType<typeof onnxSide>>;
  /** Results with mask targets, per mask, method and backend (the two backends are compared last). */
  const seen = new Map<string, Map<string, number[]>>();

  beforeAll(async () => {
    tfjs = tfjsSide();
    onnxs = await onnxSide();
  });
  afterAll(() => {
    tfjs?.close();
    onnxs?.close();
  });

  async function check<T>(side: Side<T>, maskName: string, runName: string): Promise<void> {
    const spec = MASKS[maskName]!;
    const run = RUNS[runName]!;
    const x = side.tensor(X, [N, CIN, H, W]);
    const mask = side.tensor(spec.data, spec.shape);
    const asArgument = side.tensor(perExample(spec), [N, COUT, H, W]);
    const aux: Aux<T> = {
      featureMask: side.tensor(FEATURES, [1, CIN, H, W]),
      references: side.tensor(values(3 * CIN * H * W, 8, 0.3), [3, CIN, H, W]),
      attributions: side.tensor(values(N * CIN * H * W, 6), [N, CIN, H, W]),
    };
    const got = await flat(side, await run(aux, side.plain, x, { target: { mask } }));
    const want = await flat(side, await run(aux, side.wrapped, x, { target: 0, additionalForwardArgs: asArgument }));
    expectClose(got, want, `${runName}, ${maskName}, ${side.name}`);
    expect(got.some((v) => v !== 0), `${runName} explains something`).toBe(true);
    const key = `${maskName} | ${runName}`;
    if (!seen.has(key)) seen.set(key, new Map());
    seen.get(key)!.set(side.name, got);
    side.dispose([x, mask, asArgument, aux.featureMask, aux.references, aux.attributions]);
  }

  for (const maskName of Object.keys(MASKS)) {
    describe(maskName, () => {
      for (const runName of Object.keys(RUNS)) {
        it(`${runName}: tfjs and ONNX`, async () => {
          const before = tf.memory().numTensors;
          await check(tfjs, maskName, runName);
          expect(tf.memory().numTensors, 'no tfjs tensor leaked').toBe(before);
          await check(onnxs, maskName, runName);
          // Same weights, same draws: the backends agree (float32 rounding apart).
          const both = seen.get(`${maskName} | ${runName}`)!;
          expectClose(both.get('onnxruntime-node')!, both.get('tfjs-cpu')!, `${runName}, ${maskName}: ONNX vs tfjs`);
        });
      }
    });
  }

  it('a broadcast region ([H, W], every class) and a boolean mask equal their dense forms', async () => {
    for (const side of [tfjs, onnxs] as Side<unknown>[]) {
      const x = side.tensor(X, [N, CIN, H, W]);
      const region = REGION.slice(H * W, 2 * H * W); // class 1's region, as [H, W]
      const small = side.tensor(region, [H, W]);
      const dense = side.tensor(Array.from({ length: COUT }, () => region).flat(), [COUT, H, W]);
      const a = await flat(side, await attributions(new Saliency(side.plain).attribute(x, { target: { mask: small }, abs: false })));
      const b = await flat(side, await attributions(new Saliency(side.plain).attribute(x, { target: { mask: dense }, abs: false })));
      expectClose(a, b, `broadcast mask on ${side.name}`);
      side.dispose([x, small, dense]);
    }
    const x = tf.tensor(X, [N, CIN, H, W]);
    const bool = tf.tensor(REGION.map((v) => v === 1), [COUT, H, W], 'bool');
    const float = tf.tensor(REGION, [COUT, H, W]);
    const a = await flat(tfjs, await attributions(new Occlusion(tfjs.plain).attribute(x, { target: { mask: bool }, slidingWindowShapes: [1, 2, 2] })));
    const b = await flat(tfjs, await attributions(new Occlusion(tfjs.plain).attribute(x, { target: { mask: float }, slidingWindowShapes: [1, 2, 2] })));
    expectClose(a, b, 'boolean mask');
    tf.dispose([x, bool, float]);
  });

  it('a one-hot mask equals the index target it encodes', async () => {
    const x = onnxTensor(Float32Array.from(X), [N, CIN, H, W]);
    const oneHot = new Array<number>(COUT * H * W).fill(0);
    oneHot[2 * H * W + 3 * W + 1] = 1;
    const viaMask = await flat(onnxs, await attributions(new IntegratedGradients(onnxs.plain).attribute(x, { target: { mask: onnxTensor(Float32Array.from(oneHot), [COUT, H, W]) }, nSteps: 4 })));
    const viaIndex = await flat(onnxs, await attributions(new IntegratedGradients(onnxs.plain).attribute(x, { target: { index: [2, 3, 1] }, nSteps: 4 })));
    expectClose(viaMask, viaIndex, 'one-hot mask vs index');
  });

  it('rejects a mask that does not fit the output with a ShapeError naming the target, on both backends', async () => {
    const x = tf.tensor(X, [N, CIN, H, W]);
    const wrong = tf.ones([COUT, H, W + 1]);
    await expect(new Saliency(tfjs.plain).attribute(x, { target: { mask: wrong } })).rejects.toThrow(
      /^target: expected a mask that broadcasts to the output shape \[2, 3, 5, 5\]: \[3, 5, 5\] \(or with size-1 dimensions\) for one mask shared by every example, or \[2, 3, 5, 5\] for one per example, got a mask of shape \[3, 5, 6\]\.$/,
    );
    tf.dispose([x, wrong]);
    const ox = onnxTensor(Float32Array.from(X), [N, CIN, H, W]);
    const nan = onnxTensor(Float32Array.from({ length: COUT * H * W }, (_, i) => (i === 7 ? Number.NaN : 1)), [COUT, H, W]);
    await expect(new FeatureAblation(onnxs.plain).attribute(ox, { target: { mask: nan } })).rejects.toThrow(/target: expected a mask of finite weights, got NaN at flat index 7/);
  });
});
