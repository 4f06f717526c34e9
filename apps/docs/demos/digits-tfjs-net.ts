/**
 * The digits CNN of `digits_cnn.onnx` as a TensorFlow.js function model, with the weights read from the same
 * ONNX file (its initializers, decoded by @attribution/onnx-grad's parser). It takes and returns what the ONNX
 * model does — images [N, 1, 8, 8] (NCHW) → logits [N, 10] — and taps the second ReLU and the max-pool under
 * their ONNX names, as [N, C, H, W], so that Grad-CAM's layer names and layout are the same on both backends.
 */
import * as tf from '@tensorflow/tfjs';
import { Graph } from '@attribution/onnx-grad';
import type { Tap } from '@attribution/tfjs';

/** The initializer `name` of the ONNX model as a tfjs tensor of its shape. */
function weight(graph: Graph, name: string): tf.Tensor {
  const init = graph.initializers.get(name);
  const values = graph.constant(name);
  if (!init || !values) throw new Error(`digits_cnn.onnx has no initializer '${name}'`);
  return tf.tensor(values, init.dims.map(Number), 'float32');
}

/** Builds `(images, tap) => logits` from the ONNX model's bytes. */
export function digitsNet(bytes: Uint8Array): (images: tf.Tensor, tap: Tap) => tf.Tensor {
  const graph = new Graph(bytes);
  // ONNX Conv weights are [out, in, kh, kw]; tf.conv2d wants [kh, kw, in, out].
  const convWeight = (name: string): tf.Tensor4D => tf.tidy(() => tf.transpose(weight(graph, name), [2, 3, 1, 0]) as tf.Tensor4D);
  const w0 = convWeight('0.weight');
  const b0 = weight(graph, '0.bias');
  const w2 = convWeight('2.weight');
  const b2 = weight(graph, '2.bias');
  const w6 = weight(graph, '6.weight'); // Gemm with transB: [out, in]
  const b6 = weight(graph, '6.bias');
  const w8 = weight(graph, '8.weight');
  const b8 = weight(graph, '8.bias');

  return (images: tf.Tensor, tap: Tap): tf.Tensor => {
    const n = images.shape[0] as number;
    const nhwc = tf.transpose(images, [0, 2, 3, 1]) as tf.Tensor4D;
    const h1 = tf.relu(tf.add(tf.conv2d(nhwc, w0, 1, 'same'), b0)) as tf.Tensor4D; // /1/Relu (3×3, pads 1)
    const h2 = tf.relu(tf.add(tf.conv2d(h1, w2, 1, 'same'), b2)); // /3/Relu
    const h2nchw = tap('/3/Relu_output_0', tf.transpose(h2, [0, 3, 1, 2])); // the layer as ONNX has it
    const pooled = tf.maxPool(tf.transpose(h2nchw, [0, 2, 3, 1]) as tf.Tensor4D, 2, 2, 'valid'); // /4/MaxPool
    const pooledNchw = tap('/4/MaxPool_output_0', tf.transpose(pooled, [0, 3, 1, 2]));
    const flat = tf.reshape(pooledNchw, [n, 512]); // /5/Flatten, in C, H, W order
    const h7 = tf.relu(tf.add(tf.matMul(flat, w6, false, true), b6)); // /6/Gemm, /7/Relu
    return tf.add(tf.matMul(h7, w8, false, true), b8); // logits
  };
}
