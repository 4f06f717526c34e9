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

/** Captum's ReLUDeepLiftModel: f(x1, x2) = 2·relu(x1) + x3·relu(x2 − 1.5) with its default x3 = 2. */
export const reluDeepLiftModel = (x1: tf.Tensor, x2: tf.Tensor): tf.Tensor => tf.add(tf.mul(2, tf.relu(x1)), tf.mul(2, tf.relu(tf.sub(x2, 1.5))));

/** Captum's TanhDeepLiftModel: f(x1, x2) = 2·tanh(x1) + 2·tanh(x2 − 1.5). */
export const tanhDeepLiftModel = (x1: tf.Tensor, x2: tf.Tensor): tf.Tensor => tf.add(tf.mul(2, tf.tanh(x1)), tf.mul(2, tf.tanh(tf.sub(x2, 1.5))));

/** Captum's LinearMaxPoolLinearModel: f(x) = max_j x_j, through an identity linear layer and MaxPool1d(4). Output [N, 1]. */
export const linearMaxPoolLinearModel = (x: tf.Tensor): tf.Tensor => {
  const n = x.shape[0] as number;
  const pooled = tf.maxPool(tf.reshape(x, [n, 1, 4, 1]) as tf.Tensor4D, [1, 4], [1, 4], 'valid');
  return tf.reshape(pooled, [n, 1]);
};

/**
 * Captum's BasicModel_ConvNet_One_Conv: conv1 (1→2, 3×3, ones, biases −50, −75), ReLU, flatten (channel-major),
 * fc1 rows [1,1,1,1,1,−1,−1,−1], ReLU. Input [N, 1, 4, 4] (NCHW), optional second input added first.
 */
export function convNetOneConv(): (x: tf.Tensor, x2?: unknown) => tf.Tensor {
  const filter = tf.keep(tf.ones([3, 3, 1, 2]));
  const bias = tf.keep(tf.tensor1d([-50, -75]));
  const fc = tf.keep(tf.transpose(tf.tensor2d(Array.from({ length: 4 }, () => [1, 1, 1, 1, 1, -1, -1, -1]))));
  return (x, x2) => {
    const input = x2 instanceof tf.Tensor ? tf.add(x, x2) : x;
    const nhwc = tf.transpose(input, [0, 2, 3, 1]) as tf.Tensor4D;
    const conv = tf.relu(tf.add(tf.conv2d(nhwc, filter as tf.Tensor4D, 1, 'valid'), bias));
    const flat = tf.reshape(tf.transpose(conv, [0, 3, 1, 2]), [input.shape[0] as number, 8]);
    return tf.relu(tf.matMul(flat, fc));
  };
}
