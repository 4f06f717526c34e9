import * as tf from '@tensorflow/tfjs';
import { fromTfjs } from '@attribution/tfjs';
import { LayerGradCam } from '@attribution/layer';
const filters = tf.randomNormal([3, 3, 1, 4], 0, 1, 'float32', 1);
const dense = tf.randomNormal([4 * 4 * 4, 10], 0, 1, 'float32', 2);
const cnn = (images, tap) => {
    const conv = tf.relu(tf.conv2d(images, filters, 1, 'valid')); // [N, 4, 4, 4], NHWC
    const nchw = tap('conv', tf.transpose(conv, [0, 3, 1, 2])); // the layer as [N, C, H, W]
    const next = tf.transpose(nchw, [0, 2, 3, 1]); // back to NHWC
    return tf.matMul(tf.reshape(next, [images.shape[0], -1]), dense);
};
const images = tf.randomUniform([2, 6, 6, 1], 0, 1, 'float32', 3);
const { attributions } = await new LayerGradCam(fromTfjs(cnn), 'conv').attribute(images, { target: 0 });
console.log(attributions.shape); // [2, 1, 4, 4]
