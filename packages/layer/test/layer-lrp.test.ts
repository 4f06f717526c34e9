import * as tf from '@tensorflow/tfjs';
import { tapOf } from '@attribution/testing';
import { fromTfjs } from '@attribution/tfjs';
import { ArgumentError, type GradientRequest, type Model } from '@attribution/tensor';
import { describe, expect, it } from 'vitest';
import { LayerLRP, layerMethods } from '../src/index.js';

// Numbers against Captum's LayerLRP run on ONNX models (onnx-grad's lrp.test.ts, conformance cases-lrp.json).
// Here: the request LayerLRP makes and what it does with the backend's normalised relevances.

const W = [
  [1, -2, 0.5],
  [0.25, 1, -1],
];
const model2 = (x: tf.Tensor): tf.Tensor => tf.matMul(x, tf.tensor2d(W), false, true);

/** Relevance 1 at every element of the layer; records the requests. */
function stub(): { model: Model<tf.Tensor>; requests: GradientRequest<tf.Tensor>[] } {
  const inner = fromTfjs(model2);
  const requests: GradientRequest<tf.Tensor>[] = [];
  return {
    requests,
    model: {
      backend: inner.backend,
      forward: (r) => inner.forward(r),
      gradient: async (r) => {
        requests.push(r);
        const out = model2(r.inputs[0] as tf.Tensor);
        return { output: out, gradients: r.wrt.map(() => tf.ones([2, 3])), captured: [] };
      },
    },
  };
}

describe('LayerLRP', () => {
  const x = (): tf.Tensor => tf.tensor2d([
    [1, 2, 3],
    [-1, 0.5, 2],
  ]);

  it('asks for LRP relevance at the layer (output or input side) and scales it by the target output', async () => {
    const { model, requests } = stub();
    const { attributions, delta } = await new LayerLRP(model, 'hidden').attribute(x(), { target: 1, attributeToLayerInput: true, returnConvergenceDelta: true, rules: { hidden: { rule: 'gamma' } } });
    expect(requests[0]?.rule).toEqual({ lrp: { rules: { hidden: { rule: 'gamma' } } } });
    expect(requests[0]?.wrt).toEqual([{ layer: 'hidden', side: 'input' }]);
    const out = [0.25 + 2 - 3, -0.25 + 0.5 - 2];
    const got = Array.from(await (attributions as tf.Tensor).data());
    got.forEach((v, i) => expect(v).toBeCloseTo(out[Math.floor(i / 3)] as number, 5));
    const d = Array.from(await (delta as tf.Tensor).data());
    d.forEach((v, i) => expect(v).toBeCloseTo((out[i] as number) * (1 - 3), 5));
    tf.dispose([attributions as tf.Tensor, delta as tf.Tensor]);
  });

  it('refuses malformed rules; runs on TensorFlow.js (no bias: the relevance at the layer sums to the output)', async () => {
    const { model } = stub();
    await expect(new LayerLRP(model, 'hidden').attribute(x(), { target: 0, rules: { hidden: 3 } as never })).rejects.toThrow(ArgumentError);
    const tapped = fromTfjs((input: tf.Tensor, ...rest: unknown[]) => model2(tapOf(rest)('hidden', tf.relu(input))));
    const { attributions, delta } = await new LayerLRP(tapped, 'hidden').attribute(x(), { target: 0, returnConvergenceDelta: true });
    for (const d of await (delta as tf.Tensor).data()) expect(Math.abs(d)).toBeLessThan(1e-4);
    tf.dispose([attributions as tf.Tensor, delta as tf.Tensor]);
  });

  it('is registered as layer-lrp', () => {
    expect(layerMethods['layer-lrp']?.className).toBe('LayerLRP');
  });
});
