import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import fc from 'fast-check';
import {
  InternalInfluence,
  LayerConductance,
  LayerDeepLift,
  LayerFeatureAblation,
  LayerGradientShap,
  LayerIntegratedGradients,
} from '@attribution/layer';
import { NeuronConductance, NeuronFeatureAblation, NeuronGradientShap, NeuronIntegratedGradients } from '@attribution/neuron';
import {
  DeepLift,
  DeepLiftShap,
  FeatureAblation,
  FeaturePermutation,
  GradientShap,
  GuidedBackprop,
  InputXGradient,
  IntegratedGradients,
  KernelShap,
  Lime,
  NoiseTunnel,
  Occlusion,
  Saliency,
  ShapleyValueSampling,
  ShapleyValues,
} from '@attribution/primary';
import { AbortError, createRandom, toNumbers, type Backend, type Model } from '@attribution/tensor';
import { fromTfjs, type Tap } from '@attribution/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onnxUnderTest, tfjsUnderTest, type BackendUnderTest } from '../src/index.js';

// Invariants as property tests (fast-check, fixed seeds and run counts so CI stays fast and reproducible),
// on random small MLPs built in tfjs (tfjs-cpu) and on the conformance mlp (tfjs-cpu and onnxruntime-node):
// IG completeness improving with nSteps, Shapley efficiency, batch independence, batch-size options that
// never change results, and aborting mid-run. properties.test.ts holds the fixed-example versions.

const SEED = 20261129;
/** `pnpm test:soak` (ATTRIBUTION_SOAK=1) runs ten times as many cases. */
const SCALE = process.env.ATTRIBUTION_SOAK === '1' ? 10 : 1;
const TIMEOUT = SCALE * 30_000;
const runs = (n: number): fc.Parameters<unknown> => ({ seed: SEED, numRuns: n * SCALE, endOnFailure: true });

type Activation = 'tanh' | 'softplus';

/** A random smooth MLP `in → hidden… → out` (weights ~ N(0, 1/fan_in)), tapped as `h0`, `h1`, … . */
interface RandomNet {
  readonly model: Model<tf.Tensor>;
  readonly inputs: number;
  readonly outputs: number;
  dispose(): void;
}

const netSpec = fc.record({
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  inputs: fc.integer({ min: 2, max: 6 }),
  hidden: fc.array(fc.integer({ min: 2, max: 8 }), { minLength: 1, maxLength: 3 }),
  outputs: fc.integer({ min: 1, max: 3 }),
  activation: fc.constantFrom<Activation>('tanh', 'softplus'),
  gain: fc.double({ min: 0.5, max: 2.5, noNaN: true }),
});

type NetSpec = typeof netSpec extends fc.Arbitrary<infer R> ? R : never;

function randomNet(spec: NetSpec): RandomNet {
  const rng = createRandom(spec.seed);
  const dims = [spec.inputs, ...spec.hidden, spec.outputs];
  const layers = dims.slice(1).map((out, i) => {
    const fanIn = dims[i] as number;
    const w = tf.tensor2d(Array.from({ length: fanIn * out }, () => (spec.gain * rng.normal()) / Math.sqrt(fanIn)), [fanIn, out]);
    const b = tf.tensor1d(Array.from({ length: out }, () => 0.1 * rng.normal()));
    return { w, b };
  });
  const act = spec.activation === 'tanh' ? tf.tanh : tf.softplus;
  const fn = (x: tf.Tensor, tap: Tap): tf.Tensor => {
    let h = x;
    layers.forEach(({ w, b }, i) => {
      h = tf.add(tf.matMul(h as tf.Tensor2D, w), b);
      if (i < layers.length - 1) h = tap(`h${i}`, act(h));
    });
    return h;
  };
  return {
    model: fromTfjs(fn),
    inputs: spec.inputs,
    outputs: spec.outputs,
    dispose: () => tf.dispose(layers.flatMap((l) => [l.w, l.b])),
  };
}

const values = async <T>(b: Backend<T>, t: T | readonly T[] | undefined): Promise<number[]> => Array.from(toNumbers(await b.data((Array.isArray(t) ? t[0] : t) as T)));
const maxAbs = (v: readonly number[]): number => Math.max(0, ...v.map(Math.abs));
const maxDiff = (a: readonly number[], b: readonly number[]): number => Math.max(0, ...a.map((v, i) => Math.abs(v - (b[i] as number))));

/** `F(x)[target_i]` per example. */
async function outputsAt<T>(model: Model<T>, x: T, target: readonly number[]): Promise<number[]> {
  const { output } = await model.forward({ inputs: [x] });
  const data = toNumbers(await model.backend.data(output));
  model.backend.dispose(output);
  const k = data.length / target.length;
  return target.map((t, i) => data[i * k + t] as number);
}

describe('on random smooth MLPs (tfjs-cpu)', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('IG completeness: |delta| shrinks from 16 to 256 steps (Gauss–Legendre, Riemann midpoint) and ends near float32 noise', async () => {
    await fc.assert(
      fc.asyncProperty(netSpec, fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), async (spec, batch, dataSeed) => {
        const net = randomNet(spec);
        const rng = createRandom(dataSeed);
        const x = tf.tensor2d(Array.from({ length: batch * net.inputs }, () => 2 * rng.next() - 1), [batch, net.inputs]);
        const baseline = tf.tensor2d(Array.from({ length: net.inputs }, () => 0.5 * rng.normal()), [1, net.inputs]);
        const target = Array.from({ length: batch }, () => rng.int(net.outputs));
        try {
          const before = tf.memory().numTensors;
          const ig = new IntegratedGradients(net.model);
          const delta = async (nSteps: number, method: 'gausslegendre' | 'riemann_middle'): Promise<number> => {
            const r = await ig.attribute(x, { target, baselines: baseline, nSteps, method, returnConvergenceDelta: true });
            const d = maxAbs(await values(net.model.backend, r.delta));
            tf.dispose([r.attributions, r.delta as tf.Tensor]);
            return d;
          };
          const fx = await outputsAt(net.model, x, target);
          const scale = 1 + maxAbs(fx);
          const noise = 2e-5 * scale;
          for (const method of ['gausslegendre', 'riemann_middle'] as const) {
            const coarse = await delta(16, method);
            const fine = await delta(256, method);
            expect(fine, `${method}: |delta| at 256 steps vs 16 steps (${coarse})`).toBeLessThanOrEqual(coarse + noise);
            if (method === 'gausslegendre') expect(fine).toBeLessThan(noise * 5);
          }
          expect(tf.memory().numTensors).toBe(before);
        } finally {
          tf.dispose([x, baseline]);
          net.dispose();
        }
      }),
      runs(30),
    );
  }, TIMEOUT);

  it('Shapley efficiency: ShapleyValues sum exactly, ShapleyValueSampling closely, to F(x) − F(baseline)', async () => {
    await fc.assert(
      fc.asyncProperty(netSpec, fc.integer({ min: 1, max: 3 }), fc.integer({ min: 2, max: 4 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), async (spec, batch, wanted, dataSeed) => {
        const net = randomNet(spec);
        const groups = Math.min(wanted, net.inputs);
        const rng = createRandom(dataSeed);
        const x = tf.tensor2d(Array.from({ length: batch * net.inputs }, () => 2 * rng.next() - 1), [batch, net.inputs]);
        const base = Array.from({ length: net.inputs }, () => 0.3 * rng.normal());
        const baseline = tf.tensor2d(base, [1, net.inputs]);
        const baselines = tf.tensor2d(Array.from({ length: batch }, () => base).flat(), [batch, net.inputs]);
        // Every feature id from 0 to groups − 1 is used at least once.
        const ids = Array.from({ length: net.inputs }, (_, i) => (i < groups ? i : rng.int(groups)));
        const mask = tf.tensor2d(ids, [1, net.inputs], 'int32');
        const target = Array.from({ length: batch }, () => rng.int(net.outputs));
        try {
          const fx = await outputsAt(net.model, x, target);
          const fb = await outputsAt(net.model, baselines, target);
          const scale = 1 + maxAbs(fx) + maxAbs(fb);
          const exact = await new ShapleyValues(net.model).attribute(x, { target, baselines: baseline, featureMask: mask });
          const sampled = await new ShapleyValueSampling(net.model).attribute(x, { target, baselines: baseline, featureMask: mask, nSamples: 3, seed: dataSeed });
          // Each sampled permutation's marginal contributions telescope to F(x) − F(b); every position of a
          // group gets the group's value, so the sum over positions weighs each group by its size.
          const sizes = Array.from({ length: groups }, (_, g) => ids.filter((id) => id === g).length);
          for (const [name, r, tol] of [['ShapleyValues', exact, 1e-5], ['ShapleyValueSampling', sampled, 1e-4]] as const) {
            const a = await values(net.model.backend, r.attributions);
            for (let i = 0; i < batch; i++) {
              const row = a.slice(i * net.inputs, (i + 1) * net.inputs);
              const perGroup = sizes.map((_, g) => row[ids.indexOf(g)] as number);
              const total = perGroup.reduce((s, v) => s + v, 0);
              expect(Math.abs(total - ((fx[i] as number) - (fb[i] as number))), `${name}, example ${i}`).toBeLessThan(tol * scale);
            }
            tf.dispose(r.attributions);
          }
        } finally {
          tf.dispose([x, baseline, baselines, mask]);
          net.dispose();
        }
      }),
      runs(25),
    );
  }, TIMEOUT);

  it('attributing an example alone equals attributing it inside a batch (IG, Saliency, InputXGradient, DeepLift, GuidedBackprop, FeatureAblation, Occlusion, ShapleyValues, LayerConductance, LayerIG, NeuronIG)', async () => {
    await fc.assert(
      fc.asyncProperty(netSpec, fc.integer({ min: 2, max: 4 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), async (spec, batch, dataSeed) => {
        const net = randomNet(spec);
        const rng = createRandom(dataSeed);
        const rows = Array.from({ length: batch }, () => Array.from({ length: net.inputs }, () => 2 * rng.next() - 1));
        const target = rows.map(() => rng.int(net.outputs));
        const pick = rng.int(batch);
        const x = tf.tensor2d(rows.flat(), [batch, net.inputs]);
        const one = tf.tensor2d(rows[pick] as number[], [1, net.inputs]);
        const m = net.model;
        const groups = tf.tensor2d([[0, 1, ...Array<number>(net.inputs - 2).fill(2)]], undefined, 'int32');
        const methods: [string, (input: tf.Tensor, t: number[]) => Promise<{ attributions: tf.Tensor | tf.Tensor[] }>][] = [
          ['IntegratedGradients', (i, t) => new IntegratedGradients(m).attribute(i, { target: t, nSteps: 20, baselines: 0.1 })],
          ['Saliency', (i, t) => new Saliency(m).attribute(i, { target: t, abs: false })],
          ['InputXGradient', (i, t) => new InputXGradient(m).attribute(i, { target: t })],
          ['DeepLift', (i, t) => new DeepLift(m).attribute(i, { target: t, baselines: -0.2 })],
          ['GuidedBackprop', (i, t) => new GuidedBackprop(m).attribute(i, { target: t })],
          ['FeatureAblation', (i, t) => new FeatureAblation(m).attribute(i, { target: t, baselines: 0.3 })],
          ['Occlusion', (i, t) => new Occlusion(m).attribute(i, { target: t, slidingWindowShapes: [2] })],
          ['ShapleyValues', (i, t) => new ShapleyValues(m).attribute(i, { target: t, featureMask: groups })],
          ['LayerConductance', (i, t) => new LayerConductance(m, 'h0').attribute(i, { target: t, nSteps: 10 }) as never],
          ['LayerIntegratedGradients', (i, t) => new LayerIntegratedGradients(m, 'h0').attribute(i, { target: t, nSteps: 10 }) as never],
          ['NeuronIntegratedGradients', (i) => new NeuronIntegratedGradients(m, 'h0').attribute(i, { neuronSelector: 0, nSteps: 10 }) as never],
        ];
        try {
          for (const [name, run] of methods) {
            const all = (await run(x, target)).attributions as tf.Tensor;
            const alone = (await run(one, [target[pick] as number])).attributions as tf.Tensor;
            const row = tf.tidy(() => tf.slice(all, [pick, 0], [1, -1]));
            const got = await values(m.backend, alone);
            const want = await values(m.backend, row);
            expect(maxDiff(got, want), name).toBeLessThan(1e-5 * (1 + maxAbs(want)));
            tf.dispose([all, alone, row]);
          }
        } finally {
          tf.dispose([x, one, groups]);
          net.dispose();
        }
      }),
      runs(15),
    );
  }, TIMEOUT);
});

const setups: [string, () => Promise<BackendUnderTest<unknown>>, (() => number) | undefined][] = [
  ['tfjs-cpu', async () => {
    await tf.setBackend('cpu');
    return tfjsUnderTest() as BackendUnderTest<unknown>;
  }, () => tf.memory().numTensors],
  ['onnxruntime-node', async () => onnxUnderTest(ort, 'onnxruntime-node') as BackendUnderTest<unknown>, undefined],
];

describe.each(setups)('on the conformance mlp (%s)', (_name, setup, live) => {
  let but: BackendUnderTest<unknown>;
  let mlp: Model<unknown>;
  const H1 = '/net/net.1/Tanh_output_0';
  const H2 = '/net/net.3/Relu_output_0';
  beforeAll(async () => {
    but = await setup();
    mlp = await but.model('mlp');
  });
  afterAll(() => but.dispose());

  /** A random [n, 6] input, its per-example targets and a baseline distribution. */
  const caseArb = fc.record({
    n: fc.integer({ min: 1, max: 4 }),
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  });
  const makeCase = (n: number, seed: number) => {
    const rng = createRandom(seed);
    const owned: unknown[] = [];
    const t = (shape: number[], data: number[], dtype?: string): unknown => {
      const v = but.tensor({ shape, data, dtype });
      owned.push(v);
      return v;
    };
    const x = t([n, 6], Array.from({ length: 6 * n }, () => 2 * rng.next() - 1));
    const dist = t([3, 6], Array.from({ length: 18 }, () => 0.3 * rng.normal()));
    const mask = t([1, 6], [0, 0, 1, 2, 2, 3], 'int32');
    const target = Array.from({ length: n }, () => rng.int(3));
    return { x, dist, mask, target, free: () => but.release(owned) };
  };

  it('internalBatchSize, nSamplesBatchSize and perturbationsPerEval never change results', async () => {
    const layer = (name: string): string => but.layerName('mlp', { name: '', onnx: name });
    await fc.assert(
      fc.asyncProperty(caseArb, fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 1000 }), async ({ n, seed }, p, s) => {
        const { x, dist, mask, target, free } = makeCase(n, seed);
        const m = mlp;
        // [name, run with a batch-size option value, smallest valid value]
        const runs: [string, (v: number | undefined) => Promise<{ attributions: unknown }>, number][] = [
          ['IntegratedGradients', (v) => new IntegratedGradients(m).attribute(x, { target, nSteps: 12, internalBatchSize: v }), n],
          ['DeepLift', (v) => new DeepLift(m).attribute(x, { target, baselines: 0.1, internalBatchSize: v }), 2],
          ['DeepLiftShap', (v) => new DeepLiftShap(m).attribute(x, { target, baselines: dist, internalBatchSize: v }), 2],
          ['GradientShap', (v) => new GradientShap(m).attribute(x, { target, baselines: dist, nSamples: 5, stdevs: 0.2, seed: s, internalBatchSize: v }), 1],
          ['NoiseTunnel', (v) => new NoiseTunnel(new Saliency(m) as never).attribute(x, { target, nSamples: 5, stdevs: 0.1, seed: s, nSamplesBatchSize: v }), 1],
          ['FeatureAblation', (v) => new FeatureAblation(m).attribute(x, { target, featureMask: mask, perturbationsPerEval: v }), 1],
          ['Occlusion', (v) => new Occlusion(m).attribute(x, { target, slidingWindowShapes: [2], strides: 1, perturbationsPerEval: v }), 1],
          ['ShapleyValues', (v) => new ShapleyValues(m).attribute(x, { target, featureMask: mask, perturbationsPerEval: v }), 1],
          ['ShapleyValueSampling', (v) => new ShapleyValueSampling(m).attribute(x, { target, featureMask: mask, nSamples: 3, seed: s, perturbationsPerEval: v }), 1],
          ['KernelShap', (v) => new KernelShap(m).attribute(x, { target, featureMask: mask, nSamples: 12, seed: s, perturbationsPerEval: v }), 1],
          ['Lime', (v) => new Lime(m).attribute(x, { target, featureMask: mask, nSamples: 12, seed: s, perturbationsPerEval: v }), 1],
          ['FeaturePermutation', (v) => new FeaturePermutation(m).attribute(x, { target, featureMask: mask, seed: s, perturbationsPerEval: v }), 1],
          ['LayerConductance', (v) => new LayerConductance(m, layer(H1)).attribute(x, { target, nSteps: 8, internalBatchSize: v }) as never, 2 * n],
          ['LayerIntegratedGradients', (v) => new LayerIntegratedGradients(m, layer(H1)).attribute(x, { target, nSteps: 8, internalBatchSize: v }) as never, n],
          ['InternalInfluence', (v) => new InternalInfluence(m, layer(H1)).attribute(x, { target, nSteps: 8, internalBatchSize: v }) as never, n],
          ['LayerDeepLift', (v) => new LayerDeepLift(m, layer(H1)).attribute(x, { target, internalBatchSize: v }) as never, 2],
          ['LayerGradientShap', (v) => new LayerGradientShap(m, layer(H1)).attribute(x, { target, baselines: dist, nSamples: 4, seed: s, internalBatchSize: v }) as never, 1],
          ['LayerFeatureAblation', (v) => new LayerFeatureAblation(m, layer(H1)).attribute(x, { target, perturbationsPerEval: v }) as never, 1],
          ['NeuronIntegratedGradients', (v) => new NeuronIntegratedGradients(m, layer(H2)).attribute(x, { neuronSelector: 1, nSteps: 8, internalBatchSize: v }) as never, n],
          ['NeuronConductance', (v) => new NeuronConductance(m, layer(H2)).attribute(x, { neuronSelector: 1, target, nSteps: 8, internalBatchSize: v }) as never, n],
          ['NeuronGradientShap', (v) => new NeuronGradientShap(m, layer(H2)).attribute(x, { neuronSelector: 1, baselines: dist, nSamples: 4, seed: s, internalBatchSize: v }) as never, 1],
          ['NeuronFeatureAblation', (v) => new NeuronFeatureAblation(m, layer(H2)).attribute(x, { neuronSelector: 1, featureMask: mask, perturbationsPerEval: v }) as never, 1],
        ];
        try {
          for (const [name, run, min] of runs) {
            // The option's value: p scaled into a valid range (at least the method's minimum).
            const v = min * p;
            if (name === 'FeaturePermutation' && n < 2) continue; // it permutes across examples
            const plain = await run(undefined);
            const chunked = await run(v);
            const a = await values(but.backend, plain.attributions as never);
            const b = await values(but.backend, chunked.attributions as never);
            expect(maxDiff(a, b), `${name} with ${v}`).toBeLessThan(2e-5 * (1 + maxAbs(a)));
            but.release([plain.attributions, chunked.attributions].flat());
          }
        } finally {
          free();
        }
      }),
      runs(6),
    );
  }, TIMEOUT);

  it('aborting from onProgress rejects with AbortError and frees everything', async () => {
    const layer = (name: string): string => but.layerName('mlp', { name: '', onnx: name });
    type Run = (signal: AbortSignal, onProgress: (p: { done: number; total: number }) => void) => Promise<unknown>;
    await fc.assert(
      fc.asyncProperty(caseArb, fc.integer({ min: 0, max: 1000 }), async ({ n, seed }, at) => {
        const { x, dist, mask, target, free } = makeCase(n, seed);
        const m = mlp;
        const methods: [string, Run][] = [
          ['IntegratedGradients', (signal, onProgress) => new IntegratedGradients(m).attribute(x, { target, nSteps: 16, internalBatchSize: n * 2, signal, onProgress })],
          ['DeepLiftShap', (signal, onProgress) => new DeepLiftShap(m).attribute(x, { target, baselines: dist, internalBatchSize: 2, signal, onProgress })],
          ['GradientShap', (signal, onProgress) => new GradientShap(m).attribute(x, { target, baselines: dist, nSamples: 6, internalBatchSize: 2, seed: 1, signal, onProgress })],
          ['FeatureAblation', (signal, onProgress) => new FeatureAblation(m).attribute(x, { target, signal, onProgress })],
          ['ShapleyValueSampling', (signal, onProgress) => new ShapleyValueSampling(m).attribute(x, { target, featureMask: mask, nSamples: 3, seed: 2, signal, onProgress })],
          ['KernelShap', (signal, onProgress) => new KernelShap(m).attribute(x, { target, nSamples: 20, seed: 3, signal, onProgress })],
          ['NoiseTunnel', (signal, onProgress) => new NoiseTunnel(new IntegratedGradients(m) as never).attribute(x, { target, nSamples: 3, nSamplesBatchSize: 1, seed: 4, signal, onProgress } as never)],
          ['LayerConductance', (signal, onProgress) => new LayerConductance(m, layer(H1)).attribute(x, { target, nSteps: 12, internalBatchSize: 2 * n, signal, onProgress })],
          ['LayerIntegratedGradients', (signal, onProgress) => new LayerIntegratedGradients(m, layer(H1)).attribute(x, { target, nSteps: 12, internalBatchSize: n, signal, onProgress })],
          ['LayerFeatureAblation', (signal, onProgress) => new LayerFeatureAblation(m, layer(H1)).attribute(x, { target, signal, onProgress })],
          ['NeuronConductance', (signal, onProgress) => new NeuronConductance(m, layer(H2)).attribute(x, { neuronSelector: 0, target, nSteps: 12, internalBatchSize: n, signal, onProgress })],
          ['NeuronFeatureAblation', (signal, onProgress) => new NeuronFeatureAblation(m, layer(H2)).attribute(x, { neuronSelector: 0, signal, onProgress })],
        ];
        let aborted = 0;
        try {
          for (const [name, run] of methods) {
            // First learn how many progress steps the call takes, then abort at one of them but the last.
            const reported: number[] = [];
            let total = 0;
            const full = (await run(new AbortController().signal, (p) => {
              reported.push(p.done);
              total = p.total;
            })) as { attributions: unknown; delta?: unknown };
            but.release([full.attributions, full.delta].flat().filter((v) => but.backend.isTensor(v)));
            const earlier = reported.filter((d) => d < total);
            if (earlier.length === 0) continue;
            const stopAt = earlier[at % earlier.length] as number;
            const before = live?.();
            const controller = new AbortController();
            const outcome = await run(controller.signal, (p) => p.done === stopAt && controller.abort()).then(
              () => 'finished',
              (e: unknown) => e,
            );
            expect(outcome, `${name} aborted at ${stopAt} of ${total}`).toBeInstanceOf(AbortError);
            if (live) expect(live(), `${name}: tensors left after the abort`).toBe(before);
            aborted++;
          }
          // Single-example calls of a few methods take one step only; the others must all have been aborted.
          expect(aborted).toBeGreaterThanOrEqual(methods.length - 4);
        } finally {
          free();
        }
      }),
      runs(6),
    );
  }, TIMEOUT);
});
