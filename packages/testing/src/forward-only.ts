import { proto } from '@attribution/onnx-grad';

const { DataType, encodeModel, makeNode, makeTensor, makeValueInfo, onnx } = proto;

/** The weights of {@link forwardOnlyModel}: `h = x · W`, W of shape [3, 4]. */
export const FORWARD_ONLY_W = [0.5, -1, 0.25, 0.8, 2, -0.75, 1, 0.3, -0.4, 0.6, 1.2, -0.9];

/**
 * An ONNX model with two operators that have no backward rule, DFT and Det (opset 17):
 * `h = x · W` ([N, 4]), `d = DFT(h)` along the 4 samples (complex, [N, 4, 2]), `y = det` of the two 2×2
 * matrices `[[Re X₀, Im X₀], [Re X₁, Im X₁]]` and `[[Re X₂, Im X₂], [Re X₃, Im X₃]]` ([N, 2]).
 */
export function forwardOnlyModel(): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'forward-only',
      node: [
        makeNode('MatMul', ['x', 'W'], ['h'], {}, 'mm'),
        makeNode('Unsqueeze', ['h', 'last'], ['u'], {}, 'unsqueeze'),
        makeNode('DFT', ['u'], ['d'], { axis: 1 }, 'the_dft'),
        makeNode('Reshape', ['d', 'pairs'], ['m'], {}, 'reshape'),
        makeNode('Det', ['m'], ['y'], {}, 'the_det'),
      ],
      initializer: [makeTensor('W', DataType.FLOAT, [3, 4], FORWARD_ONLY_W), makeTensor('last', DataType.INT64, [1], [2]), makeTensor('pairs', DataType.INT64, [4], [0, 2, 2, 2])],
      input: [makeValueInfo('x', DataType.FLOAT, ['batch', 3])],
      output: [makeValueInfo('y', DataType.FLOAT)],
    },
  });
  return encodeModel(model as never);
}

/** d y[target] / d x for one example of {@link forwardOnlyModel}, computed by hand. */
export function forwardOnlyGradient(x: readonly number[], target: 0 | 1): number[] {
  const w = (i: number, k: number): number => FORWARD_ONLY_W[i * 4 + k] as number;
  const h = [0, 1, 2, 3].map((k) => x.reduce((a, v, i) => a + v * w(i, k), 0)) as [number, number, number, number];
  const [h0, h1, h2, h3] = h;
  // X₀ = Σh (real), X₁ = (h0 − h2) − i(h1 − h3), X₂ = h0 − h1 + h2 − h3 (real), X₃ = (h0 − h2) + i(h1 − h3).
  // y₀ = Re X₀ · Im X₁ − Im X₀ · Re X₁ = Σh · (h3 − h1);  y₁ = Re X₂ · Im X₃ = (h0 − h1 + h2 − h3)(h1 − h3).
  const s = h0 + h1 + h2 + h3;
  const dh =
    target === 0
      ? [h3 - h1, h3 - h1 - s, h3 - h1, h3 - h1 + s]
      : [h1 - h3, -(h1 - h3) + (h0 - h1 + h2 - h3), h1 - h3, -(h1 - h3) - (h0 - h1 + h2 - h3)];
  return [0, 1, 2].map((i) => [0, 1, 2, 3].reduce((a, k) => a + w(i, k) * (dh[k] as number), 0));
}
