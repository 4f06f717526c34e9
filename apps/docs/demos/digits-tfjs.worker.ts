/** The digits model on TensorFlow.js (WebGL, or the CPU backend where WebGL is unavailable), in a Web Worker. */
import * as tf from '@tensorflow/tfjs';
import { fromTfjs, type TfjsModel } from '@attribution/tfjs';
import modelUrl from '../../../packages/conformance/fixtures/real/digits_cnn.onnx?url';
import { serve } from './rpc.js';
import { handleDigits } from './digits-explain.js';
import { digitsNet } from './digits-tfjs-net.js';
import type { DigitsRequest, ExplainResult, PredictResult, TfjsBackendName } from './digits-shared.js';

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

serve<DigitsRequest, PredictResult | ExplainResult>(async (request, onProgress) => {
  await useBackend(request.tfjsBackend ?? 'webgl');
  loading ??= load().catch((e: unknown) => {
    loading = undefined; // try again on the next request
    throw e;
  });
  return handleDigits(await loading, `tfjs-${tf.getBackend()}`, request, onProgress);
});
