import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { LayerActivation, LayerGradCam, LayerIntegratedGradients, LayerAttribution } from '@attribution/layer';
import { GuidedGradCam, LRP, Saliency } from '@attribution/primary';
import { NeuronGradient } from '@attribution/neuron';
import { ArgumentError, createRandom, listLayers, ModelError } from '@attribution/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromTfjs } from '@attribution/tfjs';
import { graphWeights, referenceNetwork, smallGraphModel } from './tfjs-graph-model.js';

await tf.setBackend('cpu');
const rng = createRandom(61206);
const values = (n: number, s = 1): Float32Array => Float32Array.from({ length: n }, () => (rng.next() * 2 - 1) * s);

/** Seeded initial weights: the checks below must not depend on a lucky draw. */
function seeded(seed: number): { kernelInitializer: ReturnType<typeof tf.initializers.glorotNormal>; biasInitializer: ReturnType<typeof tf.initializers.randomNormal> } {
  return { kernelInitializer: tf.initializers.glorotNormal({ seed }), biasInitializer: tf.initializers.randomNormal({ mean: 0, stddev: 0.1, seed: seed + 1000 }) };
}

async function close(actual: tf.Tensor, expected: tf.Tensor, tol = 1e-4): Promise<void> {
  expect(actual.shape).toEqual(expected.shape);
  const [a, e] = [await actual.data(), await expected.data()];
  const scale = Math.max(1e-6, ...Array.from(e, Math.abs));
  for (let i = 0; i < e.length; i++) expect(Math.abs((a[i] as number) - (e[i] as number))).toBeLessThanOrEqual(tol * scale);
}

/** Grad-CAM by hand: activations A and gradient G of Σ out[:, target] wrt A, for a channel axis. */
function gradCamByHand(acts: tf.Tensor, grads: tf.Tensor, channelAxis: number): tf.Tensor {
  const spatial = acts.shape.map((_, i) => i).filter((i) => i !== 0 && i !== channelAxis);
  return tf.sum(tf.mul(tf.mean(grads, spatial, true), acts), channelAxis, true);
}

describe('channels-last and channels-first layers (Grad-CAM, GuidedGradCam, interpolate)', () => {
  // input [N, 6, 6, 2] → conv 'conv' (channelsLast, 4 filters, 3×3 same, relu) → GAP → dense 3
  const input = tf.input({ shape: [6, 6, 2] });
  const convLayer = tf.layers.conv2d({ ...seeded(101), filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv' });
  const conv = convLayer.apply(input) as tf.SymbolicTensor;
  const pooled = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(conv) as tf.SymbolicTensor;
  const dense = tf.layers.dense({ ...seeded(102), units: 3, name: 'dense' });
  const out = dense.apply(pooled) as tf.SymbolicTensor;
  const net = tf.model({ inputs: input, outputs: out, name: 'nhwc' });
  const x = tf.tensor4d(values(2 * 6 * 6 * 2), [2, 6, 6, 2]);

  it('LayerGradCam on a channels-last layer returns [N, H, W, 1] = Σ_c mean(∂y/∂A)_c · A_c', async () => {
    const model = fromTfjs(net);
    expect(model.channelAxis({ layer: 'conv' }, 4)).toBe(3);
    const { attributions } = await new LayerGradCam(model, 'conv').attribute(x, { target: 1 });
    expect(attributions.shape).toEqual([2, 6, 6, 1]);
    // Independent: the conv activations and the gradient of the target wrt them, through the layer objects.
    const acts = convLayer.apply(x) as tf.Tensor;
    const grads = tf.grad((a: tf.Tensor) => tf.sum(tf.slice(dense.apply(tf.mean(a, [1, 2])) as tf.Tensor, [0, 1], [-1, 1])))(acts);
    await close(attributions, gradCamByHand(acts, grads, 3));
    // An explicit channelAxis overrides the layout (here: pooling over H and C instead of H and W).
    const odd = await new LayerGradCam(model, 'conv').attribute(x, { target: 1, channelAxis: 2 });
    expect(odd.attributions.shape).toEqual([2, 6, 1, 4]);
    await close(odd.attributions, gradCamByHand(acts, grads, 2));
    await expect(new LayerGradCam(model, 'conv').attribute(x, { target: 1, channelAxis: 0 })).rejects.toThrow(/channelAxis: expected an axis of a rank-4 tensor other than the batch axis 0/);
    tf.dispose([attributions, odd.attributions, acts, grads]);
  });

  it('interpolate keeps the layout: a [N, H, W, 1] map resized equals the NCHW resize transposed', async () => {
    const model = fromTfjs(net);
    const cam = new LayerGradCam(model, 'conv');
    const map = tf.tensor4d(values(2 * 3 * 4), [2, 3, 4, 1]);
    const up = await cam.interpolate(map, [6, 8], 'bilinear');
    expect(up.shape).toEqual([2, 6, 8, 1]);
    const nchw = await LayerAttribution.interpolate(tfBackend(), tf.transpose(map, [0, 3, 1, 2]), [6, 8], 'bilinear');
    await close(up, tf.transpose(nchw, [0, 2, 3, 1]), 1e-6);
    const stat = await LayerAttribution.interpolate(tfBackend(), map, [6, 8], 'bilinear', -1);
    await close(stat, up, 1e-6);
    tf.dispose([map, up, nchw, stat]);
  });

  it('GuidedGradCam on channels-last inputs: guided gradients × the upsampled map, input-shaped', async () => {
    const model = fromTfjs(net);
    const { attributions } = await new GuidedGradCam(model, 'conv').attribute(x, { target: 2 });
    expect(attributions.shape).toEqual([2, 6, 6, 2]);
    const cam = await new LayerGradCam(model, 'conv').attribute(x, { target: 2, reluAttributions: true });
    const guided = await new GuidedGradCam(model, 'conv').attribute(x, { target: 2 });
    expect(await guided.attributions.data()).toEqual(await attributions.data());
    // Where the (non-negative) map is 0, the product is 0 on every channel.
    const m = await cam.attributions.data();
    const a = await attributions.data();
    for (let i = 0; i < m.length; i++) if (m[i] === 0) expect([Math.abs(a[2 * i] as number), Math.abs(a[2 * i + 1] as number)]).toEqual([0, 0]);
    expect(Array.from(m).some((v) => (v as number) > 0)).toBe(true);
    tf.dispose([attributions, cam.attributions, guided.attributions]);
  });

  it('a channelsFirst convolution layer is seen as channels-first (map [N, 1, H, W])', async () => {
    const inp = tf.input({ shape: [2, 5, 5] });
    const c = tf.layers.conv2d({ ...seeded(103), filters: 3, kernelSize: 3, padding: 'same', dataFormat: 'channelsFirst', name: 'cf', activation: 'relu' }).apply(inp) as tf.SymbolicTensor;
    const flat = tf.layers.flatten().apply(c) as tf.SymbolicTensor;
    const o = tf.layers.dense({ ...seeded(104), units: 2, name: 'o' }).apply(flat) as tf.SymbolicTensor;
    const cf = fromTfjs(tf.model({ inputs: inp, outputs: o }));
    expect(cf.channelAxis({ layer: 'cf' }, 4)).toBe(1);
    const xi = tf.tensor4d(values(2 * 2 * 5 * 5), [2, 2, 5, 5]);
    const { attributions } = await new LayerGradCam(cf, 'cf').attribute(xi, { target: 0 });
    expect(attributions.shape).toEqual([2, 1, 5, 5]);
    tf.dispose([xi, attributions]);
  });

  afterAll(() => tf.dispose(x));
});

function tfBackend(): ReturnType<typeof fromTfjs>['backend'] {
  return fromTfjs((t: tf.Tensor) => t).backend;
}

describe('layers inside nested LayersModels', () => {
  // inner: [4] → dense 'h' (relu) → dense 'o'; outer: input → inner (as a layer) → dense 'head'
  const innerIn = tf.input({ shape: [4] });
  const h = tf.layers.dense({ ...seeded(105), units: 5, activation: 'relu', name: 'h' }).apply(innerIn) as tf.SymbolicTensor;
  const inner = tf.model({ inputs: innerIn, outputs: tf.layers.dense({ ...seeded(106), units: 3, name: 'o' }).apply(h) as tf.SymbolicTensor, name: 'inner' });
  const seq = tf.sequential({ name: 'block', layers: [tf.layers.dense({ ...seeded(107), inputShape: [3], units: 3, activation: 'tanh', name: 's1' })] });
  const outerIn = tf.input({ shape: [4] });
  const mid = seq.apply(inner.apply(outerIn)) as tf.SymbolicTensor;
  const outer = tf.model({ inputs: outerIn, outputs: tf.layers.dense({ ...seeded(108), units: 2, name: 'head' }).apply(mid) as tf.SymbolicTensor, name: 'outer' });
  const x = tf.tensor2d(values(3 * 4), [3, 4]);

  it('names them outer/inner/…, lists them, and captures and differentiates them', async () => {
    const model = fromTfjs(outer);
    const names = await listLayers(model);
    expect(names).toEqual(expect.arrayContaining(['inner', 'inner/h', 'inner/o', 'block', 'block/s1', 'head']));
    const { attributions } = await new LayerActivation(model, 'inner/h').attribute(x);
    const hidden = tf.relu(tf.add(tf.matMul(x, inner.getLayer('h').getWeights()[0] as tf.Tensor2D), inner.getLayer('h').getWeights()[1] as tf.Tensor));
    await close(attributions as tf.Tensor, hidden, 1e-5);
    // Layer IG at the nested layer is complete: Σ attributions = F(x) − F(x with the layer at its baseline 0).
    const lig = await new LayerIntegratedGradients(model, 'inner/h').attribute(x, { target: 0, nSteps: 64, method: 'gausslegendre', returnConvergenceDelta: true });
    expect(lig.attributions.shape).toEqual([3, 5]);
    for (const d of await (lig.delta as tf.Tensor).data()) expect(Math.abs(d)).toBeLessThan(1e-3);
    // A neuron of the sequential block, differentiated with respect to the input.
    const ng = await new NeuronGradient(model, 'block/s1').attribute(x, { neuronSelector: 1 });
    expect(ng.attributions.shape).toEqual([3, 4]);
    tf.dispose([attributions, hidden, lig.attributions, lig.delta, ng.attributions]);
  });

  it('a unique suffix names a nested layer; an ambiguous one is refused listing the matches', async () => {
    const model = fromTfjs(outer);
    const short = await new LayerActivation(model, 'h').attribute(x);
    const full = await new LayerActivation(model, 'inner/h').attribute(x);
    expect(await (short.attributions as tf.Tensor).data()).toEqual(await (full.attributions as tf.Tensor).data());
    const input = tf.input({ shape: [2] });
    const a = tf.sequential({ name: 'a', layers: [tf.layers.dense({ ...seeded(109), inputShape: [2], units: 2, name: 'fc' })] });
    const b = tf.sequential({ name: 'b', layers: [tf.layers.dense({ ...seeded(110), inputShape: [2], units: 2, name: 'fc' })] });
    const twice = fromTfjs(tf.model({ inputs: input, outputs: b.apply(a.apply(input)) as tf.SymbolicTensor }));
    const y = tf.ones([1, 2]);
    await expect(new LayerActivation(twice, 'fc').attribute(y)).rejects.toThrow(/layer: expected a layer name that ends exactly one layer's path .*got 'a\/fc', 'b\/fc'/);
    tf.dispose([short.attributions as tf.Tensor, full.attributions as tf.Tensor, y]);
  });

  it('an unknown path lists the candidates nearest to it', async () => {
    const model = fromTfjs(outer);
    const wrong = new LayerActivation(model, 'inner/hh').attribute(x);
    await expect(wrong).rejects.toThrow(ArgumentError);
    await expect(wrong).rejects.toThrow(/'inner\/h'/);
  });

  afterAll(() => tf.dispose(x));
});

describe('tf.GraphModel layers by node name', () => {
  const w = graphWeights(() => rng.next());
  let graph: tf.GraphModel;
  const ref = referenceNetwork(w);
  const x = tf.tensor4d(values(2 * 6 * 6 * 2), [2, 6, 6, 2]);
  beforeAll(async () => {
    graph = await smallGraphModel(w);
  });

  for (const backend of ['cpu', 'wasm'] as const) {
    it(`captures, replaces and differentiates node outputs on tfjs-${backend}`, async () => {
      await tf.setBackend(backend);
      const model = fromTfjs(graph);
      expect(await listLayers(model)).toEqual(expect.arrayContaining(['x', 'block/conv', 'block/relu', 'pool', 'logits']));
      expect(await listLayers(model)).not.toContain('conv_w');
      expect(model.channelAxis({ layer: 'block/relu' }, 4)).toBe(3);
      // Activations (a node named by its full name or a unique suffix of it).
      const act = await new LayerActivation(model, 'relu').attribute(x);
      const expected = ref(x);
      await close(act.attributions as tf.Tensor, expected.relu, 1e-5);
      // Gradient with respect to the node (skip branch computed from the input): matches tf.grad on the reference.
      const lg = await new LayerGradCam(model, 'block/relu').attribute(x, { target: 1 });
      const g = tf.grad((d: tf.Tensor) => tf.sum(tf.slice(ref(x, { relu: d }).out, [0, 1], [-1, 1])))(tf.zerosLike(expected.relu));
      await close(lg.attributions, gradCamByHand(expected.relu, g, 3), 1e-4);
      // Layer IG (replaces the node along the path): the same as on the network written as a tapped function.
      const options = { target: 1, nSteps: 16, returnConvergenceDelta: true } as const;
      const lig = await new LayerIntegratedGradients(model, 'block/relu').attribute(x, options);
      const tapped = fromTfjs((t: tf.Tensor, tap: (n: string, v: tf.Tensor) => tf.Tensor) => {
        const relu = ref(t).relu;
        return ref(t, { relu: tf.sub(tap('relu', relu), relu) }).out;
      });
      const want = await new LayerIntegratedGradients(tapped, 'relu').attribute(x, options);
      await close(lig.attributions, want.attributions, 1e-4);
      await close(lig.delta as tf.Tensor, want.delta as tf.Tensor, 1e-3);
      // Input gradients through the fused convolution (no filter gradient on wasm).
      const sal = await new Saliency(model).attribute(x, { target: 1, abs: false });
      const gx = tf.grad((t: tf.Tensor) => tf.sum(tf.slice(ref(t).out, [0, 1], [-1, 1])))(x);
      await close(sal.attributions, gx, 1e-4);
      tf.dispose([act.attributions, expected.relu, expected.out, lg.attributions, g, lig.attributions, lig.delta, want.attributions, want.delta, sal.attributions, gx]);
      await tf.setBackend('cpu');
    });
  }

  it('LRP rules by node name: the graph model equals the network written as a tapped function', async () => {
    const model = fromTfjs(graph);
    // Relu6 has no default rule (Captum refuses it too): the refusal names the graph node.
    await expect(new LRP(model).attribute(x, { target: 1 })).rejects.toThrow(/LRP has no rule for the TensorFlow.js op 'Relu6' in layer 'block\/relu'/);
    // The same network as tfjs ops, each op tapped under its node's name.
    const tapped = fromTfjs((t: tf.Tensor, tap: (n: string, v: tf.Tensor) => tf.Tensor) => {
      const conv = tap('block/conv', tf.add(tf.conv2d(t as tf.Tensor4D, tf.tensor4d(w.conv, [3, 3, 2, 4]), 1, 'same'), tf.tensor1d(w.bias)));
      const relu = tap('block/relu', tf.clipByValue(conv, 0, 6));
      const dw = tap('block/dw', tf.depthwiseConv2d(relu as tf.Tensor4D, tf.tensor4d(w.dw, [3, 3, 4, 1]), 1, 'same'));
      const pool = tap('pool', tf.mean(tap('block/relu2', tf.relu(dw)), [1, 2]));
      const skip = tap('skip', tf.matMul(tap('skip/mean', tf.mean(t, [1, 2])) as tf.Tensor2D, tf.tensor2d(w.skip, [2, 3])));
      const logits = tap('logits/BiasAdd', tf.add(tap('logits/MatMul', tf.matMul(pool as tf.Tensor2D, tf.tensor2d(w.dense, [4, 3]))), tf.tensor1d(w.denseBias)));
      return tap('logits', tf.add(logits, skip));
    });
    const sets = [
      { 'block/relu': { rule: 'identity' } },
      { 'block/relu': { rule: 'identity' }, 'block/conv': { rule: 'gamma', gamma: 0.5 }, 'block/dw': { rule: 'alpha1beta0' }, 'logits/MatMul': { rule: 'epsilon', epsilon: 0.1 } },
    ] as const;
    const results: tf.Tensor[] = [];
    for (const rules of sets) {
      const got = await new LRP(model).attribute(x, { target: 1, rules });
      const want = await new LRP(tapped).attribute(x, { target: 1, rules });
      await close(got.attributions, want.attributions, 1e-4);
      results.push(got.attributions, want.attributions);
    }
    // The rules took effect: gamma, alpha-beta and a large epsilon change the relevances.
    const diff = tf.max(tf.abs(tf.sub(results[0] as tf.Tensor, results[2] as tf.Tensor)));
    expect((await diff.data())[0]).toBeGreaterThan(1e-3 * Math.max(...Array.from(await (results[0] as tf.Tensor).abs().data())));
    tf.dispose([...results, diff]);
  });

  it('an unknown node lists candidates; a weight is not a layer', async () => {
    const model = fromTfjs(graph);
    await expect(new LayerActivation(model, 'block/rleu').attribute(x)).rejects.toThrow(/layer: expected one of the graph's nodes: .*'block\/relu'/);
    await expect(new LayerActivation(model, 'conv_w').attribute(x)).rejects.toThrow(ArgumentError);
  });

  afterAll(() => {
    tf.dispose(x);
    graph.dispose();
  });
});

describe('tfjs layers that fail under a gradient tape', () => {
  it('BatchNormalization with scale: false (InceptionV3) has gradients: a missing scale is 1', async () => {
    const inp = tf.input({ shape: [4, 4, 2] });
    const conv = tf.layers.conv2d({ ...seeded(111), filters: 3, kernelSize: 3, name: 'c' });
    const bn = tf.layers.batchNormalization({
      scale: false,
      name: 'bn',
      movingMeanInitializer: tf.initializers.randomNormal({ seed: 7 }),
      betaInitializer: tf.initializers.randomNormal({ seed: 8 }),
    });
    const head = tf.layers.dense({ ...seeded(112), units: 2, name: 'head' });
    const out = head.apply(tf.layers.flatten().apply(bn.apply(conv.apply(inp))) as tf.SymbolicTensor) as tf.SymbolicTensor;
    const model = fromTfjs(tf.model({ inputs: inp, outputs: out }));
    const x = tf.tensor4d(values(2 * 4 * 4 * 2), [2, 4, 4, 2]);
    const before = tf.memory().numTensors;
    const { attributions } = await new Saliency(model).attribute(x, { target: 1, abs: false });
    // Variable names get a suffix (`bn/moving_mean_1`) when another model in the process used the name.
    const weight = (part: string): tf.Tensor => bn.getWeights()[bn.weights.findIndex((v) => new RegExp(`${part}(_\\d+)?$`).test(v.name))] as tf.Tensor;
    const [mean, variance, beta] = [weight('moving_mean'), weight('moving_variance'), weight('beta')];
    const byHand = (t: tf.Tensor): tf.Tensor => {
      const normed = tf.add(tf.div(tf.sub(conv.apply(t) as tf.Tensor, mean), tf.sqrt(tf.add(variance, 1e-3))), beta);
      return tf.slice(head.apply(tf.reshape(normed, [t.shape[0] as number, -1])) as tf.Tensor, [0, 1], [-1, 1]);
    };
    const expected = tf.grad((t: tf.Tensor) => tf.sum(byHand(t)))(x);
    await close(attributions, expected, 1e-4);
    attributions.dispose();
    expect(tf.memory().numTensors).toBe(before + 1);
    tf.dispose([x, expected]);
  });
});

describe('tfjs gradients that fail on a batch of one', () => {
  it('a model that unstacks its batch runs Saliency on one example', async () => {
    const w = tf.tensor2d(values(3 * 2), [3, 2]);
    const net = (x: tf.Tensor): tf.Tensor => tf.stack(tf.unstack(x).map((row) => tf.squeeze(tf.matMul(tf.expandDims(tf.tanh(row), 0), w), [0])));
    const x = tf.tensor2d(values(3), [1, 3]);
    const { attributions } = await new Saliency(fromTfjs(net)).attribute(x, { target: 1, abs: false });
    const expected = tf.grad((t: tf.Tensor) => tf.sum(tf.slice(tf.matMul(tf.tanh(t) as tf.Tensor2D, w), [0, 1], [-1, 1])))(x);
    await close(attributions, expected, 1e-5);
    tf.dispose([w, x, attributions, expected]);
  });
});

describe('failures inside tfjs name the layer or op and leak nothing', () => {
  it('a layer that throws in its forward pass is named', async () => {
    class Broken extends tf.layers.Layer {
      static className = 'Broken';
      override call(): tf.Tensor {
        throw new Error('boom');
      }
      override computeOutputShape(s: tf.Shape): tf.Shape {
        return s;
      }
    }
    const inp = tf.input({ shape: [3] });
    const d = tf.layers.dense({ ...seeded(113), units: 3, name: 'd' }).apply(inp) as tf.SymbolicTensor;
    const net = tf.model({ inputs: inp, outputs: new Broken({ name: 'broken' }).apply(d) as tf.SymbolicTensor });
    const model = fromTfjs(net);
    const x = tf.ones([2, 3]);
    const before = tf.memory().numTensors;
    const call = new LayerActivation(model, 'd').attribute(x);
    await expect(call).rejects.toThrow(ModelError);
    await expect(call).rejects.toThrow(/Layer 'broken' \(Broken\) failed: boom/);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('a backend out of memory (tfjs-wasm aborts) says to lower the batch size', async () => {
    const oom = fromTfjs((t: tf.Tensor) => {
      if (t.shape[0] as number > 2) throw new Error('Aborted(). Build with -sASSERTIONS for more info.');
      return tf.sum(t, 1, true);
    });
    const call = new Saliency(oom).attribute(tf.ones([4, 3]), { target: 0 });
    await expect(call).rejects.toThrow(ModelError);
    await expect(call).rejects.toThrow(/ran out of memory.*Pass a smaller internalBatchSize/);
  });

  it('an op whose gradient throws mid-backward is named with its layer, and every tensor is freed', async () => {
    const failing = tf.customGrad((t) => ({
      value: tf.square(t as tf.Tensor),
      gradFunc: () => {
        throw new Error('no gradient here');
      },
    }));
    const inp = tf.input({ shape: [4] });
    class Custom extends tf.layers.Layer {
      static className = 'Custom';
      override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
        return failing(Array.isArray(inputs) ? (inputs[0] as tf.Tensor) : inputs) as tf.Tensor;
      }
    }
    const mid = tf.layers.dense({ ...seeded(114), units: 4, name: 'pre' }).apply(inp) as tf.SymbolicTensor;
    const c = new Custom({ name: 'custom' }).apply(mid) as tf.SymbolicTensor;
    const net = tf.model({ inputs: inp, outputs: tf.layers.dense({ ...seeded(115), units: 2, name: 'post' }).apply(c) as tf.SymbolicTensor });
    const model = fromTfjs(net);
    const x = tf.ones([3, 4]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      const call = new Saliency(model).attribute(x, { target: 0 });
      await expect(call).rejects.toThrow(ModelError);
      await expect(call).rejects.toThrow(/The gradient of a custom-gradient op in layer 'custom' failed: no gradient here/);
    }
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});
