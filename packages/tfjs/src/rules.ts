import * as tf from '@tensorflow/tfjs-core';
import type { BackwardRule } from '@attribution/tensor';

/** Captum's threshold below which DeepLift keeps the ordinary gradient. */
const EPSILON = 1e-10;

type Attrs = tf.NamedAttrMap;

/** For a batch of inputs followed by references: `[h₁ − h₂; h₁ − h₂]`. */
function halfDelta(t: tf.Tensor): tf.Tensor {
  const n = (t.shape[0] as number) / 2;
  const d = tf.sub(tf.slice(t, 0, n), tf.slice(t, n, n));
  return tf.concat([d, d], 0);
}

/** `where(|Δx| < ε, ordinary, dy · Δy/Δx)`. */
function rescale(dy: tf.Tensor, x: tf.Tensor, y: tf.Tensor, ordinary: tf.Tensor): tf.Tensor {
  const dx = halfDelta(x);
  return tf.where(tf.less(tf.abs(dx), EPSILON), ordinary, tf.mul(dy, tf.div(halfDelta(y), dx)));
}

/** An elementwise nonlinearity: its forward function and ordinary derivative, given x and y. */
interface Elementwise {
  readonly input: string;
  forward(x: tf.Tensor, attrs: Attrs): tf.Tensor;
  derivative(x: tf.Tensor, y: tf.Tensor, attrs: Attrs): tf.Tensor;
}

const elementwise: Record<string, Elementwise> = {
  Relu: { input: 'x', forward: (x) => tf.relu(x), derivative: (x) => tf.step(x) },
  LeakyRelu: {
    input: 'x',
    forward: (x, a) => tf.leakyRelu(x, a.alpha as number),
    derivative: (x, _y, a) => tf.where(tf.greater(x, 0), tf.onesLike(x), tf.fill(x.shape, a.alpha as number)),
  },
  Sigmoid: { input: 'x', forward: (x) => tf.sigmoid(x), derivative: (_x, y) => tf.mul(y, tf.sub(1, y)) },
  Tanh: { input: 'x', forward: (x) => tf.tanh(x), derivative: (_x, y) => tf.sub(1, tf.square(y)) },
  Elu: { input: 'x', forward: (x) => tf.elu(x), derivative: (x, y) => tf.where(tf.greater(x, 0), tf.onesLike(x), tf.add(y, 1)) },
  Softplus: { input: 'x', forward: (x) => tf.softplus(x), derivative: (x) => tf.sigmoid(x) },
};

function rescaled(kernelName: string, op: Elementwise): tf.GradConfig {
  return {
    kernelName,
    inputsToSave: [op.input],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as [tf.Tensor];
      const g = dy as tf.Tensor;
      return {
        [op.input]: () => {
          const y = op.forward(x, attrs);
          return rescale(g, x, y, tf.mul(g, op.derivative(x, y, attrs)));
        },
      };
    },
  };
}

/** Softmax: rescaled multipliers minus their mean over the whole tensor (Captum's normalisation). */
const rescaledSoftmax: tf.GradConfig = {
  kernelName: 'Softmax',
  inputsToSave: ['logits'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved as [tf.Tensor];
    const g = dy as tf.Tensor;
    return {
      logits: () => {
        const dim = attrs.dim as number;
        const y = tf.softmax(x, dim);
        const gy = tf.mul(g, y);
        const ordinary = tf.sub(gy, tf.mul(tf.sum(gy, dim, true), y));
        const m = rescale(g, x, y, ordinary);
        return tf.sub(m, tf.mean(m));
      },
    };
  },
};

/**
 * MaxPool (Captum's rule): route dy·(ŷ − y′) through the arg-max of each input row and dy·(y − ŷ) through
 * that of each reference row (ŷ = max(y, y′)), add them and divide by Δin; keep the gradient where Δin ≈ 0.
 */
function rescaledMaxPool(original: tf.GradConfig): tf.GradConfig {
  return {
    kernelName: 'MaxPool',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as [tf.Tensor4D];
      const g = dy as tf.Tensor;
      return {
        x: () => {
          const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as tf.MaxPoolAttrs;
          const y = tf.maxPool(x, filterSize, strides, pad as 'valid', dimRoundingMode);
          const route = (v: tf.Tensor): tf.Tensor => (original.gradFunc(v, [x, y], attrs) as { x: () => tf.Tensor }).x();
          const n = (y.shape[0] as number) / 2;
          const [yIn, yRef] = [tf.slice(y, 0, n), tf.slice(y, n, n)];
          const top = tf.maximum(yIn, yRef);
          const routed = route(tf.mul(g, tf.concat([tf.sub(top, yRef), tf.sub(yIn, top)], 0)));
          const both = tf.add(tf.slice(routed, 0, n), tf.slice(routed, n, n));
          const dx = halfDelta(x);
          return tf.where(tf.less(tf.abs(dx), EPSILON), route(g), tf.div(tf.concat([both, both], 0), dx));
        },
      };
    },
  };
}

const guidedRelu: tf.GradConfig = {
  kernelName: 'Relu',
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => ({ x: () => tf.relu(tf.mul(dy as tf.Tensor, tf.step((saved as [tf.Tensor])[0]))) }),
};

const deconvolutionRelu: tf.GradConfig = {
  kernelName: 'Relu',
  gradFunc: (dy) => ({ x: () => tf.relu(dy as tf.Tensor) }),
};

/** The gradient overrides of a backward rule (Captum's supported nonlinearities for DeepLift). */
function overridesFor(rule: BackwardRule): tf.GradConfig[] {
  switch (rule) {
    case 'deeplift': {
      const maxPool = tf.getGradient('MaxPool');
      return [...Object.entries(elementwise).map(([name, op]) => rescaled(name, op)), rescaledSoftmax, ...(maxPool ? [rescaledMaxPool(maxPool)] : [])];
    }
    case 'guided-backprop':
      return [guidedRelu];
    case 'deconvolution':
      return [deconvolutionRelu];
    default:
      return [];
  }
}

/**
 * Runs `fn` with the gradients of nonlinear kernels replaced by those of `rule`, restoring the registered
 * gradients afterwards — also when `fn` throws — so no other call ever sees them.
 */
export function withBackwardRule<R>(rule: BackwardRule | undefined, fn: () => R): R {
  // LRP rewrites the recorded tape's gradients instead (lrp.ts).
  if (typeof rule === 'object') return fn();
  const overrides = overridesFor(rule ?? 'gradient');
  if (overrides.length === 0) return fn();
  const saved = overrides.map((o) => [o.kernelName, tf.getGradient(o.kernelName)] as const);
  for (const o of overrides) tf.registerGradient(o);
  try {
    return fn();
  } finally {
    for (const [name, config] of saved) {
      if (config) tf.registerGradient(config);
      else tf.unregisterGradient(name);
    }
  }
}
