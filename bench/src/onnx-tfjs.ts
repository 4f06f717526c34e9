import * as tf from '@tensorflow/tfjs';
import { Graph, proto } from '@attribution/onnx-grad';

/**
 * Builds a TensorFlow.js function model from an ONNX CNN made of Conv (incl. depthwise), Clip, Relu, Add,
 * GlobalAveragePool, Flatten, Gemm, Identity and Constant — the operator set of torchvision's MobileNetV2 — so
 * the benchmark can run the same network on tfjs. Activations are kept NHWC inside; the input is NCHW as in ONNX.
 */
export function onnxToTfjs(bytes: Uint8Array): { fn: (x: tf.Tensor) => tf.Tensor; dispose(): void } {
  const graph = new Graph(bytes);
  const weights = new Map<string, tf.Tensor>();
  const constant = (name: string): tf.Tensor => {
    let t = weights.get(name);
    if (!t) {
      const producer = graph.producers.get(name);
      if (producer?.opType === 'Identity') return constant(producer.input[0] as string);
      const init = graph.initializers.get(name) ?? constantNode(graph, name);
      t = tf.keep(tf.tensor(proto.tensorValues(init), init.dims.map((d) => proto.toNumber(d)), 'float32'));
      weights.set(name, t);
    }
    return t;
  };
  // Filters in tfjs layout, prepared once.
  const filters = new Map<string, tf.Tensor>();
  const filter = (name: string, depthwise: boolean): tf.Tensor => {
    const key = `${name}|${depthwise}`;
    let f = filters.get(key);
    if (!f) {
      const w = constant(name); // [out, in/groups, kh, kw]
      f = tf.keep(depthwise ? tf.transpose(w, [2, 3, 0, 1]) : tf.transpose(w, [2, 3, 1, 0])); // [kh, kw, C, 1] or [kh, kw, in, out]
      filters.set(key, f);
    }
    return f;
  };
  const input = graph.inputs[0]?.name as string;
  const output = graph.graph.output[0]?.name as string;
  const fn = (x: tf.Tensor): tf.Tensor =>
    tf.tidy(() => {
      const values = new Map<string, tf.Tensor>([[input, tf.transpose(x, [0, 2, 3, 1])]]);
      const get = (name: string): tf.Tensor => values.get(name) ?? constant(name);
      for (const node of graph.graph.node) {
        const [a, b, c] = node.input;
        let out: tf.Tensor;
        switch (node.opType) {
          case 'Constant':
            continue;
          case 'Identity':
            if (!values.has(a as string)) continue; // an alias of a weight
            out = get(a as string);
            break;
          case 'Conv': {
            const group = proto.attrInt(node, 'group', 1);
            const strides = proto.attrInts(node, 'strides', [1, 1]) as number[];
            const pads = proto.attrInts(node, 'pads', [0, 0, 0, 0]) as number[];
            const padding: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [pads[0] as number, pads[2] as number], [pads[1] as number, pads[3] as number], [0, 0]];
            const xin = get(a as string) as tf.Tensor4D;
            const depthwise = group > 1;
            if (depthwise && group !== xin.shape[3]) throw new Error('grouped convolutions other than depthwise are not supported');
            const conv = depthwise
              ? tf.depthwiseConv2d(xin, filter(b as string, true) as tf.Tensor4D, strides as [number, number], padding)
              : tf.conv2d(xin, filter(b as string, false) as tf.Tensor4D, strides as [number, number], padding);
            out = c ? tf.add(conv, constant(c)) : conv;
            break;
          }
          case 'Clip': {
            const lo = node.input[1] ? (constant(node.input[1]).dataSync()[0] as number) : -Infinity;
            const hi = node.input[2] ? (constant(node.input[2]).dataSync()[0] as number) : Infinity;
            out = tf.clipByValue(get(a as string), lo, hi);
            break;
          }
          case 'Relu':
            out = tf.relu(get(a as string));
            break;
          case 'Add':
            out = tf.add(get(a as string), get(b as string));
            break;
          case 'GlobalAveragePool':
            out = tf.mean(get(a as string), [1, 2], true);
            break;
          case 'Flatten':
            out = tf.reshape(get(a as string), [get(a as string).shape[0] as number, -1]);
            break;
          case 'Gemm': {
            const transB = proto.attrInt(node, 'transB', 0);
            const w = transB ? tf.transpose(constant(b as string)) : constant(b as string);
            out = tf.add(tf.matMul(get(a as string) as tf.Tensor2D, w as tf.Tensor2D), constant(c as string));
            break;
          }
          default:
            throw new Error(`operator ${node.opType} is not supported by the benchmark's converter`);
        }
        values.set(node.output[0] as string, out);
      }
      return get(output);
    });
  return { fn, dispose: () => tf.dispose([...weights.values(), ...filters.values()]) };
}

function constantNode(graph: Graph, name: string): proto.TensorProto {
  const node = graph.producers.get(name);
  const t = node && proto.attribute(node, 'value')?.t;
  if (!t) throw new Error(`no constant ${name}`);
  return t as proto.TensorProto;
}
