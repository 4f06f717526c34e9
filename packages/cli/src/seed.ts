import { proto } from '@attribution/onnx-grad';

/** Captum's seed example: Linear(5, 1) with its published weights, then ReLU. */
export const SEED = {
  weight: [0.1529, -0.2725, -0.1739, 0.3921, 0.2883],
  bias: 0.3977,
  input: [0.7358, 0.1251, 0.8988, 0.3593, 0.5619],
} as const;

/** The seed network as an ONNX model (Gemm + Relu, dynamic batch). */
export function seedModel(): Uint8Array {
  const { onnx, makeNode, makeTensor, makeValueInfo, encodeModel, DataType } = proto;
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: '@attribution/cli',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'seed',
      node: [makeNode('Gemm', ['x', 'weight', 'bias'], ['linear'], { transB: 1 }, 'fc1'), makeNode('Relu', ['linear'], ['output'], {}, 'relu1')],
      initializer: [makeTensor('weight', DataType.FLOAT, [1, 5], SEED.weight), makeTensor('bias', DataType.FLOAT, [1], [SEED.bias])],
      input: [makeValueInfo('x', DataType.FLOAT, ['batch', 5])],
      output: [makeValueInfo('output', DataType.FLOAT, ['batch', 1])],
    },
  });
  return encodeModel(model as never);
}
