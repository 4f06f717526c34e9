import * as ort from 'onnxruntime-node';
import { proto } from '@attribution/onnx-grad';
import { primaryMethods } from '@attribution/primary';
import { layerMethods } from '@attribution/layer';
import { describe, expect, it } from 'vitest';
import { type HostTensor, UnsupportedOperatorError, fromOnnx, tensor } from '../src/index.js';

const { DataType, encodeModel, makeNode, makeTensor, makeValueInfo, onnx } = proto;

// Quantized models as ONNX Runtime's quantization tools write them: perturbation methods run them as they
// are; gradients pass QuantizeLinear → DequantizeLinear pairs straight through; other quantized operators
// are named in the refusal.

const F = 4;
const H = 6;
const C = 3;
const w1 = Array.from({ length: F * H }, (_, i) => ((i * 37) % 17) - 8);
const w2 = Array.from({ length: H * C }, (_, i) => Math.sin(i + 1));
const b1 = Array.from({ length: H }, (_, i) => 0.1 * (i - 2));

/** quantize_dynamic's MatMul: DynamicQuantizeLinear → MatMulInteger → Cast → Mul(scales) → Add(bias), then Relu and a float MatMul. */
function dynamicMlp(): Uint8Array {
  const m = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'dynamic-quantized-mlp',
      node: [
        makeNode('DynamicQuantizeLinear', ['x'], ['xq', 'xs', 'xz'], {}, 'quantize_x'),
        makeNode('MatMulInteger', ['xq', 'w1q', 'xz', 'w1z'], ['acc'], {}, 'matmul_integer'),
        makeNode('Cast', ['acc'], ['accf'], { to: DataType.FLOAT }),
        makeNode('Mul', ['xs', 'w1s'], ['scale']),
        makeNode('Mul', ['accf', 'scale'], ['h0']),
        makeNode('Add', ['h0', 'b1'], ['h1']),
        makeNode('Relu', ['h1'], ['h']),
        makeNode('MatMul', ['h', 'w2'], ['y']),
      ],
      initializer: [
        makeTensor('w1q', DataType.UINT8, [F, H], w1.map((v) => v + 128)),
        makeTensor('w1z', DataType.UINT8, [], [128]),
        makeTensor('w1s', DataType.FLOAT, [], [0.05]),
        makeTensor('b1', DataType.FLOAT, [H], b1),
        makeTensor('w2', DataType.FLOAT, [H, C], w2),
      ],
      input: [makeValueInfo('x', DataType.FLOAT, ['N', F])],
      output: [makeValueInfo('y', DataType.FLOAT, ['N', C])],
    },
  });
  return encodeModel(m as never);
}

/** A QDQ model (quantize_static's format): the activation passes QuantizeLinear → DequantizeLinear before each MatMul. */
function qdqMlp(withQdq: boolean): Uint8Array {
  const q = (name: string, out: string): ReturnType<typeof makeNode>[] =>
    withQdq ? [makeNode('QuantizeLinear', [name, 'as', 'az'], [`${out}_q`]), makeNode('DequantizeLinear', [`${out}_q`, 'as', 'az'], [out])] : [makeNode('Identity', [name], [out])];
  const m = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'qdq-mlp',
      node: [
        ...q('x', 'xd'),
        makeNode('DequantizeLinear', ['w1q', 'w1s', 'w1z'], ['w1']),
        makeNode('MatMul', ['xd', 'w1'], ['h0']),
        makeNode('Add', ['h0', 'b1'], ['h1']),
        makeNode('Relu', ['h1'], ['h']),
        ...q('h', 'hd'),
        makeNode('MatMul', ['hd', 'w2'], ['y']),
      ],
      initializer: [
        makeTensor('w1q', DataType.INT8, [F, H], w1),
        makeTensor('w1z', DataType.INT8, [], [0]),
        makeTensor('w1s', DataType.FLOAT, [], [0.05]),
        makeTensor('as', DataType.FLOAT, [], [0.004]),
        makeTensor('az', DataType.INT8, [], [0]),
        makeTensor('b1', DataType.FLOAT, [H], b1),
        makeTensor('w2', DataType.FLOAT, [H, C], w2),
      ],
      input: [makeValueInfo('x', DataType.FLOAT, ['N', F])],
      output: [makeValueInfo('y', DataType.FLOAT, ['N', C])],
    },
  });
  return encodeModel(m as never);
}

const x = tensor(Float32Array.from([0.3, -0.2, 0.25, 0.1, -0.15, 0.05, 0.2, -0.3]), [2, F]);
const target = [0, 2];

describe('a dynamically quantized model (DynamicQuantizeLinear, MatMulInteger)', () => {
  const perturbation = ['feature-ablation', 'occlusion', 'shapley-values', 'shapley-value-sampling', 'kernel-shap', 'lime', 'feature-permutation'];

  for (const name of perturbation) {
    it(`runs ${name}`, async () => {
      const model = await fromOnnx(ort, dynamicMlp());
      const options: Record<string, unknown> = { target, ...(name === 'occlusion' ? { slidingWindowShapes: [1] } : {}), ...(['kernel-shap', 'lime', 'shapley-value-sampling'].includes(name) ? { nSamples: 40, seed: 1 } : {}) };
      const { attributions } = await primaryMethods[name]!.create(model).attribute([x], options);
      const a = attributions[0] as HostTensor;
      expect(a.dims).toEqual([2, F]);
      expect(Array.from(a.data as Float32Array).every(Number.isFinite)).toBe(true);
      model.dispose();
    });
  }

  it('feature ablation equals the differences of forward passes of the quantized model', async () => {
    const model = await fromOnnx(ort, dynamicMlp());
    const { attributions } = await primaryMethods['feature-ablation']!.create(model).attribute([x], { target });
    const a = attributions[0]!.data as Float32Array;
    const xd = x.data as Float32Array;
    const f = async (v: Float32Array): Promise<Float32Array> => (await model.forward({ inputs: [tensor(v, [2, F])] })).output.data as Float32Array;
    const base = await f(xd);
    for (let j = 0; j < F; j++) {
      const ablated = Float32Array.from(xd);
      ablated[j] = 0;
      ablated[F + j] = 0;
      const out = await f(ablated);
      for (let r = 0; r < 2; r++) expect(a[r * F + j]).toBeCloseTo((base[r * C + target[r]!]! - out[r * C + target[r]!]!), 5);
    }
    model.dispose();
  });

  it('runs layer methods that need only forward passes (activation, feature ablation on a layer)', async () => {
    const model = await fromOnnx(ort, dynamicMlp());
    const act = await layerMethods['layer-activation']!.create(model, 'h').attribute([x], {});
    expect((act.attributions as HostTensor).dims).toEqual([2, H]);
    const lfa = await layerMethods['layer-feature-ablation']!.create(model, 'h').attribute([x], { target });
    expect((lfa.attributions as HostTensor).dims).toEqual([2, H]);
    model.dispose();
  });

  it('gradient methods name the quantized operator they cannot differentiate', async () => {
    const model = await fromOnnx(ort, dynamicMlp());
    const error = await primaryMethods.saliency!.create(model).attribute([x], { target }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnsupportedOperatorError);
    expect((error as Error).message).toMatch(/DynamicQuantizeLinear \(1 node, first 'quantize_x'\)/);
    model.dispose();
  });
});

describe('a QDQ model (QuantizeLinear → DequantizeLinear pairs)', () => {
  it('gradients pass each pair straight through: Saliency equals that of the model without the pairs, up to the rounding of the forward pass', async () => {
    const quantized = await fromOnnx(ort, qdqMlp(true));
    const float = await fromOnnx(ort, qdqMlp(false));
    const saliency = primaryMethods.saliency!;
    const q = (await saliency.create(quantized).attribute([x], { target, abs: false })).attributions[0]!.data as Float32Array;
    const f = (await saliency.create(float).attribute([x], { target, abs: false })).attributions[0]!.data as Float32Array;
    // With the same ReLU pattern the straight-through gradient is exactly the float model's.
    q.forEach((v, i) => expect(v).toBeCloseTo(f[i]!, 5));
    const ig = await primaryMethods['integrated-gradients']!.create(quantized).attribute([x], { target, nSteps: 16 });
    expect(Array.from(ig.attributions[0]!.data as Float32Array).every(Number.isFinite)).toBe(true);
    quantized.dispose();
    float.dispose();
  });
});
