import * as ort from 'onnxruntime-node';
import { fromOnnx, tensor } from '@attribution/onnx';
import { LayerActivation } from '@attribution/layer';

const model = await fromOnnx(ort, 'packages/conformance/fixtures/real/digits_cnn.onnx');
console.log(await model.layers()); // ['/0/Conv_output_0', '/1/Relu_output_0', …, 'logits']

const x = tensor(new Float32Array(2 * 64).fill(0.5), [2, 1, 8, 8]);
const byTensor = await new LayerActivation(model, '/7/Relu_output_0').attribute(x);
const byNode = await new LayerActivation(model, '/7/Relu').attribute(x);
const before = await new LayerActivation(model, { layer: '/7/Relu', side: 'input' }).attribute(x);
console.log(byTensor.attributions.dims, byNode.attributions.dims, before.attributions.dims);
// [2, 64] [2, 64] [2, 64]
model.dispose();

export {};
