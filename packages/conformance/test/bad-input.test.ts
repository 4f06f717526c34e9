import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import {
  InternalInfluence,
  LayerActivation,
  LayerConductance,
  LayerDeepLift,
  LayerFeatureAblation,
  LayerGradCam,
  LayerGradientShap,
  LayerGradientXActivation,
  LayerIntegratedGradients,
} from '@attribution/layer';
import { deletion, infidelity, sensitivityMax } from '@attribution/metrics';
import {
  NeuronConductance,
  NeuronDeepLift,
  NeuronFeatureAblation,
  NeuronGradient,
  NeuronGradientShap,
  NeuronGuidedBackprop,
  NeuronIntegratedGradients,
} from '@attribution/neuron';
import { fromOnnx, tensor as hostTensor } from '@attribution/onnx';
import { proto } from '@attribution/onnx-grad';
import {
  Deconvolution,
  DeepLift,
  DeepLiftShap,
  FeatureAblation,
  FeaturePermutation,
  GradientShap,
  GuidedBackprop,
  GuidedGradCam,
  InputXGradient,
  IntegratedGradients,
  KernelShap,
  Lime,
  NoiseTunnel,
  Occlusion,
  Saliency,
  ShapleyValueSampling,
  ShapleyValues,
} from '@attribution/primary';
import {
  AbortError,
  ArgumentError,
  AttributionError,
  ModelError,
  ShapeError,
  TargetError,
  type Backend,
  type Model,
} from '@attribution/tensor';
import { fromTfjs } from '@attribution/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onnxUnderTest, tfjsUnderTest, type BackendUnderTest } from '../src/index.js';

// The bad-input catalog: malformed calls across primary, layer, neuron and metric methods, on TensorFlow.js
// (tfjs-cpu) and ONNX Runtime (onnxruntime-node). Every call must reject with a typed error exported by
// @attribution/tensor (an AttributionError subclass) whose message names the argument, what was expected and
// what was given; on tfjs no call may leave a tensor behind (tf.memory().numTensors unchanged).

type Backends = 'tfjs-cpu' | 'onnxruntime-node';
type ErrorClass = abstract new (...args: never[]) => AttributionError;

/** What a case may use: the backend's conformance models and tensor makers (tensors are freed after the case). */
interface Kit {
  readonly name: Backends;
  readonly backend: Backend<unknown>;
  model(name: 'mlp' | 'cnn' | 'two_input'): Promise<Model<unknown>>;
  /** A tensor of the backend (values `f(i)`, default a small smooth ramp). */
  t(shape: readonly number[], values?: readonly number[] | ((i: number) => number), dtype?: 'float32' | 'int32'): unknown;
  /** The backend's name of a conformance layer, from its ONNX tensor name. */
  layer(model: string, onnx: string): string;
  /** A tensor of the other backend. */
  foreign(shape: readonly number[]): unknown;
  /** A tensor of this backend that has been disposed. */
  disposed(shape: readonly number[]): unknown;
  /** A model of this backend whose output is boolean. */
  booleanModel(): Promise<Model<unknown>>;
}

interface BadCase {
  readonly name: string;
  /** The error class (per backend when they differ). */
  readonly error: ErrorClass | Readonly<Record<Backends, ErrorClass>>;
  /** What the message must say: the argument, the expectation, what was given. */
  readonly message: RegExp | Readonly<Record<Backends, RegExp>>;
  /** Only on this backend (the others accept the call). */
  readonly only?: Backends;
  /** A known defect outside this package: the case runs as an expected failure until it is fixed. */
  readonly knownIssue?: string;
  /** Prepares the call (making its tensors) and returns it. */
  readonly call: (k: Kit) => Promise<() => Promise<unknown>>;
}

const ramp = (i: number): number => 0.1 * ((i % 7) - 3);
const H1 = '/net/net.1/Tanh_output_0';
const H2 = '/net/net.3/Relu_output_0';
const CONV = '/conv1/Conv_output_0';

/** A call on the mlp (input [4, 6], output [4, 3]) with a valid input. */
const onMlp = (make: (m: Model<unknown>, x: unknown, k: Kit) => Promise<unknown>) => async (k: Kit) => {
  const m = await k.model('mlp');
  const x = k.t([4, 6]);
  return () => make(m, x, k);
};

const cases: readonly BadCase[] = [
  // ── inputs ────────────────────────────────────────────────────────────────────────────────────────
  {
    name: 'IntegratedGradients: input with the wrong feature size [4, 5]',
    error: { 'tfjs-cpu': ModelError, 'onnxruntime-node': ShapeError },
    message: {
      // A function model declares no input shape: the failure inside it is reported with tfjs's words.
      'tfjs-cpu': /^The model failed during the forward pass: .*shape/,
      'onnxruntime-node': /inputs\[0\]: expected shape \[batch, 6\] for model input 'x', got shape \[4, 5\]/,
    },
    call: async (k) => {
      const m = await k.model('mlp');
      const x = k.t([4, 5]);
      return () => new IntegratedGradients(m).attribute(x, { target: 0 });
    },
  },
  {
    name: 'Saliency: int32 input to a gradient method',
    error: ArgumentError,
    message: /inputs: expected a float32 or float64 tensor \(gradients need real numbers\), got dtype int32/,
    call: async (k) => {
      const m = await k.model('mlp');
      const x = k.t([4, 6], (i) => i, 'int32');
      return () => new Saliency(m).attribute(x, { target: 0 });
    },
  },
  {
    name: 'IntegratedGradients: NaN in the input',
    error: ArgumentError,
    message: /inputs: expected finite values, got NaN at flat index 3/,
    call: async (k) => {
      const m = await k.model('mlp');
      const x = k.t([4, 6], (i) => (i === 3 ? NaN : 0.5));
      return () => new IntegratedGradients(m).attribute(x, { target: 0 });
    },
  },
  {
    name: 'FeatureAblation: +Infinity in the input',
    error: ArgumentError,
    message: /inputs: expected finite values, got Infinity at flat index 7/,
    call: async (k) => {
      const m = await k.model('mlp');
      const x = k.t([4, 6], (i) => (i === 7 ? Infinity : 0.5));
      return () => new FeatureAblation(m).attribute(x, { target: 0 });
    },
  },
  {
    name: 'DeepLift: -Infinity in the second input of two_input',
    error: ArgumentError,
    message: /inputs\[1\]: expected finite values, got -Infinity at flat index 0/,
    call: async (k) => {
      const m = await k.model('two_input');
      const a = k.t([3, 4]);
      const b = k.t([3, 3], (i) => (i === 0 ? -Infinity : 0));
      return () => new DeepLift(m).attribute([a, b], { target: 0 });
    },
  },
  {
    name: 'Saliency: empty batch [0, 6]',
    error: ArgumentError,
    message: /inputs: expected at least one example \(dimension 0 ≥ 1\), got an empty batch of shape \[0, 6\]/,
    call: async (k) => {
      const m = await k.model('mlp');
      const x = k.t([0, 6]);
      return () => new Saliency(m).attribute(x, { target: 0 });
    },
  },
  {
    name: 'ShapleyValueSampling: a scalar input',
    error: ArgumentError,
    message: /inputs: expected a tensor whose dimension 0 is the batch, got a scalar \(rank 0\)/,
    call: async (k) => {
      const m = await k.model('mlp');
      const x = k.t([], [1]);
      return () => new ShapleyValueSampling(m).attribute(x, { target: 0 });
    },
  },
  {
    name: 'InputXGradient: inputs with different batch sizes',
    error: ArgumentError,
    message: /inputs\[1\]: expected dimension 0 \(the batch\) equal to 3, as in inputs\[0\], got shape \[2, 3\]/,
    call: async (k) => {
      const m = await k.model('two_input');
      const a = k.t([3, 4]);
      const b = k.t([2, 3]);
      return () => new InputXGradient(m).attribute([a, b], { target: 0 });
    },
  },
  {
    name: 'IntegratedGradients: an empty input list',
    error: ArgumentError,
    message: /inputs: expected a tensor of the (tfjs-cpu|onnx) backend or a non-empty array of them, got an empty array/,
    call: async (k) => {
      const m = await k.model('mlp');
      return () => new IntegratedGradients(m).attribute([], { target: 0 });
    },
  },
  {
    name: 'Saliency: a nested JavaScript array instead of a tensor',
    error: ArgumentError,
    message: /inputs\[0\]: expected a tensor of the (tfjs-cpu|onnx) backend, got \[0\.1, 0\.2\]/,
    call: async (k) => {
      const m = await k.model('mlp');
      return () => new Saliency(m).attribute([[0.1, 0.2]] as never, { target: 0 });
    },
  },
  {
    name: 'IntegratedGradients: a tensor from the other backend',
    error: ArgumentError,
    message: /inputs: expected a tensor of the (tfjs-cpu|onnx) backend, got a \w+ that is not a tensor of the (tfjs-cpu|onnx) backend \(tensors from different backends cannot be mixed\)/,
    call: async (k) => {
      const m = await k.model('mlp');
      const x = k.foreign([4, 6]);
      return () => new IntegratedGradients(m).attribute(x, { target: 0 });
    },
  },
  {
    name: 'Occlusion: a disposed tensor',
    error: ArgumentError,
    message: /inputs: expected a live tensor of the (tfjs-cpu|onnx) backend, got a tensor that has been disposed/,
    call: async (k) => {
      const m = await k.model('mlp');
      const x = k.disposed([4, 6]);
      return () => new Occlusion(m).attribute(x, { target: 0, slidingWindowShapes: [2] });
    },
  },
  {
    name: 'two_input model given one input',
    error: { 'tfjs-cpu': ModelError, 'onnxruntime-node': ArgumentError },
    message: {
      'tfjs-cpu': /The model failed during the forward pass/,
      'onnxruntime-node': /inputs: expected one tensor per model input \(a, b\); pass the rest as additionalForwardArgs, got 1, missing 'b'/,
    },
    call: async (k) => {
      const m = await k.model('two_input');
      const a = k.t([3, 4]);
      return () => new Saliency(m).attribute([a], { target: 0 });
    },
  },
  {
    // A plain { dims, type, data } object is an ONNX tensor (ONNX Runtime's own tensors are used that way).
    name: 'Saliency: a tensor-like object whose data does not fill its dims',
    only: 'onnxruntime-node',
    error: ArgumentError,
    message: /inputs\[0\]: expected a tensor ONNX Runtime accepts for model input 'x', got an object \(.*\)/,
    call: async (k) => {
      const m = await k.model('mlp');
      return () => new Saliency(m).attribute({ dims: [4, 6], type: 'float32', data: new Float32Array(5) } as never, { target: 0 });
    },
  },
  {
    name: 'model: not a model',
    error: ArgumentError,
    message: /model: expected a model from a backend adapter \(e\.g\. fromTfjs\(net\) or await fromOnnx\(ort, file\)\), got an object/,
    call: async (k) => {
      const x = k.t([4, 6]);
      return async () => new Saliency({ predict: () => x } as never).attribute(x);
    },
  },

  // ── targets ───────────────────────────────────────────────────────────────────────────────────────
  {
    name: 'IntegratedGradients: target 3 for an output of 3 classes',
    error: TargetError,
    message: /target: expected an index in \[-3, 3\) for dimension 1 of output shape \[4, 3\], got 3/,
    call: onMlp((m, x) => new IntegratedGradients(m).attribute(x, { target: 3 })),
  },
  {
    name: 'Saliency: target -4 for an output of 3 classes',
    error: TargetError,
    message: /target: expected an index in \[-3, 3\) for dimension 1 of output shape \[4, 3\], got -4/,
    call: onMlp((m, x) => new Saliency(m).attribute(x, { target: -4 })),
  },
  {
    name: 'DeepLift: a target list of the wrong length',
    error: TargetError,
    message: /target: expected one target per example \(4 entries\), got an array of 2\. For the same index tuple/,
    call: onMlp((m, x) => new DeepLift(m).attribute(x, { target: [0, 1] })),
  },
  {
    name: 'FeatureAblation: a fractional target',
    error: TargetError,
    message: /target: expected an integer, a class name, 'predicted', an array with one entry per example, \{ index: \[\.\.\.\] \} or \{ mask: tensor \}, got 1\.5/,
    call: onMlp((m, x) => new FeatureAblation(m).attribute(x, { target: 1.5 as never })),
  },
  {
    name: 'KernelShap: a class name on a model without labels',
    error: TargetError,
    message: /target: expected an output index: the model has no class names to look a name up in, got the name "cat"\. Pass labels .* to fromTfjs or fromOnnx/,
    call: onMlp((m, x) => new KernelShap(m).attribute(x, { target: 'cat' as never })),
  },
  {
    name: 'InputXGradient: no target for a 3-class output',
    error: TargetError,
    message: /target: expected an output index: the model output has shape \[4, 3\], 3 values per example, and gradient methods explain one, got no target/,
    call: onMlp((m, x) => new InputXGradient(m).attribute(x)),
  },
  {
    name: 'GuidedBackprop: an index tuple longer than the output rank',
    error: TargetError,
    message: /target: expected at most 1 indices for output shape \[4, 3\], got 2 \(\[0, 1\]\)/,
    call: onMlp((m, x) => new GuidedBackprop(m).attribute(x, { target: { index: [0, 1] } })),
  },
  {
    name: 'ShapleyValues: per-example targets with one out of range',
    error: TargetError,
    message: /target: expected an index in \[-3, 3\) for dimension 1 of output shape \[4, 3\], got 9/,
    call: onMlp((m, x) => new ShapleyValues(m).attribute(x, { target: [0, 1, 9, 2] })),
  },
  {
    name: 'LayerGradCam: target out of range on the cnn',
    error: TargetError,
    message: /target: expected an index in \[-4, 4\) for dimension 1 of output shape \[2, 4\], got 4/,
    call: async (k) => {
      const m = await k.model('cnn');
      const x = k.t([2, 1, 8, 8]);
      return () => new LayerGradCam(m, k.layer('cnn', CONV)).attribute(x, { target: 4 });
    },
  },

  // ── feature masks ─────────────────────────────────────────────────────────────────────────────────
  {
    name: 'FeatureAblation: a feature mask that does not broadcast to the input',
    error: ShapeError,
    message: /featureMask: expected a shape that broadcasts to \[4, 6\] with dimension 0 of 1 or 4, got shape \[1, 5\]/,
    call: async (k) => {
      const m = await k.model('mlp');
      const x = k.t([4, 6]);
      const mask = k.t([1, 5], (i) => i, 'int32');
      return () => new FeatureAblation(m).attribute(x, { target: 0, featureMask: mask });
    },
  },
  {
    name: 'ShapleyValues: a mask with 2 rows for a batch of 4',
    error: ShapeError,
    message: /featureMask: expected a shape that broadcasts to \[4, 6\] with dimension 0 of 1 or 4, got shape \[2, 6\]/,
    call: async (k) => {
      const m = await k.model('mlp');
      const x = k.t([4, 6]);
      const mask = k.t([2, 6], (i) => i % 3, 'int32');
      return () => new ShapleyValues(m).attribute(x, { target: 0, featureMask: mask });
    },
  },
  {
    name: 'Lime: one mask for two inputs',
    error: ArgumentError,
    message: /featureMask: expected one mask per input \(2\), got 1/,
    call: async (k) => {
      const m = await k.model('two_input');
      const a = k.t([3, 4]);
      const b = k.t([3, 3]);
      const mask = k.t([1, 4], (i) => i, 'int32');
      return () => new Lime(m).attribute([a, b], { target: 0, featureMask: [mask] as never, nSamples: 5, seed: 1 });
    },
  },
  {
    name: 'FeaturePermutation: a mask with fractional ids',
    error: ArgumentError,
    message: /featureMask: expected integer feature ids, got non-integer values/,
    call: async (k) => {
      const m = await k.model('mlp');
      const x = k.t([4, 6]);
      const mask = k.t([1, 6], (i) => i / 2);
      return () => new FeaturePermutation(m).attribute(x, { target: 0, featureMask: mask, seed: 1 });
    },
  },
  {
    name: 'KernelShap: a plain array as the mask',
    error: ArgumentError,
    message: /featureMask: expected a tensor of the (tfjs-cpu|onnx) backend holding integer feature ids, got \[0, 0, 1, 1, 2, 2\]/,
    call: onMlp((m, x) => new KernelShap(m).attribute(x, { target: 0, featureMask: [0, 0, 1, 1, 2, 2] as never, nSamples: 5, seed: 1 })),
  },

  // ── occlusion windows ─────────────────────────────────────────────────────────────────────────────
  {
    name: 'Occlusion: a window larger than the input',
    error: ArgumentError,
    message: /slidingWindowShapes: expected window sizes at most the input's \[6\], got \[7\]/,
    call: onMlp((m, x) => new Occlusion(m).attribute(x, { target: 0, slidingWindowShapes: [7] })),
  },
  {
    name: 'Occlusion: a 2-D window for a 3-D example (cnn)',
    error: ArgumentError,
    message: /slidingWindowShapes: expected 3 positive integers \(the non-batch dimensions of \[1, 8, 8\]\), got \[3, 3\]/,
    call: async (k) => {
      const m = await k.model('cnn');
      const x = k.t([2, 1, 8, 8]);
      return () => new Occlusion(m).attribute(x, { target: 0, slidingWindowShapes: [3, 3] });
    },
  },
  {
    name: 'Occlusion: stride 0',
    error: ArgumentError,
    message: /strides: expected a positive integer or 1 of them, got 0/,
    call: onMlp((m, x) => new Occlusion(m).attribute(x, { target: 0, slidingWindowShapes: [2], strides: 0 })),
  },

  // ── steps and sample counts ───────────────────────────────────────────────────────────────────────
  {
    name: 'IntegratedGradients: nSteps 0',
    error: ArgumentError,
    message: /nSteps: expected an integer ≥ 1, got 0/,
    call: onMlp((m, x) => new IntegratedGradients(m).attribute(x, { target: 0, nSteps: 0 })),
  },
  {
    name: 'LayerConductance: nSteps -5',
    error: ArgumentError,
    message: /nSteps: expected an integer ≥ 1, got -5/,
    call: onMlp((m, x, k) => new LayerConductance(m, k.layer('mlp', H1)).attribute(x, { target: 0, nSteps: -5 })),
  },
  {
    name: 'NeuronIntegratedGradients: nSteps 2.5',
    error: ArgumentError,
    message: /nSteps: expected an integer ≥ 1, got 2\.5/,
    call: onMlp((m, x, k) => new NeuronIntegratedGradients(m, k.layer('mlp', H2)).attribute(x, { neuronSelector: 0, nSteps: 2.5 })),
  },
  {
    name: 'IntegratedGradients: nSteps 1e9 fails fast',
    error: ArgumentError,
    message: /nSteps: expected at most 10000 steps, got 1000000000\. More steps/,
    call: onMlp((m, x) => new IntegratedGradients(m).attribute(x, { target: 0, nSteps: 1e9 })),
  },
  {
    name: 'LayerIntegratedGradients: nSteps 1e9 fails fast',
    error: ArgumentError,
    message: /nSteps: expected at most 10000 steps, got 1000000000/,
    call: onMlp((m, x, k) => new LayerIntegratedGradients(m, k.layer('mlp', H1)).attribute(x, { target: 0, nSteps: 1e9 })),
  },
  {
    name: 'InternalInfluence: nSteps NaN',
    error: ArgumentError,
    message: /nSteps: expected an integer ≥ 1, got NaN/,
    call: onMlp((m, x, k) => new InternalInfluence(m, k.layer('mlp', H1)).attribute(x, { target: 0, nSteps: NaN })),
  },
  {
    name: 'IntegratedGradients: a misspelt approximation method',
    error: ArgumentError,
    message: /method: expected one of 'riemann_left', .*'gausslegendre', got 'gauss_legendre'\. Did you mean 'gausslegendre'\?/,
    call: onMlp((m, x) => new IntegratedGradients(m).attribute(x, { target: 0, method: 'gauss_legendre' as never })),
  },
  {
    name: 'GradientShap: nSamples 1e9 fails fast',
    error: ArgumentError,
    message: /nSamples: expected an integer ≥ 1 and at most 100000, got 1000000000/,
    call: onMlp((m, x) => new GradientShap(m).attribute(x, { target: 0, baselines: x, nSamples: 1e9 })),
  },
  {
    name: 'GradientShap: more sampled rows than fit in memory',
    error: ArgumentError,
    message: /nSamples: expected at most 50000 samples per example for a batch of 200 \(at most 10000000 sampled rows in all\), got 100000/,
    call: async (k) => {
      const m = await k.model('mlp');
      const x = k.t([200, 6]);
      return () => new GradientShap(m).attribute(x, { target: 0, baselines: x, nSamples: 100_000 });
    },
  },
  {
    name: 'ShapleyValueSampling: nSamples 0',
    error: ArgumentError,
    message: /nSamples: expected an integer ≥ 1, got 0/,
    call: onMlp((m, x) => new ShapleyValueSampling(m).attribute(x, { target: 0, nSamples: 0 })),
  },
  {
    name: 'NoiseTunnel: negative stdevs',
    error: ArgumentError,
    message: /stdevs: expected a number ≥ 0 or one per input \(1\), got -1/,
    call: onMlp((m, x) => new NoiseTunnel(new Saliency(m) as never).attribute(x, { target: 0, stdevs: -1 })),
  },
  {
    name: 'FeatureAblation: perturbationsPerEval 0',
    error: ArgumentError,
    message: /perturbationsPerEval: expected an integer ≥ 1, got 0/,
    call: onMlp((m, x) => new FeatureAblation(m).attribute(x, { target: 0, perturbationsPerEval: 0 })),
  },
  {
    name: 'Saliency: internalBatchSize below the batch',
    error: ArgumentError,
    message: /internalBatchSize: expected/,
    call: onMlp((m, x) => new IntegratedGradients(m).attribute(x, { target: 0, internalBatchSize: 3 })),
  },
  {
    name: 'Lime: a negative seed',
    error: ArgumentError,
    message: /seed: expected a non-negative integer, got -1/,
    call: onMlp((m, x) => new Lime(m).attribute(x, { target: 0, seed: -1 })),
  },

  {
    name: 'KernelShap: nSamples 1e9 fails fast',
    error: ArgumentError,
    message: /nSamples: expected an integer ≥ 1 and at most 100000, got 1000000000\. Larger counts/,
    call: onMlp((m, x) => new KernelShap(m).attribute(x, { target: 0, nSamples: 1e9 })),
  },
  {
    name: 'ShapleyValueSampling: nSamples 1e9 fails fast',
    error: ArgumentError,
    message: /nSamples: expected an integer ≥ 1 and at most 100000, got 1000000000/,
    call: onMlp((m, x) => new ShapleyValueSampling(m).attribute(x, { target: 0, nSamples: 1e9 })),
  },
  {
    name: 'NoiseTunnel: nSamples 1e9 fails fast',
    error: ArgumentError,
    message: /nSamples: expected an integer ≥ 1 and at most 100000, got 1000000000/,
    call: onMlp((m, x) => new NoiseTunnel(new Saliency(m) as never).attribute(x, { target: 0, nSamples: 1e9 })),
  },
  {
    name: 'LayerConductance: nSteps 1e9 fails fast',
    error: ArgumentError,
    message: /nSteps: expected at most 10000 steps, got 1000000000/,
    call: onMlp((m, x, k) => new LayerConductance(m, k.layer('mlp', H1)).attribute(x, { target: 0, nSteps: 1e9 })),
  },
  {
    name: 'IntegratedGradients: onProgress that is not a function',
    error: ArgumentError,
    message: /onProgress: expected a function called with \{ done, total \}, got "log"/,
    call: onMlp((m, x) => new IntegratedGradients(m).attribute(x, { target: 0, onProgress: 'log' as never })),
  },
  {
    name: 'FeatureAblation: a signal that is not an AbortSignal',
    error: ArgumentError,
    message: /signal: expected an AbortSignal \(e\.g\. new AbortController\(\)\.signal\), got true/,
    call: onMlp((m, x) => new FeatureAblation(m).attribute(x, { target: 0, signal: true as never })),
  },
  {
    name: 'Saliency: a signal aborted before the call',
    error: AbortError,
    message: /The attribution was aborted: stop/,
    call: onMlp((m, x) => new Saliency(m).attribute(x, { target: 0, signal: AbortSignal.abort(new Error('stop')) })),
  },
  {
    name: 'Saliency: a target tensor of the wrong shape',
    error: TargetError,
    message: /target: expected a single index or one index per example \(4\), got a tensor of shape \[2, 2\]/,
    call: async (k) => {
      const m = await k.model('mlp');
      const x = k.t([4, 6]);
      const target = k.t([2, 2], [0, 1, 0, 1], 'int32');
      return () => new Saliency(m).attribute(x, { target: target as never });
    },
  },
  {
    name: 'IntegratedGradients: a baseline from the other backend',
    error: ArgumentError,
    message: /baselines: expected a tensor of the (tfjs-cpu|onnx) backend, got a \w+ that is not a tensor of the (tfjs-cpu|onnx) backend/,
    call: async (k) => {
      const m = await k.model('mlp');
      const x = k.t([4, 6]);
      const b = k.foreign([4, 6]);
      return () => new IntegratedGradients(m).attribute(x, { target: 0, baselines: b as never });
    },
  },
  {
    name: 'ShapleyValueSampling: a feature id of 1e9',
    error: ArgumentError,
    message: /featureMask: expected feature ids spanning at most 100000 values \(number features 0, 1, 2, …\), got ids from 0 to 1000000000/,
    call: async (k) => {
      const m = await k.model('mlp');
      const x = k.t([4, 6]);
      const mask = k.t([1, 6], [0, 1e9, 2, 3, 4, 5], 'int32');
      return () => new ShapleyValueSampling(m).attribute(x, { target: 0, featureMask: mask, nSamples: 2 });
    },
  },

  // ── unknown options ───────────────────────────────────────────────────────────────────────────────
  {
    name: 'IntegratedGradients: unknown option nStep',
    error: ArgumentError,
    message: /IntegratedGradients\.attribute options: expected only the options baselines, target, .*, got unknown option 'nStep'\. Did you mean nSteps\?/,
    call: onMlp((m, x) => new IntegratedGradients(m).attribute(x, { target: 0, nStep: 10 } as never)),
  },
  {
    name: 'FeatureAblation: unknown option featuremask',
    error: ArgumentError,
    message: /FeatureAblation\.attribute options: .*got unknown option 'featuremask'\. Did you mean featureMask\?/,
    call: onMlp((m, x) => new FeatureAblation(m).attribute(x, { target: 0, featuremask: x } as never)),
  },
  {
    name: 'LayerGradientXActivation: unknown option attributeToLayerInputs',
    error: ArgumentError,
    message: /LayerGradientXActivation\.attribute options: .*got unknown option 'attributeToLayerInputs'\. Did you mean attributeToLayerInput\?/,
    call: onMlp((m, x, k) => new LayerGradientXActivation(m, k.layer('mlp', H1)).attribute(x, { target: 0, attributeToLayerInputs: true } as never)),
  },
  {
    name: 'NeuronGradient: unknown option neuronSelecter',
    error: ArgumentError,
    message: /NeuronGradient\.attribute options: .*got unknown option 'neuronSelecter'\. Did you mean neuronSelector\?/,
    call: onMlp((m, x, k) => new NeuronGradient(m, k.layer('mlp', H2)).attribute(x, { neuronSelecter: 0 } as never)),
  },
  {
    name: 'Occlusion: unknown option slidingWindowShape',
    error: ArgumentError,
    message: /Occlusion\.attribute options: .*got unknown option 'slidingWindowShape'\. Did you mean slidingWindowShapes\?/,
    call: onMlp((m, x) => new Occlusion(m).attribute(x, { target: 0, slidingWindowShape: [2] } as never)),
  },
  {
    name: 'DeepLiftShap: options that are not an object',
    error: ArgumentError,
    message: /DeepLiftShap\.attribute options: expected an options object, got an array/,
    call: onMlp((m, x) => new DeepLiftShap(m).attribute(x, [0] as never)),
  },

  // ── baselines ─────────────────────────────────────────────────────────────────────────────────────
  {
    name: 'IntegratedGradients: a baseline of the wrong shape',
    error: ShapeError,
    message: /baselines: expected shape \[4, 6\] \(one baseline per example\) or \[1, 6\] \(one for all\), got shape \[4, 5\]/,
    call: async (k) => {
      const m = await k.model('mlp');
      const x = k.t([4, 6]);
      const b = k.t([4, 5]);
      return () => new IntegratedGradients(m).attribute(x, { target: 0, baselines: b });
    },
  },
  {
    name: 'DeepLift: a NaN baseline',
    error: ArgumentError,
    message: /baselines: expected a finite number or a tensor, got NaN/,
    call: onMlp((m, x) => new DeepLift(m).attribute(x, { target: 0, baselines: NaN })),
  },
  {
    name: 'FeatureAblation: three baselines for two inputs',
    error: ArgumentError,
    message: /baselines: expected one baseline per input \(2\), got an array of 3/,
    call: async (k) => {
      const m = await k.model('two_input');
      const a = k.t([3, 4]);
      const b = k.t([3, 3]);
      return () => new FeatureAblation(m).attribute([a, b], { target: 0, baselines: [0, 0, 0] });
    },
  },
  {
    name: 'GradientShap: no baseline distribution',
    error: ArgumentError,
    message: /baselines: expected reference rows for every input \(a tensor, or a function returning them\), got none/,
    call: onMlp((m, x) => new GradientShap(m).attribute(x, { target: 0 } as never)),
  },
  {
    name: 'DeepLiftShap: a distribution with the wrong example shape',
    error: ShapeError,
    message: /baselines: expected shape \[B, 6\] \(B reference rows\), got shape \[3, 4\]/,
    call: async (k) => {
      const m = await k.model('mlp');
      const x = k.t([4, 6]);
      const d = k.t([3, 4]);
      return () => new DeepLiftShap(m).attribute(x, { target: 0, baselines: d });
    },
  },

  // ── layers and neurons ────────────────────────────────────────────────────────────────────────────
  {
    name: 'LayerActivation: an unknown layer',
    error: ArgumentError,
    message: /layer: expected one of .*, got 'hidden9'/,
    call: onMlp((m, x) => new LayerActivation(m, 'hidden9').attribute(x)),
  },
  {
    name: 'LayerDeepLift: a layer that is not a name',
    error: ArgumentError,
    message: /layer: expected a layer name \(e\.g\. an ONNX tensor name or a tfjs layer\/tap name\) or \{ layer, side\?, index\? \}, got 42/,
    call: onMlp(async (m, x) => new LayerDeepLift(m, 42 as never).attribute(x, { target: 0 })),
  },
  {
    name: 'NeuronGradient: neuron index out of range',
    error: ArgumentError,
    message: /neuronSelector: expected index 0 in \[-8, 8\) for a layer output of shape \[8\], got 99/,
    call: onMlp((m, x, k) => new NeuronGradient(m, k.layer('mlp', H2)).attribute(x, { neuronSelector: 99 })),
  },
  {
    name: 'NeuronDeepLift: no neuron selector',
    error: ArgumentError,
    message: /neuronSelector: expected an index into the layer output of shape \[8\], \{ block: \[\.\.\.\] \} or a function, got undefined/,
    call: onMlp((m, x, k) => new NeuronDeepLift(m, k.layer('mlp', H2)).attribute(x, {} as never)),
  },
  {
    name: 'NeuronFeatureAblation: too many neuron indices',
    error: ArgumentError,
    message: /neuronSelector: expected at most 1 indices for a layer output of shape \[8\] \(without the batch dimension\), got \[0, 0\]/,
    call: onMlp((m, x, k) => new NeuronFeatureAblation(m, k.layer('mlp', H2)).attribute(x, { neuronSelector: [0, 0] })),
  },
  {
    name: 'NeuronConductance: target out of range',
    error: TargetError,
    message: /target: expected an index in \[-3, 3\) for dimension 1 of output shape \[4, 3\], got 5/,
    call: onMlp((m, x, k) => new NeuronConductance(m, k.layer('mlp', H2)).attribute(x, { neuronSelector: 0, target: 5 })),
  },
  {
    name: 'NeuronGuidedBackprop: a block range past the layer',
    error: ArgumentError,
    message: /neuronSelector: expected an index or a \[start, end\) range within 8 for dimension 0 of \[8\], got \[2, 11\]/,
    call: onMlp((m, x, k) => new NeuronGuidedBackprop(m, k.layer('mlp', H2)).attribute(x, { neuronSelector: { block: [[2, 11]] } })),
  },
  {
    name: 'NeuronGradientShap: nSamples -1',
    error: ArgumentError,
    message: /nSamples: expected an integer ≥ 1, got -1/,
    call: onMlp((m, x, k) => new NeuronGradientShap(m, k.layer('mlp', H2)).attribute(x, { neuronSelector: 0, baselines: x, nSamples: -1 })),
  },
  {
    name: 'LayerFeatureAblation: a layer mask of the wrong shape',
    error: ShapeError,
    message: /layerMask: expected a shape that broadcasts to \[4, 12\]/,
    call: async (k) => {
      const m = await k.model('mlp');
      const x = k.t([4, 6]);
      const mask = k.t([1, 5], (i) => i, 'int32');
      return () => new LayerFeatureAblation(m, k.layer('mlp', H1)).attribute(x, { target: 0, layerMask: mask });
    },
  },
  {
    name: 'LayerGradientShap: stdevs of the wrong length',
    error: ArgumentError,
    message: /stdevs: expected a number ≥ 0 or one per input \(1\), got 0\.1,0\.2/,
    call: onMlp((m, x, k) => new LayerGradientShap(m, k.layer('mlp', H1)).attribute(x, { target: 0, baselines: x, stdevs: [0.1, 0.2] })),
  },
  {
    name: 'GuidedGradCam: unknown layer on the cnn',
    error: ArgumentError,
    message: /layer: expected one of .*, got 'conv9'/,
    call: async (k) => {
      const m = await k.model('cnn');
      const x = k.t([2, 1, 8, 8]);
      return () => new GuidedGradCam(m, 'conv9').attribute(x, { target: 0 });
    },
  },
  {
    // A tfjs function model may take extra arguments (this one ignores them): only ONNX knows its inputs.
    name: 'Deconvolution: additional arguments the model does not take',
    only: 'onnxruntime-node',
    error: ArgumentError,
    message: /inputs: expected 1 tensors in all \(inputs and additionalForwardArgs\) for inputs x, got 3/,
    call: async (k) => {
      const m = await k.model('mlp');
      const x = k.t([4, 6]);
      const extra = k.t([4, 6]);
      return () => new Deconvolution(m).attribute(x, { target: 0, additionalForwardArgs: [extra, 'oops'] });
    },
  },

  {
    name: 'LayerActivation: a layer reference with an unknown side',
    error: ArgumentError,
    message: /layer\.side: expected 'output' or 'input', got "middle"/,
    call: onMlp(async (m, x, k) => new LayerActivation(m, { layer: k.layer('mlp', H1), side: 'middle' } as never).attribute(x)),
  },
  {
    name: 'LayerGradientXActivation: a layer reference with a negative index',
    error: ArgumentError,
    message: /layer\.index: expected a non-negative integer \(which of the layer's tensors\), got -1/,
    call: onMlp(async (m, x, k) => new LayerGradientXActivation(m, { layer: k.layer('mlp', H1), index: -1 }).attribute(x, { target: 0 })),
  },

  // ── the model ─────────────────────────────────────────────────────────────────────────────────────
  {
    name: 'Saliency: a model whose output is boolean',
    error: ModelError,
    message: /The model output has dtype bool; attribution needs numbers\./,
    call: async (k) => {
      const m = await k.booleanModel();
      const x = k.t([4, 6]);
      return () => new Saliency(m).attribute(x, { target: 0 });
    },
  },
  {
    name: 'FeatureAblation: a model whose output is boolean',
    error: ModelError,
    message: /The model output has dtype bool; attribution needs numbers\./,
    call: async (k) => {
      const m = await k.booleanModel();
      const x = k.t([4, 6]);
      return () => new FeatureAblation(m).attribute(x, { target: 0 });
    },
  },

  // ── metrics ───────────────────────────────────────────────────────────────────────────────────────
  {
    name: 'infidelity: attributions of the wrong shape',
    error: ShapeError,
    message: /attributions: expected the shape of its input, \[4, 6\], got \[4, 5\]/,
    call: async (k) => {
      const m = await k.model('mlp');
      const x = k.t([4, 6]);
      const a = k.t([4, 5]);
      return () => infidelity(m, x, a, { target: 0, nPerturbSamples: 2, seed: 1 });
    },
  },
  {
    name: 'deletion: unknown option step',
    error: ArgumentError,
    message: /deletion options: .*got unknown option 'step'\. Did you mean steps\?/,
    call: onMlp((m, x) => deletion(m, x, x, { target: 0, step: 3 } as never)),
  },
  {
    name: 'sensitivityMax: nPerturbSamples 0',
    error: ArgumentError,
    message: /nPerturbSamples: expected an integer ≥ 1, got 0/,
    call: onMlp((m, x) => sensitivityMax(new Saliency(m) as never, x, { nPerturbSamples: 0, explanationOptions: { target: 0 } } as never)),
  },
  {
    name: 'deletion: steps 1e9 fails fast',
    error: ArgumentError,
    message: /steps: expected an integer ≥ 1 and at most 100000, got 1000000000/,
    call: onMlp((m, x) => deletion(m, x, x, { target: 0, steps: 1e9 })),
  },
  {
    name: 'infidelity: nPerturbSamples 1e9 fails fast',
    error: ArgumentError,
    message: /nPerturbSamples: expected an integer ≥ 1 and at most 100000, got 1000000000/,
    call: onMlp((m, x) => infidelity(m, x, x, { target: 0, nPerturbSamples: 1e9 })),
  },
];

const mlpBooleanOnnx = (): Uint8Array => {
  const { onnx, makeNode, makeValueInfo, makeTensor, DataType, encodeModel } = proto;
  const graph = onnx.GraphProto.create({
    name: 'bool',
    node: [makeNode('Greater', ['x', 'zero'], ['y'])],
    initializer: [makeTensor('zero', DataType.FLOAT, [], [0])],
    input: [makeValueInfo('x', DataType.FLOAT, ['N', 6])],
    output: [makeValueInfo('y', DataType.BOOL, ['N', 6])],
  });
  return encodeModel(onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: '', version: 17 }], graph }) as never);
};

interface Setup {
  readonly name: Backends;
  readonly but: () => Promise<BackendUnderTest<unknown>>;
  readonly foreign: (shape: readonly number[]) => { value: unknown; free(): void };
  readonly booleanModel: () => Promise<Model<unknown>>;
  readonly live?: () => number;
}

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

const setups: readonly Setup[] = [
  {
    name: 'tfjs-cpu',
    but: async () => {
      await tf.setBackend('cpu');
      return tfjsUnderTest() as BackendUnderTest<unknown>;
    },
    foreign: (shape) => ({ value: hostTensor(new Float32Array(size(shape)), shape), free: () => undefined }),
    booleanModel: async () => fromTfjs((x: tf.Tensor) => tf.greater(x, 0)) as Model<unknown>,
    live: () => tf.memory().numTensors,
  },
  {
    name: 'onnxruntime-node',
    but: async () => onnxUnderTest(ort, 'onnxruntime-node') as BackendUnderTest<unknown>,
    foreign: (shape) => {
      const t = tf.zeros([...shape]);
      return { value: t, free: () => t.dispose() };
    },
    booleanModel: async () => (await fromOnnx(ort, mlpBooleanOnnx())) as Model<unknown>,
  },
];

describe.each(setups)('bad input on $name', (setup) => {
  let but: BackendUnderTest<unknown>;
  let booleanModel: Model<unknown> | undefined;
  beforeAll(async () => {
    but = await setup.but();
  });
  afterAll(() => {
    booleanModel?.dispose?.();
    but.dispose();
  });

  const run = async (c: BadCase): Promise<void> => {
    const owned: unknown[] = [];
    const frees: (() => void)[] = [];
    const kit: Kit = {
      name: setup.name,
      backend: but.backend,
      model: (name) => but.model(name),
      t: (shape, values = ramp, dtype = 'float32') => {
        const data = typeof values === 'function' ? Array.from({ length: size(shape) }, (_, i) => values(i)) : [...values];
        const t = but.tensor({ shape, dtype, data });
        owned.push(t);
        return t;
      },
      layer: (model, onnx) => but.layerName(model, { name: '', onnx }),
      foreign: (shape) => {
        const f = setup.foreign(shape);
        frees.push(f.free);
        return f.value;
      },
      disposed: (shape) => {
        const t = but.tensor({ shape, data: new Array<number>(size(shape)).fill(0) });
        but.release([t]);
        return t;
      },
      booleanModel: async () => (booleanModel ??= await setup.booleanModel()),
    };
    try {
      // The case loads its model and makes its tensors first, so that the count sees only the failing call.
      const call = await c.call(kit);
      const before = setup.live?.();
      const outcome = await call().then(
        (result) => {
          const r = result as { attributions?: unknown; delta?: unknown } | undefined;
          but.release([r?.attributions, r?.delta].flat().filter((t) => but.backend.isTensor(t)));
          return undefined;
        },
        (e: unknown) => e,
      );
      expect(outcome, 'the call should have failed').toBeInstanceOf(Error);
      if (setup.live) expect(setup.live(), 'tensors left behind by the failing call').toBe(before);
      const error = outcome as Error;
      const wantClass = typeof c.error === 'function' ? c.error : c.error[setup.name];
      const wantMessage = c.message instanceof RegExp ? c.message : c.message[setup.name];
      expect(error, `${error.name}: ${error.message}`).toBeInstanceOf(AttributionError);
      expect(error, `${error.name}: ${error.message}`).toBeInstanceOf(wantClass);
      expect(error.message).toMatch(wantMessage);
      if (error instanceof ArgumentError) {
        expect(error.argument.length).toBeGreaterThan(0);
        expect(error.expected.length).toBeGreaterThan(0);
        expect(error.received.length).toBeGreaterThan(0);
      }
    } finally {
      but.release(owned);
      for (const f of frees) f();
    }
  };

  for (const c of cases.filter((x) => !x.only || x.only === setup.name)) {
    if (c.knownIssue) it.fails(`${c.name} (known issue: ${c.knownIssue})`, () => run(c));
    else it(c.name, () => run(c));
  }
});

it('the catalog has at least 40 cases', () => {
  expect(cases.length).toBeGreaterThanOrEqual(40);
});
