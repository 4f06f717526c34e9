/** What the digits demos (ONNX Runtime, TensorFlow.js, explorer) and their workers share: methods, options, messages. */
import type { ImageMethod, Sign } from '@attribution/visualize';
import { clampOption } from './bounds.js';

export { clampOption } from './bounds.js';

/** The methods of the digits demos, by their registry names (`primaryMethods` / `layerMethods` keys). */
export type DigitsMethod = 'integrated-gradients' | 'saliency' | 'noise-tunnel' | 'occlusion' | 'layer-grad-cam' | 'deep-lift';

/** Options of every method in one object; each method reads the ones it uses. */
export interface DigitsOptions {
  /** IntegratedGradients: points on the path. */
  readonly nSteps: number;
  /** IntegratedGradients, DeepLift, Occlusion: the baseline pixel value (0 = black). */
  readonly baseline: number;
  /** SmoothGrad: noisy copies per example. */
  readonly nSamples: number;
  /** SmoothGrad: standard deviation of the noise (pixels are in [0, 1]). */
  readonly stdevs: number;
  /** Occlusion: window side in pixels. */
  readonly window: number;
  /** Occlusion: step between windows. */
  readonly stride: number;
  /** Grad-CAM: the layer (a tensor of the ONNX model; the tfjs model taps the same names, as NCHW). */
  readonly layer: GradCamLayer;
}

/** The layers Grad-CAM may explain: the second convolution's ReLU, [N, 32, 8, 8], or the max-pool after it, [N, 32, 4, 4]. */
export type GradCamLayer = '/3/Relu_output_0' | '/4/MaxPool_output_0';
export const GRAD_CAM_LAYERS: readonly { readonly name: GradCamLayer; readonly label: string }[] = [
  { name: '/3/Relu_output_0', label: '/3/Relu_output_0 (32 × 8×8)' },
  { name: '/4/MaxPool_output_0', label: '/4/MaxPool_output_0 (32 × 4×4)' },
];

export const DEFAULT_OPTIONS: DigitsOptions = { nSteps: 50, baseline: 0, nSamples: 10, stdevs: 0.15, window: 2, stride: 1, layer: '/3/Relu_output_0' };

/** The number options' bounds, enforced by {@link clampOption} (not only by the inputs' `min`/`max`). */
export const OPTION_BOUNDS = {
  nSteps: { min: 1, max: 500, integer: true },
  nSamples: { min: 1, max: 200, integer: true },
  stdevs: { min: 0, max: 2, integer: false },
} as const;

/** The options with every number option within {@link OPTION_BOUNDS}, and the notes of what was changed. */
export function clampOptions(options: DigitsOptions): { options: DigitsOptions; notes: string[] } {
  const out: Record<string, unknown> = { ...options };
  const notes: string[] = [];
  for (const [key, bound] of Object.entries(OPTION_BOUNDS)) {
    const { value, note } = clampOption(key, out[key], bound, DEFAULT_OPTIONS[key as keyof typeof OPTION_BOUNDS]);
    out[key] = value;
    if (note) notes.push(note);
  }
  return { options: out as unknown as DigitsOptions, notes };
}

export interface MethodInfo {
  readonly name: DigitsMethod;
  readonly label: string;
  /** The options the method uses (keys of {@link DigitsOptions}). */
  readonly options: readonly (keyof DigitsOptions)[];
  /** How it is usually drawn. */
  readonly sign: Sign;
  readonly draw: ImageMethod;
}

export const DIGITS_METHODS: readonly MethodInfo[] = [
  { name: 'integrated-gradients', label: 'Integrated Gradients', options: ['nSteps', 'baseline'], sign: 'all', draw: 'blended_heat_map' },
  { name: 'saliency', label: 'Saliency', options: [], sign: 'absolute_value', draw: 'heat_map' },
  { name: 'noise-tunnel', label: 'SmoothGrad (NoiseTunnel)', options: ['nSamples', 'stdevs'], sign: 'absolute_value', draw: 'heat_map' },
  { name: 'occlusion', label: 'Occlusion', options: ['window', 'stride', 'baseline'], sign: 'all', draw: 'blended_heat_map' },
  { name: 'layer-grad-cam', label: 'Grad-CAM (LayerGradCam)', options: ['layer'], sign: 'positive', draw: 'blended_heat_map' },
  { name: 'deep-lift', label: 'DeepLift', options: ['baseline'], sign: 'all', draw: 'blended_heat_map' },
];

export const methodInfo = (name: DigitsMethod): MethodInfo => DIGITS_METHODS.find((m) => m.name === name) ?? (DIGITS_METHODS[0] as MethodInfo);

/** The model's answer for one example. */
export interface Prediction {
  readonly label: number;
  readonly probability: number;
  readonly probabilities: readonly number[];
}

/** The TensorFlow.js backends the tfjs demo offers. */
export type TfjsBackendName = 'webgl' | 'cpu';

/**
 * Requests to a digits worker. `images` holds N 8×8 images in [0, 1], row-major ([N, 1, 8, 8]).
 * `tfjsBackend` is the preferred TensorFlow.js backend (the tfjs worker only; default cpu, and cpu where webgl fails).
 */
export type DigitsRequest =
  | { readonly type: 'predict'; readonly images: Float32Array; readonly tfjsBackend?: TfjsBackendName }
  /** The tfjs worker only: which backend is faster here (see {@link ProbeResult}). */
  | { readonly type: 'probe' }
  | {
      readonly type: 'explain';
      readonly tfjsBackend?: TfjsBackendName;
      readonly images: Float32Array;
      /** The class to explain for each example; null: the predicted class. */
      readonly targets: readonly (number | null)[];
      readonly method: DigitsMethod;
      readonly options: DigitsOptions;
    };

/** What the tfjs worker found about WebGL in this browser. */
export interface ProbeResult {
  /** `webgl` on a GPU; `cpu` where WebGL is missing or runs on a software renderer (slower than the CPU backend). */
  readonly recommended: TfjsBackendName;
  /** Why: the WebGL renderer's name, or that there is no WebGL. */
  readonly reason: string;
}

export interface PredictResult {
  readonly predictions: Prediction[];
  /** The backend the model runs on, e.g. `onnxruntime-web (wasm)` or `tfjs-webgl`. */
  readonly backend: string;
}

export interface ExplainResult extends PredictResult {
  /** The class explained for each example. */
  readonly targets: number[];
  /** [N, 1, 8, 8] attributions, row-major. */
  readonly attributions: Float32Array;
  /** IntegratedGradients and DeepLift: Σ attributions − (F(x) − F(baseline)) per example. */
  readonly delta?: number[];
  /** Time of the attribution call in the worker, in milliseconds. */
  readonly ms: number;
}

/** "3 (0.99)": the predicted class and its probability. */
export const formatPrediction = (p: Prediction): string => `${p.label} (${p.probability.toFixed(2)})`;
