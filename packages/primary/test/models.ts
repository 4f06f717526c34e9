import * as tf from '@tensorflow/tfjs';

/** Captum's BasicModel2: f(x1, x2) = relu(relu(x1) − 1 − relu(x2)). */
export const basicModel2 = (x1: tf.Tensor, x2: tf.Tensor): tf.Tensor =>
  tf.relu(tf.sub(tf.sub(tf.relu(x1), 1), tf.relu(x2)));

/**
 * Captum's BasicModel_MultiLayer: linear0 (identity), linear1 (ones, bias [-10, 1, 1, 1]), ReLU,
 * linear2 (ones, bias [-1, 1]). Output [N, 2]. An optional tensor `addInput` is added to x first (the
 * adapter's `tap` arrives in that position when no additional argument is given, hence the check).
 */
export function basicModelMultiLayer(): (x: tf.Tensor, addInput?: unknown) => tf.Tensor {
  const w1 = tf.keep(tf.ones([3, 4]));
  const b1 = tf.keep(tf.tensor1d([-10, 1, 1, 1]));
  const w2 = tf.keep(tf.ones([4, 2]));
  const b2 = tf.keep(tf.tensor1d([-1, 1]));
  return (x, addInput) => {
    const input = addInput instanceof tf.Tensor ? tf.add(x, addInput) : x;
    const h = tf.relu(tf.add(tf.matMul(input, w1), b1));
    return tf.add(tf.matMul(h, w2), b2);
  };
}
