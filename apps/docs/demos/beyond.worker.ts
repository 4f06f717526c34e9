/**
 * The "beyond attribution" demo's worker: the digits model on ONNX Runtime Web (WebAssembly, one thread) and the
 * library's three families beyond attribution — a targeted PGD attack (`@attribution/robust`), TracInCPFast over
 * 32 training digits (`@attribution/influence`) and TCAV with stroke concepts against random sets
 * (`@attribution/concept`).
 */
import * as ort from 'onnxruntime-web/wasm';
import wasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.wasm?url';
import { Concept, SGDClassifier, TCAV, conceptsKey, scoresAcross, tTest } from '@attribution/concept';
import type { LossFunction } from '@attribution/core';
import { TracInCPFast } from '@attribution/influence';
import { fromOnnx, type OnnxModel } from '@attribution/onnx';
import { Saliency } from '@attribution/primary';
import { PGD } from '@attribution/robust';
import { createRandom, toNumbers, type Model } from '@attribution/tensor';
import modelUrl from '../../../packages/conformance/fixtures/real/digits_cnn.onnx?url';
import samplesUrl from '../../../packages/conformance/fixtures/real/digits_cnn.samples.json?url';
import { clampOption } from './bounds.js';
import { predict } from './digits-explain.js';
import { serve, yielding, type Handled, type Progress } from './rpc.js';
import {
  ATTACK_BOUNDS,
  DEFAULT_ATTACK,
  SIGNIFICANCE,
  TCAV_LAYER,
  TRAINING_COUNT,
  type AttackOptions,
  type AttackResult,
  type BeyondRequest,
  type ConceptScores,
  type InfluenceLoss,
  type InfluenceResult,
  type Influential,
  type Prediction,
  type PredictResult,
  type TcavResult,
} from './beyond-shared.js';

// The .wasm file is served by the site itself; threads would need cross-origin isolation.
ort.env.wasm.wasmPaths = { wasm: wasmUrl };
ort.env.wasm.numThreads = 1;

interface Samples {
  images: number[][];
  labels: number[];
}

type M = Model<unknown>;

let loading: Promise<{ model: M; samples: Samples }> | undefined;

/** The model (its calls let a cancel message in now and then) and the 40 sample digits, loaded once. */
function load(): Promise<{ model: M; samples: Samples }> {
  loading ??= Promise.all([
    fromOnnx(ort, modelUrl).then((m: OnnxModel) => yielding(m, ['forward', 'gradient']) as unknown as M),
    fetch(samplesUrl).then(async (r) => (await r.json()) as Samples),
  ])
    .then(([model, samples]) => ({ model, samples }))
    .catch((e: unknown) => {
      loading = undefined; // try again on the next request
      throw e;
    });
  return loading;
}

const SHAPE = [1, 1, 8, 8];

/** Reads a tensor into a Float32Array and frees it. */
async function read(model: M, t: unknown): Promise<Float32Array> {
  try {
    return Float32Array.from(toNumbers(await model.backend.data(t)));
  } finally {
    model.backend.dispose(t);
  }
}

const prediction = async (model: M, image: Float32Array): Promise<Prediction> => (await predict(model, image))[0] as Prediction;

/** Saliency (absolute gradient) of class `target` for one digit. */
async function saliency(model: M, image: Float32Array, target: number, signal: AbortSignal): Promise<Float32Array> {
  const x = model.backend.tensor(image, SHAPE);
  try {
    const { attributions } = await new Saliency(model).attribute(x, { target, signal });
    return await read(model, attributions);
  } finally {
    model.backend.dispose(x);
  }
}

/** Targeted PGD towards `target` (L∞ ball, pixels kept in [0, 1]), then Saliency of both digits' predicted classes. */
async function attack(model: M, image: Float32Array, target: number, given: AttackOptions, onProgress: (p: Progress) => void, signal: AbortSignal): Promise<Handled<AttackResult>> {
  if (!Number.isInteger(target) || target < 0 || target > 9) throw new Error(`the target class must be 0–9, not ${String(target)}`);
  const o = Object.fromEntries(
    (Object.keys(ATTACK_BOUNDS) as (keyof AttackOptions)[]).map((k) => [k, clampOption(k, given[k], ATTACK_BOUNDS[k], DEFAULT_ATTACK[k]).value]),
  ) as unknown as AttackOptions;
  const start = performance.now();
  const before = await prediction(model, image);
  const x = model.backend.tensor(image, SHAPE);
  let adversarial: Float32Array;
  try {
    const pgd = new PGD(model, { lossFunc: 'cross-entropy', lowerBound: 0, upperBound: 1 });
    const perturbed = await pgd.perturb(x, {
      radius: o.radius, stepSize: o.stepSize, stepNum: o.stepNum, target: [target], targeted: true,
      // Two more steps after PGD's: the two Saliency calls.
      onProgress: (p) => onProgress({ done: p.done, total: p.total + 2 }), signal,
    });
    adversarial = await read(model, perturbed);
  } finally {
    model.backend.dispose(x);
  }
  const after = await prediction(model, adversarial);
  const saliencyBefore = await saliency(model, image, before.label, signal);
  onProgress({ done: o.stepNum + 1, total: o.stepNum + 2 });
  const saliencyAfter = await saliency(model, adversarial, after.label, signal);
  onProgress({ done: o.stepNum + 2, total: o.stepNum + 2 });
  const linf = adversarial.reduce((m, v, i) => Math.max(m, Math.abs(v - (image[i] as number))), 0);
  const ms = performance.now() - start;
  return {
    result: { before, after, target, adversarial, saliencyBefore, saliencyAfter, linf, ms },
    transfer: [adversarial.buffer, saliencyBefore.buffer, saliencyAfter.buffer],
  };
}

/** The per-example losses of the influence panel (see {@link InfluenceLoss}). */
const LOSSES: Record<InfluenceLoss, LossFunction> = {
  'class-score': { loss: (row, y) => -(row[y as number] as number), gradient: (row, y) => row.map((_, j) => (j === y ? -1 : 0)) },
  'centred-class-score': {
    loss: (row, y) => -((row[y as number] as number) - row.reduce((a, v) => a + v, 0) / row.length),
    gradient: (row, y) => row.map((_, j) => (j === y ? -1 : 0) + 1 / row.length),
  },
};

/** TracInCPFast (one checkpoint: the final weights) over the first 32 sample digits: 3 proponents, 3 opponents. */
async function influence(model: M, samples: Samples, image: Float32Array, loss: InfluenceLoss, onProgress: (p: Progress) => void, signal: AbortSignal): Promise<Handled<InfluenceResult>> {
  if (!(loss in LOSSES)) throw new Error(`unknown loss '${String(loss)}'`);
  const start = performance.now();
  const p = await prediction(model, image);
  const b = model.backend;
  const xTrain = b.tensor(Float32Array.from(samples.images.slice(0, TRAINING_COUNT).flat()), [TRAINING_COUNT, 1, 8, 8]);
  const yTrain = samples.labels.slice(0, TRAINING_COUNT);
  const x = b.tensor(image, SHAPE);
  try {
    const tracin = new TracInCPFast(model, [xTrain, yTrain], { checkpoints: [{ learningRate: 1 }], lossFunc: LOSSES[loss] });
    onProgress({ done: 0, total: 2 });
    const top = await tracin.influence(x, [p.label], { k: 3, signal });
    onProgress({ done: 1, total: 2 });
    const bottom = await tracin.influence(x, [p.label], { k: 3, proponents: false, signal });
    onProgress({ done: 2, total: 2 });
    const list = (r: { indices: number[][]; influenceScores: number[][] }): Influential[] =>
      (r.indices[0] as number[]).map((index, k) => ({ index, label: samples.labels[index] as number, score: (r.influenceScores[0] as number[])[k] as number }));
    return { result: { prediction: p, label: p.label, loss, proponents: list(top), opponents: list(bottom), ms: performance.now() - start } };
  } finally {
    b.dispose(x);
    b.dispose(xTrain);
  }
}

/**
 * 40 synthetic 8×8 examples of a concept, drawn exactly as packages/cli/examples/concepts/make-concepts.mjs
 * draws them: `draw` sets pixels with `px`, then every pixel gets up to 0.1 of noise.
 */
function drawConcept(seed: number, draw: (next: () => number, px: (r: number, c: number, v?: number) => void) => void, count = 40): Float32Array {
  const rng = createRandom(seed);
  const next = (): number => rng.next();
  const out = new Float32Array(count * 64);
  for (let k = 0; k < count; k++) {
    const img = out.subarray(k * 64, (k + 1) * 64);
    const px = (r: number, c: number, v = 1): void => {
      if (r >= 0 && r < 8 && c >= 0 && c < 8) img[r * 8 + c] = Math.max(img[r * 8 + c] as number, v);
    };
    draw(next, px);
    for (let i = 0; i < 64; i++) img[i] = Math.min(1, (img[i] as number) + 0.1 * next());
  }
  return out;
}
const int = (next: () => number, n: number): number => Math.floor(next() * n);

const CONCEPT_IMAGES: { name: string; images: () => Float32Array }[] = [
  {
    name: 'horizontal stroke',
    images: () => drawConcept(1, (next, px) => {
      const r = 1 + int(next, 6);
      const c0 = int(next, 3);
      for (let c = c0; c < c0 + 5; c++) px(r, c);
    }),
  },
  {
    name: 'vertical stroke',
    images: () => drawConcept(2, (next, px) => {
      const c = 2 + int(next, 4);
      const r0 = int(next, 2);
      for (let r = r0; r < r0 + 6; r++) px(r, c);
    }),
  },
];
const RANDOM_IMAGES = (i: number): Float32Array =>
  drawConcept(100 + i, (next, px) => {
    for (let k = 0; k < 14; k++) px(int(next, 8), int(next, 8), 0.3 + 0.7 * next());
  });

const mean = (v: readonly number[]): number => v.reduce((a, x) => a + x, 0) / v.length;

/**
 * TCAV at {@link TCAV_LAYER} for the predicted class, over the sample digits of that class: each stroke concept
 * against ten random sets, and random set 0 against the nine others; a t-test per concept. One experimental set
 * per `interpret` call (activations and CAVs are kept by the TCAV object), so that progress and Cancel come
 * between sets.
 */
async function tcavScores(model: M, samples: Samples, image: Float32Array, onProgress: (p: Progress) => void, signal: AbortSignal): Promise<Handled<TcavResult>> {
  const start = performance.now();
  const p = await prediction(model, image);
  const target = p.label;
  const b = model.backend;
  const inputs = samples.labels.flatMap((label, i) => (label === target ? [i] : []));
  const owned: unknown[] = [];
  const tensor = (values: Float32Array, n: number): unknown => {
    const t = b.tensor(values, [n, 1, 8, 8]);
    owned.push(t);
    return t;
  };
  try {
    const concepts = CONCEPT_IMAGES.map((c, id) => new Concept(id, c.name, [tensor(c.images(), 40)]));
    const randoms = Array.from({ length: 10 }, (_, i) => new Concept(concepts.length + i, `random ${i}`, [tensor(RANDOM_IMAGES(i), 40)]));
    const x = tensor(Float32Array.from(inputs.flatMap((i) => samples.images[i] as number[])), inputs.length);
    const tcav = new TCAV(model, [TCAV_LAYER], { modelId: 'digits', classifier: new SGDClassifier({ seed: 0 }) });
    const conceptSets = concepts.map((c) => randoms.map((r) => [c, r]));
    const randomSets = randoms.slice(1).map((r) => [randoms[0] as Concept<unknown>, r]);
    const sets = [...conceptSets.flat(), ...randomSets];
    const scores: Awaited<ReturnType<typeof tcav.interpret>> = {};
    for (const [k, set] of sets.entries()) {
      signal.throwIfAborted();
      Object.assign(scores, await tcav.interpret(x, [set], { target }));
      onProgress({ done: k + 1, total: sets.length });
    }
    const randomScores = scoresAcross(scores, randomSets, TCAV_LAYER, 'signCount');
    const results: ConceptScores[] = concepts.map((c, k) => {
      const own = scoresAcross(scores, conceptSets[k] as Concept<unknown>[][], TCAV_LAYER, 'signCount');
      const { pValue } = tTest(own, randomScores);
      const accuracies = (conceptSets[k] as Concept<unknown>[][]).map((set) => tcav.cavs[conceptsKey(set)]?.[TCAV_LAYER]?.stats.accs ?? NaN);
      return { name: c.name, scores: own, mean: mean(own), accuracies, pValue, significant: pValue < SIGNIFICANCE };
    });
    return {
      result: { prediction: p, target, inputs, layer: TCAV_LAYER, concepts: results, randomScores, randomMean: mean(randomScores), ms: performance.now() - start },
    };
  } finally {
    for (const t of owned) b.dispose(t);
  }
}

serve<BeyondRequest, PredictResult | AttackResult | InfluenceResult | TcavResult>(async (request, onProgress, signal) => {
  const { model, samples } = await load();
  const image = request.image;
  if (!(image instanceof Float32Array) || image.length !== 64) throw new Error('the digit must be 64 values (8×8)');
  switch (request.type) {
    case 'predict':
      return { result: { prediction: await prediction(model, image) } };
    case 'attack':
      return attack(model, image, request.target, request.options, onProgress, signal);
    case 'influence':
      return influence(model, samples, image, request.loss, onProgress, signal);
    case 'tcav':
      return tcavScores(model, samples, image, onProgress, signal);
    default:
      throw new Error(`unknown request '${String((request as { type: unknown }).type)}'`);
  }
});
