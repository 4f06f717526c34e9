/**
 * The digits model on TensorFlow.js, in a Web Worker: the CPU backend where WebGL would run without a GPU (a
 * software renderer is slower than tfjs's CPU kernels), WebGL on a GPU, and the CPU backend wherever WebGL fails.
 */
import * as tf from '@tensorflow/tfjs';
import { fromTfjs, type TfjsModel } from '@attribution/tfjs';
import modelUrl from '../../../packages/conformance/fixtures/real/digits_cnn.onnx?url';
import { serve, yielding } from './rpc.js';
import { handleDigits } from './digits-explain.js';
import { digitsNet } from './digits-tfjs-net.js';
import type { DigitsRequest, ExplainResult, PredictResult, ProbeResult, TfjsBackendName } from './digits-shared.js';

/** Software WebGL renderers (SwiftShader, Mesa's llvmpipe/softpipe, Windows' Basic Render Driver). */
const SOFTWARE = /swiftshader|llvmpipe|softpipe|software|basic render/i;

/** Whether WebGL here runs on a GPU: asks for a context that fails on a major performance caveat, and reads the renderer's name. */
function probe(): ProbeResult {
  if (typeof OffscreenCanvas === 'undefined') return { recommended: 'cpu', reason: 'no OffscreenCanvas in this worker, so no WebGL' };
  try {
    const fast = new OffscreenCanvas(1, 1).getContext('webgl', { failIfMajorPerformanceCaveat: true });
    const gl = fast ?? new OffscreenCanvas(1, 1).getContext('webgl');
    if (!gl) return { recommended: 'cpu', reason: 'no WebGL in this browser' };
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
    gl.getExtension('WEBGL_lose_context')?.loseContext();
    if (!fast || SOFTWARE.test(renderer)) return { recommended: 'cpu', reason: `WebGL has no GPU here (${renderer}): the cpu backend is faster` };
    return { recommended: 'webgl', reason: `WebGL on ${renderer}` };
  } catch (e) {
    return { recommended: 'cpu', reason: `WebGL failed: ${(e as Error).message}` };
  }
}

/** Switches to the preferred backend, or to the CPU backend when it cannot start (WebGL unavailable). */
async function useBackend(preferred: TfjsBackendName): Promise<void> {
  const wanted = failed.has(preferred) ? 'cpu' : preferred;
  if (tf.getBackend() === wanted) return;
  // setBackend resolves false (after a console warning from tfjs) when the backend cannot start here.
  const ok = await tf.setBackend(wanted).catch(() => false);
  if (!ok) {
    failed.add(wanted);
    await tf.setBackend('cpu');
  }
  await tf.ready();
}
const failed = new Set<string>();

async function load(): Promise<TfjsModel> {
  // The weights are those of digits_cnn.onnx, read from the file itself.
  const response = await fetch(modelUrl);
  if (!response.ok) throw new Error(`cannot load ${modelUrl} (HTTP ${response.status})`);
  // The taps are NCHW, as the ONNX model's tensors: Grad-CAM pools over axes 2 and 3.
  return fromTfjs(digitsNet(new Uint8Array(await response.arrayBuffer())), { dataFormat: 'channelsFirst' });
}

let loading: Promise<TfjsModel> | undefined;

serve<DigitsRequest, ProbeResult | PredictResult | ExplainResult>(async (request, onProgress, signal) => {
  if (request.type === 'probe') return { result: probe() };
  await useBackend(request.tfjsBackend ?? 'cpu');
  // Model calls let the worker's event loop run now and then, so that Cancel's message arrives mid-attribution.
  loading ??= load().then((m) => yielding(m, ['forward', 'gradient'])).catch((e: unknown) => {
    loading = undefined; // try again on the next request
    throw e;
  });
  return handleDigits(await loading, `tfjs-${tf.getBackend()}`, request, onProgress, signal);
});
