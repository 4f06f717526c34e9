/**
 * @packageDocumentation
 * ONNX Runtime adapter: {@link fromOnnx} loads an ONNX model with your `onnxruntime-node` or
 * `onnxruntime-web`, and computes input gradients by running a backward graph built by
 * `@attribution/onnx-grad` in the same session run. Tensors are host-side typed arrays ({@link HostTensor},
 * or ONNX Runtime's own CPU tensors).
 */
export { OnnxModel, fromOnnx, gradientModelCache, type GradientModelCache, type OnnxInput, type OnnxModelOptions, type OrtModule } from './model.js';
export { hostBackend, isOnnxTensor, type OnnxTensor } from './host-backend.js';
export { HostTensor, type HostType } from './host-tensor.js';
export { loadModelBytes, type ModelSource } from './source.js';
export type { ExternalDataFolder } from './external-data.js';
export { InvalidModelError, UnsupportedOperatorError } from '@attribution/onnx-grad';
export { listLayers, listParameters, lastLayerParameters } from '@attribution/tensor';

import type { TensorData } from '@attribution/tensor';
import { HostTensor } from './host-tensor.js';

/** Creates a host tensor: `tensor(new Float32Array([...]), [1, 5])`; the type follows the array. */
export function tensor(data: TensorData, dims: readonly number[]): HostTensor {
  const type =
    data instanceof Float32Array ? 'float32' : data instanceof Float64Array ? 'float64' : data instanceof Int32Array ? 'int32' : data instanceof BigInt64Array ? 'int64' : 'bool';
  return new HostTensor(data, dims, type);
}
