/** The breast-cancer MLP on ONNX Runtime Web (WebAssembly, one thread), in a Web Worker. */
import * as ort from 'onnxruntime-web/wasm';
import wasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.wasm?url';
import { fromOnnx, tensor, type OnnxModel } from '@attribution/onnx';
import { FeatureAblation, IntegratedGradients, KernelShap, ShapleyValueSampling } from '@attribution/primary';
import { toNumbers, type TensorData } from '@attribution/tensor';
import modelUrl from '../../../packages/conformance/fixtures/real/breast_cancer.onnx?url';
import { serve, yielding } from './rpc.js';
import { clampOption } from './bounds.js';
import { tabularMethodInfo, type TabularRequest, type TabularResult } from './tabular-shared.js';

ort.env.wasm.wasmPaths = { wasm: wasmUrl };
ort.env.wasm.numThreads = 1;

const M = 30;
let loading: Promise<OnnxModel> | undefined;

/** The logits of the rows of `rows` ([k, 30]). */
async function logits(model: OnnxModel, rows: Float32Array): Promise<Float64Array> {
  const { output } = await model.forward({ inputs: [tensor(rows, [rows.length / M, M])] });
  return toNumbers(output.data as TensorData);
}

serve<TabularRequest, TabularResult>(async (request, onProgress, signal) => {
  // Model calls let the worker's event loop run now and then, so that Cancel's message arrives mid-attribution.
  loading ??= fromOnnx(ort, modelUrl).then((m) => yielding(m, ['forward', 'gradient'])).catch((e: unknown) => {
    loading = undefined;
    throw e;
  });
  const model = await loading;
  const z = await logits(model, request.x);
  const top = Math.max(z[0] as number, z[1] as number);
  const exp = [Math.exp((z[0] as number) - top), Math.exp((z[1] as number) - top)];
  const probabilities = exp.map((v) => v / ((exp[0] as number) + (exp[1] as number)));
  const prediction = { label: (probabilities[1] as number) > (probabilities[0] as number) ? 1 : 0, probabilities };
  if (request.type === 'predict') return { result: { prediction } };

  const bound = tabularMethodInfo(request.method).count;
  const count = bound ? clampOption(bound.option, request.count, { ...bound, integer: true }, bound.default).value : request.count;
  const target = request.target ?? prediction.label;
  const x = tensor(request.x, [1, M]);
  const baselines = tensor(request.baseline, [1, M]);
  const start = performance.now();
  let result;
  switch (request.method) {
    case 'integrated-gradients':
      result = await new IntegratedGradients(model).attribute(x, {
        target, baselines, nSteps: count, internalBatchSize: Math.max(1, Math.ceil(count / 10)), returnConvergenceDelta: true, onProgress, signal,
      });
      break;
    case 'kernel-shap':
      result = await new KernelShap(model).attribute(x, { target, baselines, nSamples: count, perturbationsPerEval: Math.max(1, Math.ceil(count / 20)), seed: 0, onProgress, signal });
      break;
    case 'shapley-value-sampling':
      result = await new ShapleyValueSampling(model).attribute(x, { target, baselines, nSamples: count, perturbationsPerEval: M, seed: 0, onProgress, signal });
      break;
    case 'feature-ablation':
      result = await new FeatureAblation(model).attribute(x, { target, baselines, perturbationsPerEval: 3, onProgress, signal });
      break;
    default:
      throw new Error(`unknown method '${String(request.method)}'`);
  }
  const ms = performance.now() - start;
  const both = await logits(model, Float32Array.from([...request.x, ...request.baseline]));
  return {
    result: {
      prediction,
      target,
      attributions: Array.from(toNumbers(result.attributions.data as TensorData)),
      fx: both[target] as number,
      fb: both[2 + target] as number,
      ...(result.delta ? { delta: toNumbers(result.delta.data as TensorData)[0] as number } : {}),
      ms,
    },
  };
});
