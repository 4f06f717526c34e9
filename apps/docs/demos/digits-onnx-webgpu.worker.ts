/**
 * The digits model on ONNX Runtime Web's WebGPU build, in a Web Worker: the page starts it instead of
 * digits-onnx.worker.ts when the browser has `navigator.gpu`. The model's sessions (its gradient models included)
 * run on the WebGPU execution provider when an adapter is found, each operator WebGPU lacks on WebAssembly;
 * without an adapter everything runs on WebAssembly. The result says which.
 */
import * as ort from 'onnxruntime-web/webgpu';
import wasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import { fromOnnx, type OnnxModel } from '@attribution/onnx';
import modelUrl from '../../../packages/conformance/fixtures/real/digits_cnn.onnx?url';
import { serve, yielding } from './rpc.js';
import { handleDigits } from './digits-explain.js';
import type { DigitsRequest, ExplainResult, PredictResult } from './digits-shared.js';

ort.env.wasm.wasmPaths = { wasm: wasmUrl };
ort.env.wasm.numThreads = 1;

let loading: Promise<{ model: OnnxModel; label: string }> | undefined;

/** WebGPU and WebAssembly when the browser gives an adapter, WebAssembly alone otherwise. */
async function load(): Promise<{ model: OnnxModel; label: string }> {
  const gpu = (self.navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  const adapter = await gpu?.requestAdapter().catch(() => null);
  const executionProviders = adapter ? ['webgpu', 'wasm'] : ['wasm'];
  const model = await fromOnnx(ort as never, modelUrl, { executionProviders });
  return { model: yielding(model, ['forward', 'gradient']), label: adapter ? 'onnxruntime-web (WebGPU, WebAssembly for the rest)' : 'onnxruntime-web (wasm: no WebGPU adapter)' };
}

serve<DigitsRequest, PredictResult | ExplainResult>(async (request, onProgress, signal) => {
  loading ??= load().catch((e: unknown) => {
    loading = undefined; // try again on the next request
    throw e;
  });
  const { model, label } = await loading;
  return handleDigits(model, label, request, onProgress, signal);
});
