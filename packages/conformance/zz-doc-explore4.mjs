import * as tf from '@tensorflow/tfjs';
import { fromTfjs, tfjsBackend } from '@attribution/tfjs';
import * as L from '@attribution/layer';
import * as N from '@attribution/neuron';
import { GuidedGradCam } from '@attribution/primary';
await tf.setBackend('cpu');
const fmt = (t) => [t.shape, Array.from(t.dataSync()).slice(0, 16).map((v) => +v.toFixed(4))];
const show = async (name, p) => { try { const r = await p; const a = r.attributions; console.log(name, Array.isArray(a) ? a.map(fmt) : fmt(a), r.delta ? Array.from(r.delta.dataSync()).map(v=>+v.toFixed(4)) : ''); } catch (e) { console.log(name, 'ERR', e.constructor.name, '|', e.message); } };
tf.util.seedrandom?.('1');
const net = tf.sequential({ layers: [
  tf.layers.conv2d({ name: 'conv', inputShape: [6, 6, 1], filters: 2, kernelSize: 3, activation: 'relu', kernelInitializer: 'ones' }),
  tf.layers.flatten({ name: 'flat' }),
  tf.layers.dense({ name: 'out', units: 3, kernelInitializer: 'ones' }),
]});
const model = fromTfjs(net);
console.log(await model.layers());
const img = tf.range(0, 36).reshape([1, 6, 6, 1]).div(36);
await show('GC NHWC', new L.LayerGradCam(model, 'conv').attribute(img, { target: 0 }));
await show('LA conv toInput', new L.LayerActivation(model, 'conv').attribute(img, { attributeToLayerInput: true }));
await show('LA args', new L.LayerActivation(model, 'conv').attribute(img, { additionalForwardArgs: [1] }));
await show('LA ref input', new L.LayerActivation(model, { layer: 'out', side: 'input' }).attribute(img));
await show('LA unknown', new L.LayerActivation(model, 'dense').attribute(img));
// multi-output tap
const pair = (x, tap) => {
  const a = tap('split', tf.relu(x), 0);
  const b = tap('split', tf.relu(tf.neg(x)), 1);
  return tf.sum(tf.add(a, tf.mul(2, b)), 1, true);
};
const pm = fromTfjs(pair);
const xx = tf.tensor2d([[1, -2, 3]]);
await show('LA both', new L.LayerActivation(pm, [{ layer: 'split', index: 0 }, { layer: 'split', index: 1 }]).attribute(xx));
await show('LGxA both', new L.LayerGradientXActivation(pm, [{ layer: 'split', index: 0 }, { layer: 'split', index: 1 }]).attribute(xx));
await show('LIG idx1', new L.LayerIntegratedGradients(pm, { layer: 'split', index: 1 }).attribute(xx));
console.log(await pm.layers());
await show('LA split:1 string', new L.LayerActivation(pm, 'split:1').attribute(xx));
// duplicate tap
const dup = (x, tap) => tap('h', tf.relu(tap('h', x)));
await show('dup', new L.LayerActivation(fromTfjs(dup), 'h').attribute(xx));
// untapped model
await show('no taps', new L.LayerActivation(fromTfjs((x) => tf.relu(x)), 'h').attribute(xx));
// NCHW via tap transpose in a function model
const conv = (x, tap) => {
  const y = tf.relu(tf.conv2d(x, tf.ones([3, 3, 1, 2]), 1, 'valid'));
  const nchw = tap('conv', tf.transpose(y, [0, 3, 1, 2]));
  return tf.sum(tf.reshape(nchw, [x.shape[0], -1]), 1, true);
};
const cm = fromTfjs(conv);
await show('GC NCHW via tap', new L.LayerGradCam(cm, 'conv').attribute(img));
await show('GGC NCHW tap', new GuidedGradCam(cm, 'conv').attribute(img));
await show('GGC nchw input', new GuidedGradCam(cm, 'conv').attribute(tf.transpose(img, [0, 3, 1, 2])));
