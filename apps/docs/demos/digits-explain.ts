/**
 * The attribution code of the digits demos. It is written once against the `Model` contract, so it runs
 * unchanged on the ONNX Runtime model (`fromOnnx`) and on the TensorFlow.js model (`fromTfjs`): the workers
 * differ only in how they build `model`.
 */
import { LayerGradCam } from '@attribution/layer';
import { DeepLift, IntegratedGradients, NoiseTunnel, Occlusion, Saliency } from '@attribution/primary';
import { toNumbers, type Model } from '@attribution/tensor';
import type { Handled, Progress as P } from './rpc.js';
import {
  clampOptions,
  type DigitsMethod,
  type DigitsOptions,
  type DigitsRequest,
  type ExplainResult,
  type Prediction,
  type PredictResult,
} from './digits-shared.js';

const SHAPE = [1, 8, 8];

/** Reads a tensor into a Float64Array and frees it. */
async function read<T>(model: Model<T>, t: T): Promise<Float64Array> {
  try {
    return toNumbers(await model.backend.data(t));
  } finally {
    model.backend.dispose(t);
  }
}

/** The softmax prediction of the model for N images. */
export async function predict<T>(model: Model<T>, images: Float32Array): Promise<Prediction[]> {
  const n = images.length / 64;
  const x = model.backend.tensor(images, [n, ...SHAPE]);
  try {
    const { output } = await model.forward({ inputs: [x] });
    const logits = await read(model, output);
    return Array.from({ length: n }, (_, i) => {
      const row = Array.from(logits.subarray(i * 10, i * 10 + 10));
      const top = Math.max(...row);
      const exp = row.map((v) => Math.exp(v - top));
      const sum = exp.reduce((a, v) => a + v, 0);
      const probabilities = exp.map((v) => v / sum);
      const label = probabilities.indexOf(Math.max(...probabilities));
      return { label, probability: probabilities[label] as number, probabilities };
    });
  } finally {
    model.backend.dispose(x);
  }
}

/** Attributions of `method` for N images (one target class each), as [N, 1, 8, 8] values. */
export async function explain<T>(
  model: Model<T>,
  images: Float32Array,
  target: readonly number[],
  method: DigitsMethod,
  o: DigitsOptions,
  onProgress: (p: P) => void,
  signal: AbortSignal,
): Promise<{ attributions: Float32Array; delta?: number[] }> {
  const n = images.length / 64;
  const x = model.backend.tensor(images, [n, ...SHAPE]);
  const targets = [...target];
  try {
    let attributions: T;
    let delta: T | undefined;
    switch (method) {
      case 'integrated-gradients':
        ({ attributions, delta } = await new IntegratedGradients(model).attribute(x, {
          target: targets, baselines: o.baseline, nSteps: o.nSteps, returnConvergenceDelta: true, onProgress, signal,
          internalBatchSize: n * Math.max(1, Math.ceil(o.nSteps / 10)), // about ten calls, for the progress bar
        }));
        break;
      case 'saliency':
        ({ attributions } = await new Saliency(model).attribute(x, { target: targets, onProgress, signal }));
        break;
      case 'noise-tunnel':
        ({ attributions } = await new NoiseTunnel(new Saliency(model)).attribute(x, {
          target: targets, ntType: 'smoothgrad', nSamples: o.nSamples, stdevs: o.stdevs, seed: 0, onProgress, signal,
          nSamplesBatchSize: Math.max(1, Math.ceil(o.nSamples / 10)),
        }));
        break;
      case 'occlusion':
        ({ attributions } = await new Occlusion(model).attribute(x, {
          target: targets, slidingWindowShapes: [1, o.window, o.window], strides: [1, o.stride, o.stride],
          baselines: o.baseline, perturbationsPerEval: 4, onProgress, signal,
        }));
        break;
      case 'layer-grad-cam': {
        const gradCam = new LayerGradCam(model, o.layer);
        // A map [N, 1, h, w] at the layer's resolution, upsampled to the input's.
        const map = (await gradCam.attribute(x, { target: targets, reluAttributions: true, onProgress, signal })).attributions;
        try {
          attributions = await gradCam.interpolate(map, [8, 8], 'bilinear');
        } finally {
          model.backend.dispose(map);
        }
        break;
      }
      case 'deep-lift':
        ({ attributions, delta } = await new DeepLift(model).attribute(x, {
          target: targets, baselines: o.baseline, returnConvergenceDelta: true, onProgress, signal,
        }));
        break;
      default:
        throw new Error(`unknown method '${String(method)}'`);
    }
    const values = Float32Array.from(await read(model, attributions));
    return { attributions: values, ...(delta === undefined ? {} : { delta: Array.from(await read(model, delta)) }) };
  } finally {
    model.backend.dispose(x);
  }
}

/** Answers a request of a digits page: the same code for every backend. */
export async function handleDigits<T>(
  model: Model<T>,
  backend: string,
  request: DigitsRequest,
  onProgress: (p: P) => void,
  signal: AbortSignal,
): Promise<Handled<PredictResult | ExplainResult>> {
  if (request.type === 'probe') throw new Error('only the TensorFlow.js worker probes its backends');
  const predictions = await predict(model, request.images);
  if (request.type === 'predict') return { result: { predictions, backend } };
  const targets = request.targets.map((t, i) => t ?? (predictions[i] as Prediction).label);
  const start = performance.now();
  const { attributions, delta } = await explain(model, request.images, targets, request.method, clampOptions(request.options).options, onProgress, signal);
  const ms = performance.now() - start;
  return { result: { attributions, ...(delta ? { delta } : {}), targets, ms, predictions, backend }, transfer: [attributions.buffer] };
}
