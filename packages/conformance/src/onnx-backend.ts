import { fromOnnx, hostBackend, tensor, type OnnxModel, type OnnxTensor, type OrtModule } from '@attribution/onnx';
import type { FixtureTensor } from './fixtures.js';
import { fixturePath } from './fixtures.js';
import type { BackendUnderTest } from './harness.js';

/** A fixture tensor as a host tensor for the ONNX backend (int64 stays int64). */
export function onnxTensor(f: FixtureTensor): OnnxTensor {
  if (f.dtype === 'int64') return tensor(BigInt64Array.from(f.data.map((v) => BigInt(v))), f.shape);
  if (f.dtype === 'int32') return tensor(Int32Array.from(f.data), f.shape);
  return tensor(Float32Array.from(f.data), f.shape);
}

/** The conformance models loaded from their ONNX files with the given ONNX Runtime. */
export function onnxUnderTest(ort: OrtModule, name: string): BackendUnderTest<OnnxTensor> {
  const loaded = new Map<string, Promise<OnnxModel>>();
  return {
    name,
    backend: hostBackend,
    model(model) {
      let entry = loaded.get(model);
      if (!entry) {
        entry = fromOnnx(ort, fixturePath(`models/${model}.onnx`));
        loaded.set(model, entry);
      }
      return entry;
    },
    tensor: onnxTensor,
    layerName: (_model, layer) => layer.onnx,
    release: (tensors) => hostBackend.dispose(tensors),
    dispose() {
      for (const m of loaded.values()) void m.then((x) => x.dispose());
      loaded.clear();
    },
  };
}
