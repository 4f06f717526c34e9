import fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { fromOnnx, HostTensor, type OnnxModel } from '@attribution/onnx';
import { ArgumentError, BackendError, lastLayerParameters, listParameters, type ParameterInfo } from '@attribution/tensor';
import { fromTfjs } from '@attribution/tfjs';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { afterAll, describe, expect, it } from 'vitest';
import { loadGraph } from '../src/fixtures.js';
import { buildTfjsModel } from '../src/tfjs-graph.js';
import { graphWeights, smallGraphModel } from './tfjs-graph-model.js';

// Gradients with respect to model parameters (weights), against PyTorch autograd: fixtures/params/param_grads.json,
// written by fixtures/params/make_param_grads.py (float64 autograd over an ONNX interpreter in torch).

interface Grad {
  shape: number[];
  values?: number[];
  first?: number[];
  sum?: number;
  norm?: number;
}
interface Case {
  file: string;
  inputs: { name: string; dtype: string; shape: number[]; data: number[] }[];
  outputWeights: { shape: number[]; data: number[] };
  output: number[];
  gradients: Record<string, Grad>;
}
const fixture = JSON.parse(fs.readFileSync(new URL('../fixtures/params/param_grads.json', import.meta.url), 'utf8')) as { models: Record<string, Case> };
const path = (rel: string): string => new URL(`../${rel}`, import.meta.url).pathname;

/** |got − want| ≤ tol · max |want| (float32 against float64). */
function expectClose(got: ArrayLike<number>, want: Grad, what: string, tol = 2e-4): void {
  const g = Array.from(got);
  expect(g.length, what).toBe(want.shape.reduce((a, b) => a * b, 1));
  const values = want.values ?? want.first ?? [];
  const scale = Math.max(1e-6, ...values.map(Math.abs));
  values.forEach((v, i) => expect(Math.abs((g[i] as number) - v), `${what}[${i}]: ${g[i]} vs ${v}`).toBeLessThanOrEqual(tol * scale));
  if (want.norm !== undefined) {
    const norm = Math.sqrt(g.reduce((a, b) => a + b * b, 0));
    expect(Math.abs(norm - want.norm) / want.norm, `${what} norm`).toBeLessThan(1e-4);
    expect(Math.abs(g.reduce((a, b) => a + b, 0) - (want.sum as number)), `${what} sum`).toBeLessThanOrEqual(1e-4 * (want.norm as number) * Math.sqrt(g.length));
  }
}

describe.each([
  ['onnxruntime-node', ortNode],
  ['onnxruntime-web', ortWeb as unknown as typeof ortNode],
] as const)('parameter gradients on %s, against PyTorch autograd', (_name, ort) => {
  for (const [name, c] of Object.entries(fixture.models)) {
    it(`${name}: every parameter listed, ${Object.keys(c.gradients).length} gradients equal PyTorch's`, async () => {
      const model: OnnxModel = await fromOnnx(ort, path(c.file));
      const params = await listParameters(model);
      for (const p of Object.keys(c.gradients)) expect(params.map((q) => q.name)).toContain(p);
      const inputs = c.inputs.map((i) => (i.dtype === 'int64' ? new HostTensor(BigInt64Array.from(i.data, BigInt), i.shape, 'int64') : new HostTensor(Float32Array.from(i.data), i.shape, 'float32')));
      const wrt = Object.keys(c.gradients).map((param) => ({ param }));
      const r = await model.gradient({ inputs, outputWeights: new HostTensor(Float32Array.from(c.outputWeights.data), c.outputWeights.shape, 'float32'), wrt });
      expectClose(r.output.data as Float32Array, { shape: [c.output.length], values: c.output }, 'output', 1e-4);
      Object.entries(c.gradients).forEach(([p, want], k) => {
        expect((r.gradients[k] as HostTensor).dims).toEqual(want.shape);
        expectClose((r.gradients[k] as HostTensor).data as Float32Array, want, `${name} ${p}`);
      });
      model.dispose();
    });
  }

  it('lists parameters in graph order with their layer; the last layer is the classifier; bad names are refused', async () => {
    const model = await fromOnnx(ort, path('fixtures/real/digits_cnn.onnx'));
    const params = await model.parameters();
    expect(params.map((p) => p.name)).toEqual(['0.weight', '0.bias', '2.weight', '2.bias', '6.weight', '6.bias', '8.weight', '8.bias']);
    expect(params[0]).toEqual({ name: '0.weight', shape: [16, 1, 3, 3], layer: '/0/Conv' });
    expect((await lastLayerParameters(model)).map((p: ParameterInfo) => p.name)).toEqual(['8.weight', '8.bias']);
    const x = new HostTensor(new Float32Array(64).fill(0.5), [1, 1, 8, 8], 'float32');
    const w = new HostTensor(Float32Array.from({ length: 10 }, (_, i) => (i === 3 ? 1 : 0)), [1, 10], 'float32');
    await expect(model.gradient({ inputs: [x], outputWeights: w, wrt: [{ param: '8.wieght' }] })).rejects.toThrow(ArgumentError);
    await expect(model.gradient({ inputs: [x], outputWeights: w, wrt: [{ param: '8.wieght' }] })).rejects.toThrow(/params: expected floating-point initializers \(weights\) of the model \(8 of them: '0.weight'/);
    await expect(model.gradient({ inputs: [x], outputWeights: w, wrt: [{ param: '8.weight' }], rule: 'deeplift' })).rejects.toThrow(BackendError);
    // The input and a parameter together; the last layer's bias gradient is Σ_batch w.
    const r = await model.gradient({ inputs: [x], outputWeights: w, wrt: [{ input: 0 }, { param: '8.bias' }] });
    expect((r.gradients[0] as HostTensor).dims).toEqual([1, 1, 8, 8]);
    expect(Array.from((r.gradients[1] as HostTensor).data as Float32Array)).toEqual(Array.from(w.data as Float32Array));
    model.dispose();
    const fd = await fromOnnx(ort, path('fixtures/real/digits_cnn.onnx'), { gradient: 'finite-difference' });
    await expect(fd.gradient({ inputs: [x], outputWeights: w, wrt: [{ param: '8.bias' }] })).rejects.toThrow(/need the gradient graph/);
    fd.dispose();
  });
});

/** The ONNX gradient in the layout of the tfjs JSON-graph build: linear weights [in, out], conv filters HWIO. */
function toTfjsLayout(g: Grad, kind: 'linear' | 'conv2d' | 'other'): Grad {
  const values = g.values as number[];
  if (kind === 'other' || g.shape.length < 2) return g;
  const t = tf.tensor(values, g.shape);
  const moved = kind === 'linear' ? tf.transpose(t) : tf.transpose(t, [2, 3, 1, 0]);
  const out = { shape: moved.shape, values: Array.from(moved.dataSync()) };
  tf.dispose([t, moved]);
  return out;
}

describe('parameter gradients on TensorFlow.js', () => {
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  for (const backend of ['cpu', 'wasm'] as const) {
    it(`function models with declared parameters equal PyTorch's (tfjs-${backend})`, async () => {
      await tf.setBackend(backend);
      for (const name of ['cnn', 'mlp', 'two_input', 'text']) {
        const c = fixture.models[name] as Case;
        const graph = loadGraph(name);
        const fn = buildTfjsModel(graph);
        const inputs = c.inputs.map((i) => tf.tensor(i.data, i.shape, i.dtype === 'int64' ? 'int32' : 'float32'));
        tf.dispose(fn(...inputs)); // creates the weights
        const before = tf.memory().numTensors;
        const model = fromTfjs(fn, { dataFormat: 'channelsFirst', parameters: Object.fromEntries(fn.weights) });
        const listed = await model.parameters();
        expect(listed.map((p) => p.name).sort()).toEqual([...fn.weights.keys()].sort());
        // ONNX initializer `<node>.weight` / `.bias` is the JSON graph's node `<node>` weight `.w` / `.b`.
        const pairs = Object.keys(c.gradients).map((onnxName) => {
          const node = graph.nodes.find((n) => onnxName.startsWith(`${n.name}.`)) ?? graph.nodes.find((n) => n.op === 'embedding');
          if (!node) throw new Error(`no node for ${onnxName}`);
          const suffix = onnxName.endsWith('.bias') ? 'b' : 'w';
          return { onnxName, tfName: `${node.name}.${suffix}`, kind: (suffix === 'w' && (node.op === 'linear' || node.op === 'conv2d') ? node.op : 'other') as 'linear' | 'conv2d' | 'other' };
        });
        const w = tf.tensor(c.outputWeights.data, c.outputWeights.shape);
        const r = await model.gradient({ inputs, outputWeights: w, wrt: pairs.map((p) => ({ param: p.tfName })) });
        for (const [k, p] of pairs.entries()) {
          expectClose(await (r.gradients[k] as tf.Tensor).data(), toTfjsLayout(c.gradients[p.onnxName] as Grad, p.kind), `${name} ${p.tfName}`, 5e-4);
        }
        tf.dispose([r.output, ...r.gradients, ...r.captured, w]);
        expect(tf.memory().numTensors).toBe(before);
        tf.dispose(inputs);
        fn.dispose();
      }
    });
  }

  it('a LayersModel names its trainable weights <layer>/<weight>; gradients equal tf.grad of the same sum', async () => {
    const net = tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [4], units: 5, activation: 'tanh', name: 'pg_hidden', kernelInitializer: tf.initializers.glorotNormal({ seed: 1 }), biasInitializer: tf.initializers.randomNormal({ seed: 2 }) }),
        tf.layers.batchNormalization({ name: 'pg_bn' }),
        tf.layers.dense({ units: 3, name: 'pg_out', kernelInitializer: tf.initializers.glorotNormal({ seed: 3 }) }),
      ],
    });
    const model = fromTfjs(net);
    const params = await model.parameters();
    expect(params.map((p) => p.name)).toEqual(['pg_hidden/kernel', 'pg_hidden/bias', 'pg_bn/gamma', 'pg_bn/beta', 'pg_out/kernel', 'pg_out/bias']);
    expect(params[0]).toEqual({ name: 'pg_hidden/kernel', shape: [4, 5], layer: 'pg_hidden' });
    expect((await lastLayerParameters(model)).map((p) => p.name)).toEqual(['pg_out/kernel', 'pg_out/bias']);
    const x = tf.randomNormal([6, 4], 0, 1, 'float32', 7);
    const w = tf.randomNormal([6, 3], 0, 1, 'float32', 8);
    const r = await model.gradient({ inputs: [x], outputWeights: w, wrt: params.map((p) => ({ param: p.name })) });
    const vars = net.trainableWeights.map((v) => v.read() as tf.Variable);
    const want = tf.variableGrads(() => tf.sum(tf.mul(net.predict(x) as tf.Tensor, w)) as tf.Scalar, vars);
    for (const [k, v] of vars.entries()) {
      const diff = tf.max(tf.abs(tf.sub(r.gradients[k] as tf.Tensor, want.grads[v.name] as tf.Tensor)));
      expect((await diff.data())[0], params[k]?.name).toBeLessThan(1e-5);
      diff.dispose();
    }
    await expect(model.gradient({ inputs: [x], outputWeights: w, wrt: [{ param: 'pg_hiden/kernel' }] })).rejects.toThrow(/wrt: expected one of the model's parameters.*'pg_hidden\/kernel'/);
    await expect(model.gradient({ inputs: [x], outputWeights: w, wrt: [{ param: 'pg_out/bias' }], rule: 'guided-backprop' })).rejects.toThrow(BackendError);
    expect(() => fromTfjs(net, { parameters: {} })).toThrow(/parameters: expected no parameters option for a tf.LayersModel/);
    tf.dispose([x, w, r.output, ...r.gradients, ...Object.values(want.grads), want.value]);
    net.dispose();
  });

  for (const backend of ['cpu', 'wasm'] as const) it(`a GraphModel names its weights by node; gradients equal tf.grad of the same network (tfjs-${backend})`, async () => {
    await tf.setBackend(backend);
    let seed = 3;
    const gw = graphWeights(() => ((seed = (seed * 16807) % 2147483647) / 2147483647));
    const graph = await smallGraphModel(gw);
    const model = fromTfjs(graph);
    const params = await model.parameters();
    expect(params.map((p) => p.name)).toEqual(['conv_w', 'conv_b', 'dw_w', 'skip_w', 'dense_w', 'dense_b']);
    expect(params.find((p) => p.name === 'conv_w')).toEqual({ name: 'conv_w', shape: [3, 3, 2, 4], layer: 'block/conv' });
    const x = tf.randomNormal([2, 6, 6, 2], 0, 1, 'float32', 11);
    const w = tf.randomNormal([2, 3], 0, 1, 'float32', 12);
    const r = await model.gradient({ inputs: [x], outputWeights: w, wrt: [{ param: 'conv_w' }, { param: 'dw_w' }, { param: 'dense_b' }] });
    // The same network written with tfjs ops, differentiated by tfjs with respect to the two weights.
    const net = (conv: tf.Tensor, depthwise: tf.Tensor, denseBias: tf.Tensor): tf.Tensor => {
      const c = tf.add(tf.conv2d(x as tf.Tensor4D, conv as tf.Tensor4D, 1, 'same'), tf.tensor1d(gw.bias));
      const dw = tf.depthwiseConv2d(tf.clipByValue(c, 0, 6) as tf.Tensor4D, depthwise as tf.Tensor4D, 1, 'same');
      const pool = tf.mean(tf.relu(dw), [1, 2]) as tf.Tensor2D;
      const skip = tf.matMul(tf.mean(x, [1, 2]) as tf.Tensor2D, tf.tensor2d(gw.skip, [2, 3]));
      return tf.sum(tf.mul(tf.add(tf.add(tf.matMul(pool, tf.tensor2d(gw.dense, [4, 3])), denseBias), skip), w));
    };
    await tf.setBackend('cpu'); // the reference: tfjs-cpu has every gradient kernel
    const [gConv, gDw, gBias] = tf.grads(net)([tf.tensor4d(gw.conv, [3, 3, 2, 4]), tf.tensor4d(gw.dw, [3, 3, 4, 1]), tf.tensor1d(gw.denseBias)]);
    for (const [k, g] of [gConv, gDw, gBias].entries()) {
      const diff = tf.max(tf.abs(tf.sub(r.gradients[k] as tf.Tensor, g as tf.Tensor)));
      const scale = tf.max(tf.abs(g as tf.Tensor));
      expect((await diff.data())[0]).toBeLessThan(1e-4 * Math.max(1, (await scale.data())[0] as number));
      tf.dispose([diff, scale]);
    }
    tf.dispose([x, w, r.output, ...r.gradients, gConv, gDw, gBias]);
    graph.dispose();
  });
});
