import * as ort from 'onnxruntime-node';
import { fromOnnx, tensor } from '@attribution/onnx';
import { LayerIntegratedGradients } from '@attribution/layer';
// ids [N, 5] (int64) → embedding [N, 5, 6] → mean → tanh → 2 class scores
const text = await fromOnnx(ort, 'packages/conformance/fixtures/models/text.onnx');
const ids = tensor(BigInt64Array.from([3n, 7n, 1n, 0n, 0n]), [1, 5]);
const padding = tensor(new BigInt64Array(5), [1, 5]); // id 0 at every position
const lig = new LayerIntegratedGradients(text, '/emb/Gather_output_0');
const { attributions, delta } = await lig.attribute(ids, { baselines: padding, target: 1, returnConvergenceDelta: true });
console.log(attributions.dims); // [1, 5, 6]: one vector per token
// One score per token: sum over the embedding dimension.
const perToken = Array.from({ length: 5 }, (_, t) => Array.from(attributions.data).slice(t * 6, t * 6 + 6).reduce((a, v) => a + v, 0));
console.log(perToken.map((v) => v.toFixed(4)));
console.log(delta.data);
text.dispose();
