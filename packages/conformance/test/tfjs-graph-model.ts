import * as tf from '@tensorflow/tfjs';

// A small tf.GraphModel built from a hand-written GraphDef, as tfjs-converter writes them for a Keras CNN:
// x [N, 6, 6, 2] → _FusedConv2D (3×3, SAME, BiasAdd, linear; batch norm folded) 'block/conv'
//   → Relu6 'block/relu' → DepthwiseConv2dNative 'block/dw' → Relu 'block/relu2'
//   → Mean over H, W 'pool' → MatMul 'logits/MatMul' → BiasAdd 'logits' ; plus a skip: Mean of x 'skip' added in.

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const ints = (...v: number[]): { list: { i: string[] } } => ({ list: { i: v.map(String) } });
const float = { type: 'DT_FLOAT' };

export interface GraphWeights {
  readonly conv: Float32Array; // [3, 3, 2, 4]
  readonly bias: Float32Array; // [4]
  readonly dw: Float32Array; // [3, 3, 4, 1]
  readonly dense: Float32Array; // [4, 3]
  readonly denseBias: Float32Array; // [3]
  readonly skip: Float32Array; // [2, 3]
}

export function graphWeights(next: () => number): GraphWeights {
  const v = (n: number, s: number): Float32Array => Float32Array.from({ length: n }, () => (next() * 2 - 1) * s);
  return { conv: v(72, 0.6), bias: v(4, 0.2), dw: v(36, 0.6), dense: v(12, 0.8), denseBias: v(3, 0.1), skip: v(6, 0.5) };
}

export async function smallGraphModel(w: GraphWeights): Promise<tf.GraphModel> {
  const node = (name: string, op: string, input: string[], attr: Record<string, unknown> = {}): Record<string, unknown> => ({ name, op, input, attr: { T: float, ...attr } });
  const modelTopology = {
    node: [
      { name: 'x', op: 'Placeholder', attr: { dtype: float, shape: { shape: { dim: [{ size: '-1' }, { size: '6' }, { size: '6' }, { size: '2' }] } } } },
      ...['conv_w', 'conv_b', 'dw_w', 'dense_w', 'dense_b', 'skip_w', 'axes'].map((name) => ({
        name,
        op: 'Const',
        attr: { dtype: name === 'axes' ? { type: 'DT_INT32' } : float, value: { tensor: { dtype: name === 'axes' ? 'DT_INT32' : 'DT_FLOAT' } } },
      })),
      node('block/conv', '_FusedConv2D', ['x', 'conv_w', 'conv_b'], {
        strides: ints(1, 1, 1, 1),
        padding: { s: b64('SAME') },
        data_format: { s: b64('NHWC') },
        dilations: ints(1, 1, 1, 1),
        fused_ops: { list: { s: [b64('BiasAdd')] } },
        num_args: { i: '1' },
        epsilon: { f: 0 },
      }),
      node('block/relu', 'Relu6', ['block/conv']),
      node('block/dw', 'DepthwiseConv2dNative', ['block/relu', 'dw_w'], {
        strides: ints(1, 1, 1, 1),
        padding: { s: b64('SAME') },
        data_format: { s: b64('NHWC') },
        dilations: ints(1, 1, 1, 1),
      }),
      node('block/relu2', 'Relu', ['block/dw']),
      node('pool', 'Mean', ['block/relu2', 'axes'], { Tidx: { type: 'DT_INT32' }, keep_dims: { b: false } }),
      node('skip/mean', 'Mean', ['x', 'axes'], { Tidx: { type: 'DT_INT32' }, keep_dims: { b: false } }),
      node('skip', 'MatMul', ['skip/mean', 'skip_w'], { transpose_a: { b: false }, transpose_b: { b: false } }),
      node('logits/MatMul', 'MatMul', ['pool', 'dense_w'], { transpose_a: { b: false }, transpose_b: { b: false } }),
      node('logits/BiasAdd', 'BiasAdd', ['logits/MatMul', 'dense_b'], { data_format: { s: b64('NHWC') } }),
      node('logits', 'AddV2', ['logits/BiasAdd', 'skip']),
    ],
    versions: { producer: 1 },
  };
  const weights: [string, number[], Float32Array | Int32Array][] = [
    ['conv_w', [3, 3, 2, 4], w.conv],
    ['conv_b', [4], w.bias],
    ['dw_w', [3, 3, 4, 1], w.dw],
    ['dense_w', [4, 3], w.dense],
    ['dense_b', [3], w.denseBias],
    ['skip_w', [2, 3], w.skip],
    ['axes', [2], Int32Array.from([1, 2])],
  ];
  const weightSpecs = weights.map(([name, shape, data]) => ({ name, shape, dtype: data instanceof Int32Array ? ('int32' as const) : ('float32' as const) }));
  const total = weights.reduce((s, [, , d]) => s + d.byteLength, 0);
  const weightData = new ArrayBuffer(total);
  let offset = 0;
  for (const [, , d] of weights) {
    new Uint8Array(weightData, offset, d.byteLength).set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
    offset += d.byteLength;
  }
  return tf.loadGraphModel(tf.io.fromMemory({ modelTopology, weightSpecs, weightData, format: 'graph-model' }));
}

/** The same network as tfjs ops, with the intermediate tensors returned (NHWC). */
export function referenceNetwork(w: GraphWeights): (x: tf.Tensor, delta?: { relu?: tf.Tensor }) => { relu: tf.Tensor; out: tf.Tensor } {
  return (x, delta = {}) => {
    const conv = tf.add(tf.conv2d(x as tf.Tensor4D, tf.tensor4d(w.conv, [3, 3, 2, 4]), 1, 'same'), tf.tensor1d(w.bias));
    let relu = tf.clipByValue(conv, 0, 6);
    if (delta.relu) relu = tf.add(relu, delta.relu);
    const dw = tf.depthwiseConv2d(relu as tf.Tensor4D, tf.tensor4d(w.dw, [3, 3, 4, 1]), 1, 'same');
    const pool = tf.mean(tf.relu(dw), [1, 2]);
    const skip = tf.matMul(tf.mean(x, [1, 2]) as tf.Tensor2D, tf.tensor2d(w.skip, [2, 3]));
    const out = tf.add(tf.add(tf.matMul(pool as tf.Tensor2D, tf.tensor2d(w.dense, [4, 3])), tf.tensor1d(w.denseBias)), skip);
    return { relu, out };
  };
}
