import * as tf from '@tensorflow/tfjs';
import type { Tap } from '@attribution/tfjs';
import type { GraphNode, ModelGraph } from './fixtures.js';

type Op = (node: GraphNode, xs: tf.Tensor[]) => tf.Tensor;

const nums = (v: unknown): number[] => (v as number[]).flat(Infinity as 1) as number[];

/** Weights are created once per model (on first use) and kept alive until the model is disposed. */
function param(cache: Map<string, tf.Tensor>, key: string, make: () => tf.Tensor): tf.Tensor {
  let t = cache.get(key);
  if (!t) {
    t = tf.keep(tf.tidy(make));
    cache.set(key, t);
  }
  return t;
}

function ops(cache: Map<string, tf.Tensor>): Record<string, Op> {
  return {
    linear(node, [x]) {
      const w = node.weight as number[][];
      const out = w.length;
      const inp = (w[0] ?? []).length;
      const wt = param(cache, `${node.name}.w`, () => tf.transpose(tf.tensor2d(nums(w), [out, inp])));
      const flat = tf.reshape(x as tf.Tensor, [-1, inp]);
      let y = tf.matMul(flat, wt);
      if (node.bias) y = tf.add(y, param(cache, `${node.name}.b`, () => tf.tensor1d(nums(node.bias))));
      return tf.reshape(y, [...(x as tf.Tensor).shape.slice(0, -1), out]);
    },
    conv2d(node, [x]) {
      const w = node.weight as number[][][][];
      const [o, i, kh, kw] = [w.length, w[0]!.length, w[0]![0]!.length, w[0]![0]![0]!.length];
      // PyTorch OIHW → tfjs HWIO; the graph stays NCHW, so transpose around the NHWC convolution.
      const filter = param(cache, `${node.name}.w`, () => tf.transpose(tf.tensor4d(nums(w), [o, i, kh, kw]), [2, 3, 1, 0]));
      const [sh, sw] = (node.stride as number[] | undefined) ?? [1, 1];
      const [ph, pw] = (node.padding as number[] | undefined) ?? [0, 0];
      const nhwc = tf.transpose(x as tf.Tensor4D, [0, 2, 3, 1]) as tf.Tensor4D;
      const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [ph!, ph!], [pw!, pw!], [0, 0]];
      let y = tf.conv2d(nhwc, filter as tf.Tensor4D, [sh!, sw!], pad);
      if (node.bias) y = tf.add(y, param(cache, `${node.name}.b`, () => tf.tensor1d(nums(node.bias))));
      return tf.transpose(y, [0, 3, 1, 2]);
    },
    maxpool2d(node, [x]) {
      const [kh, kw] = node.kernel as number[];
      const [sh, sw] = (node.stride as number[] | undefined) ?? [kh!, kw!];
      const nhwc = tf.transpose(x as tf.Tensor4D, [0, 2, 3, 1]) as tf.Tensor4D;
      return tf.transpose(tf.maxPool(nhwc, [kh!, kw!], [sh!, sw!], 'valid'), [0, 3, 1, 2]);
    },
    relu: (_, [x]) => tf.relu(x as tf.Tensor),
    tanh: (_, [x]) => tf.tanh(x as tf.Tensor),
    sigmoid: (_, [x]) => tf.sigmoid(x as tf.Tensor),
    softmax: (node, [x]) => tf.softmax(x as tf.Tensor, (node.axis as number | undefined) ?? -1),
    flatten: (_, [x]) => tf.reshape(x as tf.Tensor, [(x as tf.Tensor).shape[0]!, -1]),
    concat: (node, xs) => tf.concat(xs, node.axis as number),
    mean: (node, [x]) => tf.mean(x as tf.Tensor, node.axis as number),
    embedding(node, [ids]) {
      const w = node.weight as number[][];
      const table = param(cache, `${node.name}.w`, () => tf.tensor2d(nums(w), [w.length, w[0]!.length]));
      return tf.gather(table, tf.cast(ids as tf.Tensor, 'int32'));
    },
  };
}

/**
 * Builds a TensorFlow.js function from a model's JSON graph. The function takes the graph inputs in order,
 * then a `tap`; every node output is tapped under the node's name, so layer methods can name any node.
 * `dispose()` frees the weights; `weights` holds them by `<node>.w` / `<node>.b` once the function has run (tfjs layouts: linear weights transposed to [in, out], convolution filters HWIO).
 */
export function buildTfjsModel(graph: ModelGraph): ((...args: unknown[]) => tf.Tensor) & { dispose(): void; readonly weights: ReadonlyMap<string, tf.Tensor> } {
  const cache = new Map<string, tf.Tensor>();
  const table = ops(cache);
  for (const node of graph.nodes) {
    if (!table[node.op]) throw new Error(`graph ${graph.name}: unsupported op ${node.op}`);
  }
  const fn = (...args: unknown[]): tf.Tensor => {
    const last = args[args.length - 1];
    const tap: Tap = typeof last === 'function' ? (last as Tap) : (_n, t) => t;
    const values = new Map<string, tf.Tensor>();
    graph.inputs.forEach((input, i) => values.set(input.name, args[i] as tf.Tensor));
    for (const node of graph.nodes) {
      const xs = node.inputs.map((name) => values.get(name) as tf.Tensor);
      values.set(node.output, tap(node.name, (table[node.op] as Op)(node, xs)));
    }
    return values.get(graph.output) as tf.Tensor;
  };
  // Create every weight now, so that later calls allocate nothing that outlives them.
  tf.tidy(() => {
    fn(...graph.inputs.map((input) => tf.zeros(input.shape.map((d) => d ?? 1), input.dtype === 'int64' ? 'int32' : 'float32')));
  });
  return Object.assign(fn, { dispose: () => tf.dispose([...cache.values()]), weights: cache as ReadonlyMap<string, tf.Tensor> });
}
