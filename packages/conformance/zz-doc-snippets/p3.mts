import * as tf from '@tensorflow/tfjs';
import { fromTfjs } from '@attribution/tfjs';
import { LayerActivation } from '@attribution/layer';

const net = tf.sequential({
  layers: [
    tf.layers.dense({ name: 'fc1', inputShape: [3], units: 4, activation: 'relu', kernelInitializer: 'ones' }),
    tf.layers.dense({ name: 'fc2', units: 2, kernelInitializer: 'ones' }),
  ],
});
const model = fromTfjs(net);
const x = tf.tensor2d([[1, 2, 3]]);
console.log(await model.layers()); // ['fc1', 'fc2']
const out = await new LayerActivation(model, 'fc2').attribute(x);
const into = await new LayerActivation(model, 'fc2').attribute(x, { attributeToLayerInput: true });
console.log(await out.attributions.array(), await into.attributions.array());
// [[24, 24]] [[6, 6, 6, 6]]

export {};
