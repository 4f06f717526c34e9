import * as tf from '@tensorflow/tfjs';
import { fromTfjs, tfjsBackend } from '@attribution/tfjs';
import type { Model } from '@attribution/tensor';
import { loadGraph, type ConformanceCase, type FixtureTensor } from './fixtures.js';
import { checkCase, runners, type CaseResult } from './harness.js';
import { buildTfjsModel } from './tfjs-graph.js';

/** A fixture tensor as a tfjs tensor (int64 becomes int32). */
export function tfjsTensor(f: FixtureTensor): tf.Tensor {
  const dtype = f.dtype === 'int64' || f.dtype === 'int32' ? 'int32' : 'float32';
  return tf.tensor([...f.data], [...f.shape], dtype);
}

/** The conformance models built in tfjs from their JSON graphs, created once each. */
export class TfjsModels {
  private readonly built = new Map<string, { model: Model<tf.Tensor>; dispose(): void }>();

  get(name: string): Model<tf.Tensor> {
    let entry = this.built.get(name);
    if (!entry) {
      const fn = buildTfjsModel(loadGraph(name));
      entry = { model: fromTfjs(fn), dispose: () => fn.dispose() };
      this.built.set(name, entry);
    }
    return entry.model;
  }

  dispose(): void {
    for (const e of this.built.values()) e.dispose();
    this.built.clear();
  }
}

/** Runs one case on the active tfjs backend, freeing every tensor it made. */
export async function runTfjsCase(c: ConformanceCase, models: TfjsModels): Promise<CaseResult> {
  const owned: tf.Tensor[] = [];
  const tensor = (f: FixtureTensor): tf.Tensor => {
    const t = tfjsTensor(f);
    owned.push(t);
    return t;
  };
  try {
    const inputs = c.inputs.map(tensor);
    return await checkCase(c, runners[c.method], { model: models.get(c.model), backend: tfjsBackend, inputs, tensor });
  } finally {
    tf.dispose(owned);
  }
}
