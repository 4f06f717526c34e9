import * as tf from '@tensorflow/tfjs';
import { fromTfjs, tfjsBackend } from '@attribution/tfjs';
import * as L from '@attribution/layer';
import * as N from '@attribution/neuron';
await tf.setBackend('cpu');
const show = async (name, p) => { try { const r = await p; const a = r.attributions; console.log(name, Array.isArray(a) ? a.map((t) => [t.shape, Array.from(t.dataSync()).map(v=>+v.toFixed(4))]) : [a.shape, Array.from(a.dataSync()).map(v=>+v.toFixed(4))], r.delta ? Array.from(r.delta.dataSync()).map(v=>+v.toFixed(4)) : ''); } catch (e) { console.log(name, 'ERR', e.constructor.name, e.name, '|', e.message); } };

const w1 = tf.tensor2d([[1, -1, 0.5], [0.5, 2, -1]]); // 2 -> 3
const w2 = tf.tensor2d([[1, 0], [-1, 1], [2, 1]]);    // 3 -> 2
const mlp = (x, tap) => {
  const h = tap('hidden', tf.relu(tf.matMul(x, w1)));
  return tap('logits', tf.matMul(h, w2));
};
const model = fromTfjs(mlp);
console.log('layers before call', await model.layers());
const x = tf.tensor2d([[1, 2], [3, -1]]);
await show('LA', new L.LayerActivation(model, 'hidden').attribute(x));
console.log('layers after call', await model.layers());
await show('unknown', new L.LayerActivation(model, 'hiden').attribute(x));
await show('toInput fn', new L.LayerActivation(model, 'hidden').attribute(x, { attributeToLayerInput: true }));
await show('LIG array', new L.LayerIntegratedGradients(model, ['hidden', 'logits']).attribute(x, { target: 0 }));
await show('LC array', new L.LayerConductance(model, ['hidden']).attribute(x, { target: 0 }));
await show('LC ibs<2N', new L.LayerConductance(model, 'hidden').attribute(x, { target: 0, internalBatchSize: 3 }));
await show('LC ibs=2N', new L.LayerConductance(model, 'hidden').attribute(x, { target: 0, internalBatchSize: 4 }));
await show('LC', new L.LayerConductance(model, 'hidden').attribute(x, { target: 0 }));
await show('LC no target', new L.LayerConductance(model, 'hidden').attribute(x));
await show('LIG ibs<N', new L.LayerIntegratedGradients(model, 'hidden').attribute(x, { target: 0, internalBatchSize: 1 }));
const m4 = tf.ones([1, 1, 2, 2]);
await show('interp bicubic', L.LayerAttribution.interpolate(tfjsBackend, m4, [4, 4], 'bicubic').then((t) => ({ attributions: t })));
await show('interp foo', L.LayerAttribution.interpolate(tfjsBackend, tf.tensor4d([[[[1, 2], [3, 4]]]]), [3, 3], 'foo').then((t) => ({ attributions: t })));
await show('interp bilinear', L.LayerAttribution.interpolate(tfjsBackend, tf.tensor4d([[[[1, 2], [3, 4]]]]), [3, 3], 'bilinear').then((t) => ({ attributions: t })));
await show('interp area', L.LayerAttribution.interpolate(tfjsBackend, tf.tensor4d([[[[1, 2, 3], [4, 5, 6]]]]), [1, 2], 'area').then((t) => ({ attributions: t })));
await show('interp 3d linear', L.LayerAttribution.interpolate(tfjsBackend, tf.tensor3d([[[1, 2, 4]]]), [5], 'linear').then((t) => ({ attributions: t })));
await show('interp 5d', L.LayerAttribution.interpolate(tfjsBackend, tf.ones([1,1,2,2,2]), [4, 4, 4]).then((t) => ({ attributions: t })));
// progress
for (const [name, m] of [['LA', new L.LayerActivation(model, 'hidden')], ['LGxA', new L.LayerGradientXActivation(model, 'hidden')], ['LIG', new L.LayerIntegratedGradients(model, 'hidden')], ['LFA', new L.LayerFeatureAblation(model, 'hidden')], ['GC', new L.LayerGradCam(model, 'hidden')]]) {
  const seen = [];
  const r = await m.attribute(x, { ...(name === 'LA' ? {} : { target: 0 }), onProgress: (p) => seen.push(`${p.done}/${p.total}`) });
  console.log('progress', name, seen.join(' '));
}
for (const [name, m, o] of [['NG', new N.NeuronGradient(model, 'hidden'), {}], ['NIG', new N.NeuronIntegratedGradients(model, 'hidden'), {internalBatchSize: 20}], ['NC', new N.NeuronConductance(model, 'hidden'), { target: 0 }], ['NFA', new N.NeuronFeatureAblation(model, 'hidden'), {}]]) {
  const seen = [];
  await m.attribute(x, { neuronSelector: 1, ...o, onProgress: (p) => seen.push(`${p.done}/${p.total}`) });
  console.log('progress', name, seen.join(' '));
}
const ac = new AbortController(); ac.abort();
await show('abort LA', new L.LayerActivation(model, 'hidden').attribute(x, { signal: ac.signal }));
await show('abort NG', new N.NeuronGradient(model, 'hidden').attribute(x, { neuronSelector: 0, signal: ac.signal }));
// neuron selectors
await show('NG 1', new N.NeuronGradient(model, 'hidden').attribute(x, { neuronSelector: 1 }));
await show('NG [1]', new N.NeuronGradient(model, 'hidden').attribute(x, { neuronSelector: [1] }));
await show('NG -1', new N.NeuronGradient(model, 'hidden').attribute(x, { neuronSelector: -1 }));
await show('NG block', new N.NeuronGradient(model, 'hidden').attribute(x, { neuronSelector: { block: [[0, 2]] } }));
await show('NG fn', new N.NeuronGradient(model, 'hidden').attribute(x, { neuronSelector: (h) => tf.sum(tf.slice(h, [0, 0], [-1, 2]), 1) }));
await show('NG fn scalar', new N.NeuronGradient(model, 'hidden').attribute(x, { neuronSelector: (h) => tf.sum(h) }));
await show('NG 3', new N.NeuronGradient(model, 'hidden').attribute(x, { neuronSelector: 3 }));
await show('NG [0,0]', new N.NeuronGradient(model, 'hidden').attribute(x, { neuronSelector: [0, 0] }));
await show('NG block bad', new N.NeuronGradient(model, 'hidden').attribute(x, { neuronSelector: { block: [[2, 2]] } }));
await show('NG none', new N.NeuronGradient(model, 'hidden').attribute(x, {}));
await show('NG toInput', new N.NeuronGradient(model, 'hidden').attribute(x, { neuronSelector: 0, attributeToNeuronInput: true }));
await show('NC no target', new N.NeuronConductance(model, 'hidden').attribute(x, { neuronSelector: 0 }));
await show('NC target', new N.NeuronConductance(model, 'hidden').attribute(x, { neuronSelector: 0, target: 0 }));
await show('NC fn', new N.NeuronConductance(model, 'hidden').attribute(x, { neuronSelector: (h) => tf.sum(tf.slice(h, [0, 0], [-1, 1]), 1), target: 0 }));
await show('NFA fn', new N.NeuronFeatureAblation(model, 'hidden').attribute(x, { neuronSelector: (h) => tf.sum(tf.slice(h, [0, 0], [-1, 1]), 1) }));
await show('NGB', new N.NeuronGuidedBackprop(model, 'hidden').attribute(x, { neuronSelector: 0 }));
await show('NDC', new N.NeuronDeconvolution(model, 'hidden').attribute(x, { neuronSelector: 0 }));
await show('NDL', new N.NeuronDeepLift(model, 'hidden').attribute(x, { neuronSelector: 0 }));
await show('NIG', new N.NeuronIntegratedGradients(model, 'hidden').attribute(x, { neuronSelector: 0 }));
await show('NGS', new N.NeuronGradientShap(model, 'hidden').attribute(x, { neuronSelector: 0, baselines: tf.zeros([2, 2]), seed: 0 }));
await show('NGS delta', new N.NeuronGradientShap(model, 'hidden').attribute(x, { neuronSelector: 0, baselines: tf.zeros([2, 2]), seed: 0, returnConvergenceDelta: true }));
await show('NG target', new N.NeuronGradient(model, 'hidden').attribute(x, { neuronSelector: 0, target: 0 }));
