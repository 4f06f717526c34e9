import * as ort from 'onnxruntime-node';
import { readFile } from 'node:fs/promises';
import { fromOnnx, tensor } from '@attribution/onnx';
import { LayerGradCam } from '@attribution/layer';
// A digits classifier: x [N, 1, 8, 8] → conv, relu, conv, relu (/3/Relu_output_0: [N, 32, 8, 8]), … → 10 scores
const dir = 'packages/conformance/fixtures/real';
const model = await fromOnnx(ort, `${dir}/digits_cnn.onnx`);
const { images, labels } = JSON.parse(await readFile(`${dir}/digits_cnn.samples.json`, 'utf8'));
const x = tensor(Float32Array.from(images.slice(2, 4).flat()), [2, 1, 8, 8]);
const target = labels.slice(2, 4); // [9, 8]: explain each image's own class
const gradCam = new LayerGradCam(model, '/4/MaxPool_output_0');
const { attributions: map } = await gradCam.attribute(x, { target, reluAttributions: true });
console.log(map.dims); // [2, 1, 4, 4]
const up = await gradCam.interpolate(map, [8, 8], 'bilinear');
console.log(up.dims); // [2, 1, 8, 8]
model.dispose();
