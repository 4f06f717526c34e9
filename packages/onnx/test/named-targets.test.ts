import * as ort from 'onnxruntime-node';
import { LayerGradCam } from '@attribution/layer';
import { FeatureAblation, IntegratedGradients } from '@attribution/primary';
import { ArgumentError } from '@attribution/tensor';
import { describe, expect, it } from 'vitest';
import { fromOnnx, hostBackend, tensor, type HostTensor } from '../src/index.js';
import { fixture, json } from './fixtures.js';

// fromOnnx(…, { labels }): targets 'predicted' and class names on the digits CNN (logits [N, 10]) give the
// attributions of the equivalent indices.

const LABELS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];

describe('fromOnnx labels', () => {
  it("exposes model.labels; 'predicted' and names give the attributions of the indices", async () => {
    const model = await fromOnnx(ort, fixture('real/digits_cnn.onnx'), { labels: LABELS });
    try {
      expect(model.labels).toEqual(LABELS);
      const { images } = json<{ images: number[][] }>('real/digits_cnn.samples.json');
      const x = tensor(Float32Array.from(images.slice(0, 3).flat()), [3, 1, 8, 8]);
      const logits = Array.from((await model.forward({ inputs: [x] })).output.data as Float32Array);
      const predicted = [0, 1, 2].map((i) => {
        const row = logits.slice(i * 10, i * 10 + 10);
        return row.indexOf(Math.max(...row));
      });
      const names = predicted.map((k) => LABELS[k] as string);
      const mask = tensor(Int32Array.from({ length: 64 }, (_, i) => (Math.floor(i / 8) < 4 ? 0 : 1) + (i % 8 < 4 ? 0 : 2)), [1, 1, 8, 8]);
      const methods: [string, (target: unknown) => Promise<{ attributions: unknown }>][] = [
        ['IntegratedGradients', (target) => new IntegratedGradients(model).attribute(x, { target: target as never, nSteps: 4 })],
        ['FeatureAblation', (target) => new FeatureAblation(model).attribute(x, { target: target as never, featureMask: mask })],
        ['LayerGradCam', (target) => new LayerGradCam(model, '/3/Relu_output_0').attribute(x, { target: target as never })],
      ];
      const data = async (run: Promise<{ attributions: unknown }>): Promise<number[]> => Array.from(await hostBackend.data((await run).attributions as HostTensor), Number);
      for (const [name, attribute] of methods) {
        const byIndex = await data(attribute(predicted));
        expect(byIndex.length, name).toBeGreaterThan(0);
        expect(byIndex.some((v) => v !== 0), name).toBe(true);
        expect(await data(attribute('predicted')), name).toEqual(byIndex);
        expect(await data(attribute(names)), name).toEqual(byIndex);
        expect(await data(attribute('seven')), name).toEqual(await data(attribute(7)));
      }
    } finally {
      model.dispose();
    }
  });

  it('refuses labels that are not unique non-empty strings', async () => {
    await expect(fromOnnx(ort, fixture('real/digits_cnn.onnx'), { labels: ['a', 'a'] })).rejects.toThrow(ArgumentError);
    await expect(fromOnnx(ort, fixture('real/digits_cnn.onnx'), { labels: 'zero' as never })).rejects.toThrow(/^labels: expected an array of class names/);
  });
});
