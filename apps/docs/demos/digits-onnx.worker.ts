/** The digits model on ONNX Runtime Web (WebAssembly, one thread), in a Web Worker. */
import * as ort from 'onnxruntime-web/wasm';
import wasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.wasm?url';
import { fromOnnx, type OnnxModel } from '@attribution/onnx';
import modelUrl from '../../../packages/conformance/fixtures/real/digits_cnn.onnx?url';
import { serve, yielding } from './rpc.js';
import { handleDigits } from './digits-explain.js';
import type { DigitsRequest, ExplainResult, PredictResult } from './digits-shared.js';

// The .wasm file is served by the site itself; threads would need cross-origin isolation.
ort.env.wasm.wasmPaths = { wasm: wasmUrl };
ort.env.wasm.numThreads = 1;

let loading: Promise<OnnxModel> | undefined;

serve<DigitsRequest, PredictResult | ExplainResult>(async (request, onProgress, signal) => {
  // Model calls let the worker's event loop run now and then, so that Cancel's message arrives mid-attribution.
  loading ??= fromOnnx(ort, modelUrl).then((m) => yielding(m, ['forward', 'gradient'])).catch((e: unknown) => {
    loading = undefined; // try again on the next request
    throw e;
  });
  return handleDigits(await loading, 'onnxruntime-web (wasm)', request, onProgress, signal);
});
