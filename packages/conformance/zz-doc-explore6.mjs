import * as ort from 'onnxruntime-node';
import { fromOnnx, tensor } from '@attribution/onnx';
import * as L from '@attribution/layer';
import * as N from '@attribution/neuron';
const mlp = await fromOnnx(ort, 'fixtures/models/mlp.onnx');
const x = tensor(Float32Array.from([0.5, -1, 2, 0, 1, 0.3, 1, 1, -1, 0.2, 0.1, 0]), [2, 6]);
const sel = (t) => { const d = t.data; const per = d.length / t.dims[0]; return tensor(Float32Array.from({ length: t.dims[0] }, (_, i) => d[i * per] + d[i * per + 1]), [t.dims[0]]); };
try { const r = await new N.NeuronFeatureAblation(mlp, '/net/net.3/Relu_output_0').attribute(x, { neuronSelector: sel }); console.log('NFA fn onnx', r.attributions.dims, Array.from(r.attributions.data)); } catch (e) { console.log('NFA fn onnx ERR', e.message); }
try { const r = await new N.NeuronFeatureAblation(mlp, '/net/net.3/Relu_output_0').attribute(x, { neuronSelector: { block: [[0, 2]] } }); console.log('NFA block onnx', Array.from(r.attributions.data)); } catch (e) { console.log('ERR', e.message); }
try { const r = await new L.LayerActivation(mlp, []).attribute(x); console.log('LA []', r.attributions); } catch (e) { console.log('LA [] ERR', e.constructor.name, e.message); }
console.log(await mlp.layers());
for (const m of ['nearest']) {}
