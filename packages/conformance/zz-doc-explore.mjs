import * as ort from 'onnxruntime-node';
import { fromOnnx, tensor } from '@attribution/onnx';
import * as L from '@attribution/layer';
import * as N from '@attribution/neuron';
import samples from './fixtures/real/digits_cnn.samples.json' with { type: 'json' };

const base = await fromOnnx(ort, 'fixtures/real/digits_cnn.onnx');
let log = [];
const counted = {
  backend: base.backend, inputNames: base.inputNames,
  forward: (r) => { log.push(`F${r.inputs[0].dims[0]}`); return base.forward(r); },
  gradient: (r) => { log.push(`G${r.inputs[0].dims[0]}`); return base.gradient(r); },
  layers: () => base.layers(),
};
const n = 2;
const x = tensor(Float32Array.from(samples.images.slice(0, n).flat()), [n, 1, 8, 8]);
const layer = '/3/Relu_output_0';
async function run(name, fn) {
  log = [];
  try { const r = await fn(); console.log(name, log.join(' '), r.attributions.dims ?? r.attributions.map((a) => a.dims), r.delta ? Array.from(r.delta.data).map((v) => +v.toFixed(4)) : ''); }
  catch (e) { console.log(name, 'ERR', e.name, e.message); }
}
for (const k of [0, 1]) {
  const t = { target: [0, 1] };
  await run('LA', () => new L.LayerActivation(counted, layer).attribute(x));
  await run('LA[2]', () => new L.LayerActivation(counted, [layer, '/6/Gemm_output_0']).attribute(x));
  await run('LGxA', () => new L.LayerGradientXActivation(counted, layer).attribute(x, t));
  await run('LC', () => new L.LayerConductance(counted, layer).attribute(x, { ...t, nSteps: 10 }));
  await run('LC ibs4', () => new L.LayerConductance(counted, layer).attribute(x, { ...t, nSteps: 10, internalBatchSize: 4 }));
  await run('LC delta', () => new L.LayerConductance(counted, layer).attribute(x, { ...t, nSteps: 10, returnConvergenceDelta: true }));
  await run('II', () => new L.InternalInfluence(counted, layer).attribute(x, { ...t, nSteps: 10 }));
  await run('II ibs4', () => new L.InternalInfluence(counted, layer).attribute(x, { ...t, nSteps: 10, internalBatchSize: 4 }));
  await run('LIG', () => new L.LayerIntegratedGradients(counted, layer).attribute(x, { ...t, nSteps: 10 }));
  await run('LIG ibs4 delta', () => new L.LayerIntegratedGradients(counted, layer).attribute(x, { ...t, nSteps: 10, internalBatchSize: 4, returnConvergenceDelta: true }));
  await run('GC', () => new L.LayerGradCam(counted, layer).attribute(x, t));
  await run('GC ibs1', () => new L.LayerGradCam(counted, layer).attribute(x, { ...t, internalBatchSize: 1 }));
  await run('LDL', () => new L.LayerDeepLift(counted, layer).attribute(x, { ...t, returnConvergenceDelta: true }));
  await run('LDL ibs2', () => new L.LayerDeepLift(counted, layer).attribute(x, { ...t, internalBatchSize: 2 }));
  await run('LFA', () => new L.LayerFeatureAblation(counted, '/7/Relu_output_0').attribute(x, t));
  await run('LFA ppe8', () => new L.LayerFeatureAblation(counted, '/7/Relu_output_0').attribute(x, { ...t, perturbationsPerEval: 8 }));
  await run('LGS', () => new L.LayerGradientShap(counted, layer).attribute(x, { ...t, baselines: tensor(new Float32Array(3 * 64), [3, 1, 8, 8]), seed: 1, returnConvergenceDelta: true }));
  await run('LGS ibs4', () => new L.LayerGradientShap(counted, layer).attribute(x, { ...t, baselines: tensor(new Float32Array(3 * 64), [3, 1, 8, 8]), seed: 1, internalBatchSize: 4 }));
  const ns = { neuronSelector: [3, 2, 2] };
  await run('NG', () => new N.NeuronGradient(counted, layer).attribute(x, ns));
  await run('NIG', () => new N.NeuronIntegratedGradients(counted, layer).attribute(x, { ...ns, nSteps: 10 }));
  await run('NIG ibs4', () => new N.NeuronIntegratedGradients(counted, layer).attribute(x, { ...ns, nSteps: 10, internalBatchSize: 4 }));
  await run('NC', () => new N.NeuronConductance(counted, layer).attribute(x, { ...ns, ...t, nSteps: 10 }));
  await run('NC ibs4', () => new N.NeuronConductance(counted, layer).attribute(x, { ...ns, ...t, nSteps: 10, internalBatchSize: 4 }));
  await run('NDL', () => new N.NeuronDeepLift(counted, layer).attribute(x, ns));
  await run('NFA', () => new N.NeuronFeatureAblation(counted, layer).attribute(x, { ...ns, featureMask: tensor(Int32Array.from({ length: 64 }, (_, i) => Math.floor(i / 16)), [1, 1, 8, 8]) }));
  await run('NGS', () => new N.NeuronGradientShap(counted, layer).attribute(x, { ...ns, baselines: tensor(new Float32Array(3 * 64), [3, 1, 8, 8]), seed: 1 }));
  await run('NGB', () => new N.NeuronGuidedBackprop(counted, layer).attribute(x, ns));
  await run('NDC', () => new N.NeuronDeconvolution(counted, layer).attribute(x, ns));
  console.log('----');
}
base.dispose();
