import fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { ArgumentError } from '@attribution/tensor';
import { fromTfjs } from '@attribution/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { FeatureAblation, InputRole, Saliency, attributeDataset, type HostOutput, type InputRoleValue } from '../src/index.js';

// Captum's tests/attr/test_dataloader_attr.py. Expected values: fixtures/dataset_attr.json, written by
// fixtures/make_dataset_attr.py with Captum's DataLoaderAttribution(FeatureAblation) (float64; see the script).

interface Expected {
  shape: number[];
  values: number[];
}
interface Case {
  got: Expected | Expected[];
  per_batch?: Expected[];
}
const fixture = JSON.parse(fs.readFileSync(new URL('./fixtures/dataset_attr.json', import.meta.url), 'utf8')) as { W: number[]; B: number; cases: Record<string, Case> };

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const X1 = [[0.0, 0.1], [0.3, 0.4], [0.6, 0.7], [0.9, 1.0], [1.2, 1.3]];
const X2 = [[[0.1, 0.2], [0.3, 0.2]], [[0.4, 0.5], [0.3, 0.2]], [[0.8, 0.1], [0.2, 0.5]], [[1.1, 0.7], [0.1, 0.7]], [[0.6, 1.4], [1.2, 0.4]]];
const X3 = [[0], [1], [0], [0], [1]];

/** Captum's mock dataset in batches of 2 (5 examples: 2, 2, 1). */
const batches = (): tf.Tensor[][] =>
  [0, 2, 4].map((s) => [tf.tensor(X1.slice(s, s + 2)), tf.tensor(X2.slice(s, s + 2)), tf.tensor(X3.slice(s, s + 2))]);

const flat = (inps: tf.Tensor[]): tf.Tensor2D => tf.concat(inps.map((x) => tf.reshape(x, [x.shape[0] as number, -1])), 1) as tf.Tensor2D;
/** Captum's sum_forward. Function models receive the adapter's tap last. */
const sumForward = (...args: unknown[]): tf.Tensor => tf.sum(flat(args.filter((a): a is tf.Tensor => a instanceof tf.Tensor)), 1);
/** Captum's Linear(7) with the script's fixed weights: output [N, 1]. */
const linearForward = (...args: unknown[]): tf.Tensor => {
  const x = flat(args.filter((a): a is tf.Tensor => a instanceof tf.Tensor));
  const w = tf.tensor2d(fixture.W.slice(0, x.shape[1]), [x.shape[1], 1]);
  return tf.add(tf.matMul(x, w), fixture.B);
};
const FORWARDS = { sum: sumForward, linear: linearForward };

const masks = (): tf.Tensor[] => [tf.tensor([[0, 0]], undefined, 'int32'), tf.tensor([[[1, 2], [3, 2]]], undefined, 'int32'), tf.tensor([[4]], undefined, 'int32')];
const baselines = (): (number | tf.Tensor)[] => [tf.tensor([[0, -1]]), 1, 0.1];

async function check(got: tf.Tensor | tf.Tensor[], want: Expected | Expected[], tol = 2e-5): Promise<void> {
  const g = Array.isArray(got) ? got : [got];
  const w = Array.isArray(want) ? want : [want];
  expect(g).toHaveLength(w.length);
  for (const [i, t] of g.entries()) {
    const e = w[i] as Expected;
    expect(t.shape, `attribution ${i}`).toEqual(e.shape);
    const values = Array.from(await t.data());
    values.forEach((v, j) => expect(Math.abs(v - (e.values[j] as number)), `attribution ${i}[${j}]: ${v} vs ${e.values[j]}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(e.values[j] as number))));
  }
}

const meanAndSum = {
  reduce: (accum: { sum: number; count: number } | undefined, output: HostOutput) => {
    const a = accum ?? { sum: 0, count: 0 };
    return { sum: a.sum + output.values.reduce((x, y) => x + y, 0), count: a.count + (output.shape[0] as number) };
  },
};

describe('attributeDataset (Captum test_dataloader_attr.py)', () => {
  for (const f of ['sum', 'linear'] as const) {
    const fa = (): FeatureAblation<tf.Tensor> => new FeatureAblation(fromTfjs(FORWARDS[f]));
    it(`${f}: default reduce equals FeatureAblation per batch, concatenated (test_dl_attr)`, async () => {
      const c = fixture.cases[`${f}/default`] as Case;
      const r = await attributeDataset(fa(), batches());
      await check(r.attributions, c.got);
      await check(r.attributions, c.per_batch as Expected[]);
      expect(r.features).toBe(7);
      expect(r.passes).toBe(8);
      // and our own FeatureAblation per batch agrees
      const perBatch = await Promise.all(batches().map(async (b) => (await fa().attribute(b)).attributions));
      for (let i = 0; i < 3; i++) await check(tf.concat(perBatch.map((p) => p[i] as tf.Tensor)), (c.got as Expected[])[i] as Expected);
    });
    it(`${f}: feature mask (test_dl_attr_with_mask)`, async () => {
      await check((await attributeDataset(fa(), batches(), { featureMask: masks() })).attributions, (fixture.cases[`${f}/mask`] as Case).got);
    });
    it(`${f}: baselines (test_dl_attr_with_baseline)`, async () => {
      await check((await attributeDataset(fa(), batches(), { baselines: baselines() })).attributions, (fixture.cases[`${f}/baselines`] as Case).got);
    });
    for (const perturbationsPerPass of [2, 3, 4]) {
      it(`${f}: perturbationsPerPass ${perturbationsPerPass} (test_dl_attr_with_perturb_per_pass)`, async () => {
        let traversals = 0;
        const dataset = (): tf.Tensor[][] => {
          traversals++;
          return batches();
        };
        const r = await attributeDataset(fa(), dataset, { perturbationsPerPass });
        await check(r.attributions, (fixture.cases[`${f}/perturbations_per_pass=${perturbationsPerPass}`] as Case).got);
        // Captum: ⌈7 / p⌉ + 2 traversals (one to read a first batch); here ⌈7 / p⌉ + 1.
        expect(traversals).toBe(Math.ceil(7 / perturbationsPerPass) + 1);
        expect(r.passes).toBe(traversals);
      });
    }
  }

  it('reduce and toMetric: [mean, sum] of the outputs, [2, 7] (test_dl_attr_with_reduce_and_to_metric)', async () => {
    for (const f of ['sum', 'linear'] as const) {
      let reduces = 0;
      let metrics = 0;
      const r = await attributeDataset(new FeatureAblation(fromTfjs(FORWARDS[f])), batches(), {
        reduce: (a: { sum: number; count: number } | undefined, o: HostOutput) => {
          reduces++;
          return meanAndSum.reduce(a, o);
        },
        toMetric: (a) => {
          metrics++;
          return [a.sum / a.count, a.sum];
        },
        returnInputShape: false,
      });
      expect(reduces).toBe(3 * 8);
      expect(metrics).toBe(8);
      await check(r.attributions, (fixture.cases[`${f}/reduce_to_metric`] as Case).got);
    }
  });

  it('a scalar metric: one row of attributions', async () => {
    const fa = new FeatureAblation(fromTfjs(linearForward));
    const toMetric = (a: { sum: number; count: number }): number => a.sum / a.count;
    const flat1 = await attributeDataset(fa, batches(), { ...meanAndSum, toMetric, returnInputShape: false });
    await check(flat1.attributions, (fixture.cases['linear/scalar_metric'] as Case).got);
    const shaped = await attributeDataset(fa, batches(), { ...meanAndSum, toMetric, featureMask: masks() });
    await check(shaped.attributions, (fixture.cases['linear/scalar_metric_input_shape'] as Case).got);
  });

  for (const roles of [[0, 0, 0], [0, 1, 0], [0, 1, 1], [0, 1, 2], [0, 2, 2]] as InputRoleValue[][]) {
    it(`input roles ${roles.join('')} (test_dl_attr_with_input_roles)`, async () => {
      const forwardCount = roles.filter((r) => r !== InputRole.noForward).length;
      const model = fromTfjs((...args: unknown[]) => {
        expect(args.filter((a) => a instanceof tf.Tensor)).toHaveLength(forwardCount);
        return sumForward(...args);
      });
      const r = await attributeDataset(new FeatureAblation(model), batches(), {
        inputRoles: roles,
        reduce: (accum: HostOutput | undefined, output, inputs) => {
          expect(inputs).toHaveLength(3); // reduce sees every element of the batch
          return accum ? { values: Float64Array.from([...accum.values, ...output.values]), shape: [] } : output;
        },
      });
      await check(r.attributions, (fixture.cases[`sum/input_roles=${roles.join('')}`] as Case).got);
    });
  }

  it('returnInputShape false: [examples, features] (test_dl_attr_not_return_input_shape, …_with_mask_…)', async () => {
    const fa = new FeatureAblation(fromTfjs(sumForward));
    await check((await attributeDataset(fa, batches(), { returnInputShape: false })).attributions, (fixture.cases['sum/not_input_shape'] as Case).got);
    await check((await attributeDataset(fa, batches(), { featureMask: masks(), returnInputShape: false })).attributions, (fixture.cases['sum/mask_not_input_shape'] as Case).got);
    const lin = new FeatureAblation(fromTfjs(linearForward));
    await check((await attributeDataset(lin, batches(), { featureMask: masks(), baselines: baselines(), returnInputShape: false })).attributions, (fixture.cases['linear/mask_baselines_not_input_shape'] as Case).got);
  });

  it('async iterables, single-tensor batches', async () => {
    const fa = new FeatureAblation(fromTfjs(sumForward));
    async function* gen(): AsyncGenerator<tf.Tensor> {
      for (const s of [0, 2, 4]) yield tf.tensor(X1.slice(s, s + 2));
    }
    const r = await attributeDataset(fa, () => gen());
    expect(Array.isArray(r.attributions)).toBe(false);
    await check(r.attributions, { shape: [5, 2], values: X1.flat() });
    expect(Array.from(r.metric)).toEqual(X1.map((row) => Math.fround(Math.fround(row[0] as number) + Math.fround(row[1] as number))));
  });

  it('typed errors', async () => {
    const fa = new FeatureAblation(fromTfjs(sumForward));
    await expect(attributeDataset(new Saliency(fromTfjs(sumForward)) as never, batches())).rejects.toThrow(/method: expected a FeatureAblation/);
    function* once(): Generator<tf.Tensor[]> {
      yield* batches();
    }
    await expect(attributeDataset(fa, once())).rejects.toThrow(/one-shot iterator/);
    await expect(attributeDataset(fa, [])).rejects.toThrow(/at least one batch/);
    await expect(attributeDataset(fa, batches(), { inputRoles: [0, 1] })).rejects.toThrow(ArgumentError);
    await expect(attributeDataset(fa, batches(), { inputRoles: [1, 1, 2] })).rejects.toThrow(/at least one element to attribute/);
    await expect(attributeDataset(fa, batches(), { baselines: [0, 0] })).rejects.toThrow(/baselines: expected 3 values/);
    await expect(attributeDataset(fa, batches(), { baselines: [tf.tensor([[0, 1], [1, 1]]), 0, 0] })).rejects.toThrow(/first dimension is 1/);
    await expect(attributeDataset(fa, batches(), { featureMask: [tf.tensor([[0, 0, 1]], undefined, 'int32'), masks()[1] as tf.Tensor, masks()[2] as tf.Tensor] })).rejects.toThrow(/featureMask\[0\]: expected shape \[1, 2\]/);
    await expect(attributeDataset(fa, batches(), { perturbationsPerPass: 0 })).rejects.toThrow(/perturbationsPerPass/);
    await expect(attributeDataset(fa, batches(), { perturbationPerPass: 2 } as never)).rejects.toThrow(/options.perturbationPerPass/);
    await expect(attributeDataset(fa, batches(), { reduce: () => ({ n: 1 }) })).rejects.toThrow(/reduce's result/);
    const mixed = [...batches(), [tf.tensor([[1, 2, 3]]), tf.tensor([[[1, 1], [1, 1]]]), tf.tensor([[1]])]];
    await expect(attributeDataset(fa, mixed)).rejects.toThrow(/per-example shape \[2\], as the first batch/);
    const controller = new AbortController();
    controller.abort();
    await expect(attributeDataset(fa, batches(), { signal: controller.signal })).rejects.toThrow();
  });
});
