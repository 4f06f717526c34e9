import * as tf from '@tensorflow/tfjs';
import { fromTfjs, tfjsBackend } from '@attribution/tfjs';
import type { Model } from '@attribution/tensor';
import { loadGraph, type FixtureTensor } from './fixtures.js';
import type { BackendUnderTest } from './harness.js';
import { buildTfjsModel } from './tfjs-graph.js';

/** A fixture tensor as a tfjs tensor (int64 becomes int32). */
export function tfjsTensor(f: FixtureTensor): tf.Tensor {
  const dtype = f.dtype === 'int64' || f.dtype === 'int32' ? 'int32' : 'float32';
  return tf.tensor([...f.data], [...f.shape], dtype);
}

/**
 * The tap name of a case's layer in the tfjs build: the JSON graph node that computes the ONNX tensor the
 * case names (the case's own `name` is the PyTorch module path, e.g. `hidden1`, which the graph may not use).
 */
export function tfjsLayerName(model: string, layer: { readonly name: string; readonly onnx: string }): string {
  const node = loadGraph(model).nodes.find((n) => n.output === layer.onnx);
  if (!node) throw new Error(`model ${model} has no node computing ${layer.onnx}`);
  return node.name;
}

/** The conformance models built in tfjs from their JSON graphs, on the active tfjs backend. */
export function tfjsUnderTest(): BackendUnderTest<tf.Tensor> & { modelSync(name: string): Model<tf.Tensor> } {
  const built = new Map<string, { model: Model<tf.Tensor>; dispose(): void }>();
  const modelSync = (name: string): Model<tf.Tensor> => {
    let entry = built.get(name);
    if (!entry) {
      const fn = buildTfjsModel(loadGraph(name));
      entry = { model: fromTfjs(fn, { dataFormat: 'channelsFirst' }), dispose: () => fn.dispose() };
      built.set(name, entry);
    }
    return entry.model;
  };
  return {
    get name() {
      return `tfjs-${tf.getBackend()}`;
    },
    backend: tfjsBackend,
    modelSync,
    model: async (name) => modelSync(name),
    tensor: tfjsTensor,
    layerName: tfjsLayerName,
    release: (tensors) => tf.dispose([...tensors]),
    dispose() {
      for (const e of built.values()) e.dispose();
      built.clear();
    },
  };
}
