// The Node side of a fresh project that installed the packed tarballs: Integrated Gradients on an ONNX model
// (onnxruntime-node and onnxruntime-web, model read from a path by the package's Node file access) and on a
// TensorFlow.js function model, and LLMAttribution on a model folder. Compiled with skipLibCheck false, then run.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { fromOnnx, tensor, type OrtModule } from '@attribution/onnx';
import { FeatureAblation, IntegratedGradients } from '@attribution/primary';
import { LLMAttribution, TextTokenInput, loadTextModel } from '@attribution/text';
import { fromTfjs } from '@attribution/tfjs';

const here = (file: string): string => fileURLToPath(new URL(`../${file}`, import.meta.url));

async function onnxIG(name: string, ort: OrtModule): Promise<number[]> {
  const model = await fromOnnx(ort, here('public/breast_cancer.onnx'));
  try {
    const x = tensor(Float32Array.from({ length: 30 }, (_, i) => Math.sin(i + 1)), [1, 30]);
    const { attributions, delta } = await new IntegratedGradients(model).attribute(x, { baselines: 0, target: 1, nSteps: 64, returnConvergenceDelta: true });
    const values = Array.from(await model.backend.data(attributions), Number);
    const gap = Math.abs(Number((await model.backend.data(delta!))[0]));
    assert.equal(values.length, 30);
    assert.ok(values.every(Number.isFinite), `${name}: finite attributions`);
    assert.ok(gap < 1e-2, `${name}: convergence delta ${gap}`);
    console.log(`onnx IG on ${name}: sum ${values.reduce((a, b) => a + b, 0).toFixed(5)}, delta ${gap.toExponential(2)}`);
    return values;
  } finally {
    model.dispose();
  }
}

const onNode = await onnxIG('onnxruntime-node', ortNode);
const onWeb = await onnxIG('onnxruntime-web', ortWeb);
onNode.forEach((v, i) => assert.ok(Math.abs(v - onWeb[i]!) < 1e-4, `node and web agree at ${i}`));

// A TensorFlow.js function model: f(x) = Σ x², whose Integrated Gradients from 0 are exactly x².
tf.enableProdMode(); // no "install tfjs-node" banner: the cpu backend is what this check wants
await tf.setBackend('cpu');
const f = fromTfjs((x: tf.Tensor) => tf.sum(tf.mul(x, x), 1));
const x = tf.tensor2d([[0.5, -1, 2]]);
const { attributions } = await new IntegratedGradients(f).attribute(x, { baselines: 0, nSteps: 20, method: 'gausslegendre' });
const got = Array.from(await (attributions as tf.Tensor).data());
[0.25, 1, 4].forEach((want, i) => assert.ok(Math.abs(got[i]! - want) < 1e-4, `tfjs IG ${got.join(', ')}`));
tf.dispose([x, attributions as tf.Tensor]);
console.log(`tfjs IG: ${got.map((v) => v.toFixed(4)).join(', ')}`);

// A language model folder read from disk.
const { tokenizer, lm, dispose } = await loadTextModel(ortNode, here('public/tiny-gpt'), { modelFile: 'model' });
try {
  const inp = new TextTokenInput('the capital of france is', tokenizer, { skipTokens: ['[BOS]'] });
  const r = await new LLMAttribution(FeatureAblation, lm, tokenizer).attribute(inp, 'paris', { skipTokens: ['[BOS]'] });
  assert.deepEqual(r.inputTokens, ['the', 'capital', 'of', 'france', 'is']);
  console.log(`text FeatureAblation: ${r.seqAttr.map((v) => v.toFixed(4)).join(', ')}`);
} finally {
  dispose();
}
console.log('node consumer: ok');
