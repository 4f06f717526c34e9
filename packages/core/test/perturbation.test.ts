import * as tf from '@tensorflow/tfjs';
import { tfjsBackend } from '@attribution/tfjs';
import { createRandom } from '@attribution/tensor';
import { describe, expect, it } from 'vitest';
import { BatchComposer, Scope, windowFeatures, type Copy, type FeaturePositions, type FeatureSet, type PerturbationCall } from '../src/index.js';

// Two inputs of 2 examples: [2, 3, 5] float32 and [2, 4] float64 (float64 is composed in a Float64Array).
const N = 2;
const SHAPES = [
  [N, 3, 5],
  [N, 4],
] as const;
const PER = [15, 4];

function fixture(seed: number) {
  const rng = createRandom(seed);
  const values = (count: number): Float64Array => Float64Array.from({ length: count }, () => Math.round(rng.normal() * 100) / 8);
  const call = {
    x: { tensors: [0, 1] as unknown as tf.Tensor[], single: false, batchSize: N, shapes: SHAPES.map((s) => [...s]) },
    inputData: PER.map((p) => values(N * p)),
    baselineData: PER.map((p) => values(N * p)),
    dtypes: ['float32', 'float64'],
  } as unknown as PerturbationCall<tf.Tensor>;
  // Six features: random positions in input 0 (shared by both examples), per-example positions in input 1.
  const subset = (size: number): Int32Array => Int32Array.from(Array.from({ length: size }, (_, i) => i).filter(() => rng.next() < 0.4));
  const positions: FeaturePositions[] = Array.from({ length: 6 }, (_, f) => [subset(PER[0] as number), f % 2 ? [subset(4), subset(4)] : undefined]);
  const features: FeatureSet = { ids: positions.map((_, i) => i), positions: (f) => positions[f] as FeaturePositions };
  return { rng, call, features };
}

/** The batch composed from scratch: each copy starts from its base and takes its switched features from the source. */
function reference(call: PerturbationCall<tf.Tensor>, features: FeatureSet, copies: readonly Copy[], t: number): Float64Array {
  const per = PER[t] as number;
  const input = call.inputData[t] as Float64Array;
  const baseline = call.baselineData[t] as Float64Array;
  const out = new Float64Array(copies.length * N * per);
  copies.forEach((copy, c) => {
    out.set(copy.base === 'input' ? input : baseline, c * N * per);
    const from = copy.from ?? (copy.base === 'input' ? 'baseline' : 'input');
    for (let i = 0; i < N; i++) {
      const own = Array.isArray(copy.switched[0]) ? ((copy.switched as number[][])[i] as number[]) : (copy.switched as number[]);
      for (const f of own) {
        const where = features.positions(f)[t];
        if (!where) continue;
        const list = where instanceof Int32Array ? where : (where[i] as Int32Array);
        const src = from === 'baseline' ? baseline : input;
        const row = typeof from === 'string' ? i : (from.rows[i] as number);
        for (const p of list) out[(c * N + i) * per + p] = src[row * per + p] as number;
      }
    }
  });
  return out;
}

describe('BatchComposer', () => {
  it('reusing its buffers, composes every batch exactly as from scratch (bases, switches, sources and sizes varying)', async () => {
    const { rng, call, features } = fixture(11);
    const composer = new BatchComposer(tfjsBackend, call, features);
    const before = tf.memory().numTensors;
    const pick = (): number[] => features.ids.filter(() => rng.next() < 0.35);
    for (let round = 0; round < 60; round++) {
      const size = round % 3 === 2 ? 2 : 5;
      const copies: Copy[] = Array.from({ length: size }, () => {
        const kind = rng.int(4);
        const base = rng.next() < 0.5 ? 'input' : 'baseline';
        if (kind === 0) return { base, switched: [] };
        if (kind === 1) return { base, switched: [pick(), pick()] };
        if (kind === 2) return { base: 'input', switched: pick(), from: { rows: Int32Array.from([1, 0]) } };
        return { base, switched: features.ids.filter(() => rng.next() < 0.9), from: base };
      });
      const scope = new Scope(tfjsBackend);
      const batch = composer.compose(copies, scope);
      for (let t = 0; t < 2; t++) {
        expect((batch[t] as tf.Tensor).shape).toEqual([size * N, ...(SHAPES[t] as readonly number[]).slice(1)]);
        // tfjs holds both as float32.
        expect(Array.from(await (batch[t] as tf.Tensor).data())).toEqual(Array.from(Float32Array.from(reference(call, features, copies, t))));
      }
      scope.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('occlusion windows: every window composed after another restores the previous one', async () => {
    const call = {
      x: { tensors: [0] as unknown as tf.Tensor[], single: true, batchSize: 1, shapes: [[1, 1, 6, 6]] },
      inputData: [Float64Array.from({ length: 36 }, (_, i) => i + 1)],
      baselineData: [new Float64Array(36)],
      dtypes: ['float32'],
    } as unknown as PerturbationCall<tf.Tensor>;
    const features = windowFeatures([[1, 1, 6, 6]], [[1, 3, 3]], [[1, 2, 2]]);
    expect(features.ids.length).toBe(9);
    const composer = new BatchComposer(tfjsBackend, call, features);
    for (let first = 0; first < 9; first += 3) {
      const scope = new Scope(tfjsBackend);
      const [batch] = composer.compose([0, 1, 2].map((k) => ({ base: 'input', switched: [first + k] })), scope);
      const data = await (batch as tf.Tensor).data();
      for (let k = 0; k < 3; k++) {
        const zeros = new Set(features.positions(first + k)[0] as Int32Array);
        for (let p = 0; p < 36; p++) expect(data[k * 36 + p]).toBe(zeros.has(p) ? 0 : p + 1);
      }
      scope.dispose();
    }
  });
});
