import * as tf from '@tensorflow/tfjs';
import { fromTfjs } from '@attribution/tfjs';
import { LayerActivation } from '@attribution/layer';
// A layer with two outputs, like Captum's MultiRelu: relu(x) and relu(−x).
const twoOutputs = fromTfjs((x, tap) => {
    const pos = tap('split', tf.relu(x), 0);
    const neg = tap('split', tf.relu(tf.neg(x)), 1);
    return tf.sum(tf.add(pos, tf.mul(2, neg)), 1, true);
});
const refs = [{ layer: 'split', index: 0 }, { layer: 'split', index: 1 }];
const { attributions } = await new LayerActivation(twoOutputs, refs).attribute(tf.tensor2d([[1, -2, 3]]));
const [pos, neg] = attributions;
console.log(await pos.array(), await neg.array()); // [[1, 0, 3]] [[0, 2, 0]]
console.log(await twoOutputs.layers()); // ['split', 'split:1']
