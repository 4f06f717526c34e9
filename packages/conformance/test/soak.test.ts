import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { layerMethods } from '@attribution/layer';
import { neuronMethods } from '@attribution/neuron';
import { fromOnnx, type OnnxModel, type OrtModule } from '@attribution/onnx';
import { IntegratedGradients, Saliency, primaryMethods } from '@attribution/primary';
import { BackendError, type Backend, type Model } from '@attribution/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePath, loadCases, onnxUnderTest, tfjsUnderTest, type BackendUnderTest, type FixtureTensor } from '../src/index.js';

// Leaks. Every primary, layer and neuron method is called many times in a row on tfjs-cpu and must keep
// tf.memory().numTensors constant; ONNX models release their sessions on dispose() and refuse calls after
// it; the process RSS stays flat over a long loop (the figures are printed).
//
// CI runs 30 calls per method (and 300 ONNX IG calls, 30 load/dispose rounds); `pnpm test:soak`
// (ATTRIBUTION_SOAK=1) runs 1,000 calls per method, 10,000 ONNX calls and 300 load/dispose rounds.

const SOAK = process.env.ATTRIBUTION_SOAK === '1';
const CALLS = SOAK ? 1000 : 30;
const ONNX_CALLS = SOAK ? 10_000 : 300;
const ROUNDS = SOAK ? 300 : 30;
const TIMEOUT = SOAK ? 3_600_000 : 60_000;

const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MB`;
const rss = (): number => process.memoryUsage().rss;
const input = (model: string): FixtureTensor => loadCases().find((c) => c.model === model && c.method === 'integrated-gradients')!.inputs[0]!;

const H1 = '/net/net.1/Tanh_output_0';
const H2 = '/net/net.3/Relu_output_0';
const CONV = '/conv1/Conv_output_0';

/** What one call of a method needs: the model, the layer, the options (small counts keep calls cheap). */
interface Plan {
  readonly model: 'mlp' | 'cnn';
  readonly layer?: string;
  readonly options: (t: (f: FixtureTensor) => unknown) => Record<string, unknown>;
  /** Methods only ONNX models run (LRP): on tfjs the refusal is checked to leak nothing. */
  readonly onnxOnly?: boolean;
}

const target = [0, 2, 1, 2];
const distribution = (t: (f: FixtureTensor) => unknown): unknown => t({ shape: [3, 6], data: Array.from({ length: 18 }, (_, i) => ((i % 5) - 2) / 10) });
const groups = (t: (f: FixtureTensor) => unknown): unknown => t({ shape: [1, 6], dtype: 'int32', data: [0, 0, 1, 1, 2, 2] });

const primaryPlans: Record<string, Plan> = {
  'integrated-gradients': { model: 'mlp', options: () => ({ target, nSteps: 8 }) },
  saliency: { model: 'mlp', options: () => ({ target }) },
  'input-x-gradient': { model: 'mlp', options: () => ({ target }) },
  'deep-lift': { model: 'mlp', options: () => ({ target, baselines: 0.1 }) },
  'deep-lift-shap': { model: 'mlp', options: (t) => ({ target, baselines: distribution(t) }) },
  'gradient-shap': { model: 'mlp', options: (t) => ({ target, baselines: distribution(t), nSamples: 4, stdevs: 0.1, seed: 1 }) },
  'guided-backprop': { model: 'mlp', options: () => ({ target }) },
  deconvolution: { model: 'mlp', options: () => ({ target }) },
  'guided-grad-cam': { model: 'cnn', layer: CONV, options: () => ({ target: 1 }) },
  'feature-ablation': { model: 'mlp', options: (t) => ({ target, featureMask: groups(t) }) },
  occlusion: { model: 'mlp', options: () => ({ target, slidingWindowShapes: [3], strides: 3 }) },
  'shapley-values': { model: 'mlp', options: (t) => ({ target, featureMask: groups(t), perturbationsPerEval: 3 }) },
  'shapley-value-sampling': { model: 'mlp', options: (t) => ({ target, featureMask: groups(t), nSamples: 2, seed: 2 }) },
  'kernel-shap': { model: 'mlp', options: (t) => ({ target, featureMask: groups(t), nSamples: 8, seed: 3 }) },
  lime: { model: 'mlp', options: (t) => ({ target, featureMask: groups(t), nSamples: 8, seed: 4 }) },
  'noise-tunnel': { model: 'mlp', options: () => ({ target, baseMethod: 'saliency', nSamples: 3, stdevs: 0.1, seed: 5 }) },
  'feature-permutation': { model: 'mlp', options: (t) => ({ target, featureMask: groups(t), seed: 6 }) },
  lrp: { model: 'mlp', options: () => ({ target, returnConvergenceDelta: true }) },
};

const layerPlans: Record<string, Plan> = {
  'layer-activation': { model: 'mlp', layer: H1, options: () => ({}) },
  'layer-gradient-x-activation': { model: 'mlp', layer: H1, options: () => ({ target }) },
  'layer-conductance': { model: 'mlp', layer: H1, options: () => ({ target, nSteps: 8 }) },
  'internal-influence': { model: 'mlp', layer: H1, options: () => ({ target, nSteps: 8 }) },
  'layer-integrated-gradients': { model: 'mlp', layer: H1, options: () => ({ target, nSteps: 8 }) },
  'layer-grad-cam': { model: 'cnn', layer: CONV, options: () => ({ target: 1 }) },
  'layer-deep-lift': { model: 'mlp', layer: H1, options: () => ({ target, baselines: 0.1 }) },
  'layer-feature-ablation': { model: 'mlp', layer: H1, options: () => ({ target }) },
  'layer-gradient-shap': { model: 'mlp', layer: H1, options: (t) => ({ target, baselines: distribution(t), nSamples: 4, seed: 7 }) },
  'layer-deep-lift-shap': { model: 'mlp', layer: H1, options: (t) => ({ target, baselines: distribution(t) }) },
  'layer-feature-permutation': { model: 'mlp', layer: H1, options: () => ({ target, seed: 3 }) },
  'layer-lrp': { model: 'mlp', layer: H1, options: () => ({ target, returnConvergenceDelta: true }) },
};

const neuronPlans: Record<string, Plan> = {
  'neuron-gradient': { model: 'mlp', layer: H2, options: () => ({ neuronSelector: 1 }) },
  'neuron-integrated-gradients': { model: 'mlp', layer: H2, options: () => ({ neuronSelector: 1, nSteps: 8 }) },
  'neuron-conductance': { model: 'mlp', layer: H2, options: () => ({ neuronSelector: 1, target, nSteps: 8 }) },
  'neuron-deep-lift': { model: 'mlp', layer: H2, options: () => ({ neuronSelector: 1, baselines: 0.1 }) },
  'neuron-deep-lift-shap': { model: 'mlp', layer: H2, options: (t) => ({ neuronSelector: 1, baselines: distribution(t) }) },
  'neuron-feature-ablation': { model: 'mlp', layer: H2, options: (t) => ({ neuronSelector: 1, featureMask: groups(t) }) },
  'neuron-gradient-shap': { model: 'mlp', layer: H2, options: (t) => ({ neuronSelector: 1, baselines: distribution(t), nSamples: 4, seed: 8 }) },
  'neuron-guided-backprop': { model: 'mlp', layer: H2, options: () => ({ neuronSelector: 1 }) },
  'neuron-deconvolution': { model: 'mlp', layer: H2, options: () => ({ neuronSelector: 1 }) },
};

type Create = (model: Model<unknown>, layer?: string) => { attribute(inputs: unknown[], options: object): Promise<{ attributions: unknown; delta?: unknown }> };
const families: [string, Record<string, { create: unknown }>, Record<string, Plan>][] = [
  ['primary', primaryMethods, primaryPlans],
  ['layer', layerMethods, layerPlans],
  ['neuron', neuronMethods, neuronPlans],
];

describe(`tfjs-cpu: ${CALLS} consecutive calls of every method keep tf.memory().numTensors constant`, () => {
  let but: BackendUnderTest<unknown>;
  const figures: string[] = [];
  let rssStart = 0;
  beforeAll(async () => {
    await tf.setBackend('cpu');
    but = tfjsUnderTest() as BackendUnderTest<unknown>;
    rssStart = rss();
  });
  afterAll(() => {
    but.dispose();
    console.log(
      `tfjs soak (${CALLS} calls per method, ${figures.length} methods): tf.memory().numTensors unchanged after every call of every method ` +
        `(${figures.join(', ')}); RSS at start ${mb(rssStart)}, at end ${mb(rss())}`,
    );
  });

  it('every registered method has a plan', () => {
    for (const [, registry, plans] of families) expect(Object.keys(registry).sort()).toEqual(Object.keys(plans).sort());
  });

  for (const [family, registry, plans] of families) {
    for (const name of Object.keys(registry)) {
      it(`${family} ${name}`, async () => {
        const plan = plans[name];
        if (!plan) throw new Error(`no plan for ${name}`);
        const model = await but.model(plan.model);
        const owned: unknown[] = [];
        const t = (f: FixtureTensor): unknown => {
          const x = but.tensor(f);
          owned.push(x);
          return x;
        };
        const x = t(input(plan.model));
        const options = plan.options(t);
        const layer = plan.layer ? but.layerName(plan.model, { name: '', onnx: plan.layer }) : undefined;
        const method = (registry[name]!.create as Create)(model, layer);
        const call = async (): Promise<void> => {
          const r = await method.attribute([x], options);
          but.release([r.attributions, r.delta].flat().filter((v) => but.backend.isTensor(v)));
        };
        if (plan.onnxOnly) {
          const before = tf.memory().numTensors;
          await expect(call()).rejects.toThrow(BackendError);
          expect(tf.memory().numTensors).toBe(before);
          but.release(owned);
          return;
        }
        await call(); // warm-up: kernels, probes, caches
        const before = tf.memory().numTensors;
        const rssWarm = rss();
        for (let i = 0; i < CALLS; i++) {
          await call();
          if (tf.memory().numTensors !== before) throw new Error(`${name}: ${tf.memory().numTensors - before} tensors leaked after ${i + 1} calls`);
        }
        expect(tf.memory().numTensors).toBe(before);
        figures.push(`${name}: ${before} live${SOAK ? `, RSS ${mb(rssWarm)}→${mb(rss())}` : ''}`);
        but.release(owned);
      }, TIMEOUT);
    }
  }
});

/** An ONNX Runtime that counts the sessions it creates and releases. */
function countingOrt(): { ort: OrtModule; created: () => number; released: () => number; live: () => number } {
  let created = 0;
  let released = 0;
  const counting: OrtModule = {
    Tensor: ort.Tensor,
    InferenceSession: {
      async create(bytes: Uint8Array, options?: object) {
        const session = await ort.InferenceSession.create(bytes, options);
        created++;
        const release = session.release.bind(session);
        return Object.assign(session, {
          release: async () => {
            released++;
            await release();
          },
        });
      },
    },
  };
  return { ort: counting, created: () => created, released: () => released, live: () => created - released };
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

describe('ONNX models release their sessions on dispose()', () => {
  it('a disposed model releases every session (forward, gradient, layer, DeepLift) and refuses calls with a BackendError', async () => {
    const counting = countingOrt();
    const but = onnxUnderTest(counting.ort, 'counting onnxruntime-node');
    const model = await but.model('mlp');
    const x = but.tensor(input('mlp'));
    for (const [family, registry, plans] of families) {
      for (const [name, plan] of Object.entries(plans)) {
        if (plan.model !== 'mlp') continue;
        const r = await (registry[name]!.create as Create)(model as Model<unknown>, plan.layer).attribute([x], plan.options((f) => but.tensor(f)));
        expect(r.attributions, `${family} ${name}`).toBeDefined();
      }
    }
    const sessions = counting.created();
    expect(sessions).toBeGreaterThanOrEqual(8); // forward, gradient, rules, layer cuts, …
    expect(counting.live()).toBe(sessions);
    model.dispose?.();
    await settle();
    expect(counting.released()).toBe(sessions);
    for (const call of [
      () => new Saliency(model).attribute(x, { target: 0 }),
      () => new IntegratedGradients(model).attribute(x, { target: 0, nSteps: 4 }),
      () => model.forward({ inputs: [x] }),
    ]) {
      const failure = call();
      await expect(failure).rejects.toThrow(BackendError);
      await expect(failure).rejects.toThrow(/This ONNX model has been disposed/);
    }
    expect(counting.created()).toBe(sessions);
    model.dispose?.(); // twice is harmless
  });

  it('a model disposed while a call is in flight finishes or fails with a typed error and releases everything', async () => {
    const counting = countingOrt();
    const model = await fromOnnx(counting.ort, fixturePath('models/mlp.onnx'));
    const but = onnxUnderTest(counting.ort, 'counting');
    const x = but.tensor(input('mlp'));
    const inFlight = new IntegratedGradients(model).attribute(x, { target: 0, nSteps: 64, internalBatchSize: 8 });
    await new Promise((r) => setTimeout(r, 1));
    model.dispose();
    const outcome = await inFlight.then(
      () => 'finished',
      (e: unknown) => e,
    );
    if (outcome !== 'finished') expect(outcome).toBeInstanceOf(BackendError);
    await settle();
    expect(counting.live()).toBe(0);
  });

  it(`${ROUNDS} load / attribute / dispose rounds leave no session and keep RSS flat`, async () => {
    const counting = countingOrt();
    const but = onnxUnderTest(counting.ort, 'counting');
    const x = but.tensor(input('cnn'));
    const round = async (): Promise<void> => {
      const model: OnnxModel = await fromOnnx(counting.ort, fixturePath('models/cnn.onnx'));
      await new Saliency(model).attribute(x, { target: 1 });
      model.dispose();
    };
    for (let i = 0; i < 5; i++) await round();
    await settle();
    const warm = rss();
    for (let i = 0; i < ROUNDS; i++) await round();
    await settle();
    expect(counting.live()).toBe(0);
    expect(counting.created()).toBe(2 * (ROUNDS + 5));
    const end = rss();
    console.log(`onnx load/dispose (${ROUNDS} rounds, ${counting.created()} sessions created and released): RSS after warm-up ${mb(warm)}, after ${ROUNDS} rounds ${mb(end)}`);
    expect(end - warm).toBeLessThan(SOAK ? 128 * 2 ** 20 : 96 * 2 ** 20);
  }, TIMEOUT);
});

describe(`RSS over a long loop (${ONNX_CALLS} IntegratedGradients calls on onnxruntime-node, ${CALLS * 10} on tfjs-cpu)`, () => {
  const loop = async <T>(name: string, backend: Backend<T>, calls: number, call: () => Promise<{ attributions: T }>): Promise<void> => {
    const start = rss();
    for (let i = 0; i < 20; i++) backend.dispose((await call()).attributions);
    const warm = rss();
    for (let i = 0; i < calls; i++) backend.dispose((await call()).attributions);
    const end = rss();
    console.log(`${name}: RSS at start ${mb(start)}, after warm-up ${mb(warm)}, after ${calls} calls ${mb(end)} (${end >= warm ? '+' : ''}${mb(end - warm)})`);
    // Loose in CI (the collector decides when to give pages back), tight enough to catch a per-call leak of
    // a session or a model copy, which would add megabytes per call.
    expect(end - warm).toBeLessThan(SOAK ? 128 * 2 ** 20 : 96 * 2 ** 20);
  };

  it('onnxruntime-node', async () => {
    const but = onnxUnderTest(ort, 'onnxruntime-node');
    const model = await but.model('mlp');
    const x = but.tensor(input('mlp'));
    const ig = new IntegratedGradients(model);
    await loop('onnxruntime-node IG', but.backend, ONNX_CALLS, () => ig.attribute(x, { target, nSteps: 16 }));
    but.dispose();
  }, TIMEOUT);

  it('tfjs-cpu', async () => {
    await tf.setBackend('cpu');
    const but = tfjsUnderTest();
    const model = await but.model('mlp');
    const x = but.tensor(input('mlp'));
    const ig = new IntegratedGradients(model);
    const tensors = tf.memory().numTensors;
    await loop('tfjs-cpu IG', but.backend, CALLS * 10, () => ig.attribute(x, { target, nSteps: 16 }));
    expect(tf.memory().numTensors).toBe(tensors);
    tf.dispose(x);
    but.dispose();
  }, TIMEOUT);
});
