import * as ort from 'onnxruntime-node';
import { IntegratedGradients, Saliency } from '@attribution/primary';
import { describe, expect, it } from 'vitest';
import { fromOnnx, tensor, type OrtModule } from '../src/index.js';
import { fixture } from './fixtures.js';

// Graphs that compute with their own shapes (a transformer exported with a dynamic batch) get gradient
// models specialised to the input shapes: one per shape, built once and cached — never one per call.

function counting(): { ort: OrtModule; created: () => number } {
  let count = 0;
  const wrapped: OrtModule = {
    Tensor: ort.Tensor,
    InferenceSession: {
      create: async (bytes, options) => {
        count++;
        return typeof bytes === 'string' ? ort.InferenceSession.create(bytes, options) : ort.InferenceSession.create(bytes, options);
      },
    },
  };
  return { ort: wrapped, created: () => count };
}

describe('gradient models of shape-dependent graphs are cached per input shape', () => {
  it('a transformer encoder: one session per batch size, none per call', async () => {
    const { ort: counted, created } = counting();
    const model = await fromOnnx(counted, fixture('architectures/transformer_encoder.opset17.onnx'));
    const input = (n: number) => tensor(Float32Array.from({ length: n * 12 * 16 }, (_, i) => Math.sin(i)), [n, 12, 16]);
    const saliency = new Saliency(model);
    await saliency.attribute(input(2), { target: 0 });
    const afterFirst = created();
    await saliency.attribute(input(2), { target: 1 });
    await saliency.attribute(input(2), { target: [0, 1] });
    expect(created()).toBe(afterFirst);
    await saliency.attribute(input(3), { target: 0 });
    expect(created()).toBe(afterFirst + 1);
    await saliency.attribute(input(2), { target: 0 });
    expect(created()).toBe(afterFirst + 1);
    // IG in chunks of 4 rows (8 steps): every chunk has the same shape.
    const before = created();
    const ig = new IntegratedGradients(model);
    await ig.attribute(input(1), { target: 0, nSteps: 8, internalBatchSize: 4 });
    await ig.attribute(input(1), { target: 1, nSteps: 8, internalBatchSize: 4 });
    expect(created() - before).toBeLessThanOrEqual(1);
    model.dispose();
  });
});
