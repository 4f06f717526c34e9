import fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { fromOnnx } from '@attribution/onnx';
import { ArgumentError, type Backend, type Model } from '@attribution/tensor';
import { fromTfjs } from '@attribution/tfjs';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { beforeAll, describe, expect, it } from 'vitest';
import { FeatureAblation, InputRole, Saliency, attributeDataset, type HostOutput, type InputRoleValue } from '@attribution/primary';

// Captum's tests/attr/test_dataloader_attr.py. Expected values: fixtures/dataset/dataset_attr.json, written by
// fixtures/dataset/make_dataset_attr.py with Captum's DataLoaderAttribution(FeatureAblation) (float64; see the script).
// Every case runs on tfjs (function models) and on both ONNX Runtime builds (fixtures/dataset/dataset_models/*.onnx,
// the same two forward functions exported by fixtures/dataset/make_dataset_models.py).

interface Expected {
  shape: number[];
  values: number[];
}
interface Case {
  got: Expected | Expected[];
  per_batch?: Expected[];
}
const fixture = JSON.parse(fs.readFileSync(new URL('../fixtures/dataset/dataset_attr.json', import.meta.url), 'utf8')) as { W: number[]; B: number; cases: Record<string, Case> };

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const X1 = [[0.0, 0.1], [0.3, 0.4], [0.6, 0.7], [0.9, 1.0], [1.2, 1.3]];
const X2 = [[[0.1, 0.2], [0.3, 0.2]], [[0.4, 0.5], [0.3, 0.2]], [[0.8, 0.1], [0.2, 0.5]], [[1.1, 0.7], [0.1, 0.7]], [[0.6, 1.4], [1.2, 0.4]]];
const X3 = [[0], [1], [0], [0], [1]];

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
type Forward = keyof typeof FORWARDS;

/** A backend under test: a model of Captum's sum or linear forward over the first `inputs` of X1, X2, X3. */
interface Runtime {
  readonly name: string;
  model(forward: Forward, inputs: number): Promise<Model<unknown>>;
}
const onnxRuntime = (name: string, ort: typeof ortNode): Runtime => ({
  name,
  model: async (forward, inputs) => (await fromOnnx(ort, new URL(`../fixtures/dataset/dataset_models/${forward}_${inputs}.onnx`, import.meta.url).pathname)) as Model<unknown>,
});
const RUNTIMES: Runtime[] = [
  { name: 'tfjs', model: async (forward) => fromTfjs(FORWARDS[forward]) as Model<unknown> },
  onnxRuntime('onnxruntime-node', ortNode),
  onnxRuntime('onnxruntime-web', ortWeb as unknown as typeof ortNode),
];

/** Nested arrays as a tensor of the backend. */
function make<T>(backend: Backend<T>, rows: unknown, dtype: 'float32' | 'int32' = 'float32'): T {
  const shape: number[] = [];
  for (let v = rows; Array.isArray(v); v = v[0]) shape.push(v.length);
  return backend.tensor((rows as unknown[]).flat(3) as number[], shape, dtype);
}
/** Captum's mock dataset in batches of 2 (5 examples: 2, 2, 1). */
const batches = <T>(b: Backend<T>): T[][] => [0, 2, 4].map((s) => [make(b, X1.slice(s, s + 2)), make(b, X2.slice(s, s + 2)), make(b, X3.slice(s, s + 2))]);
const masks = <T>(b: Backend<T>): T[] => [make(b, [[0, 0]], 'int32'), make(b, [[[1, 2], [3, 2]]], 'int32'), make(b, [[4]], 'int32')];
const baselines = <T>(b: Backend<T>): (number | T)[] => [make(b, [[0, -1]]), 1, 0.1];

async function check<T>(backend: Backend<T>, got: T | T[], want: Expected | Expected[], tol = 2e-5): Promise<void> {
  const g = Array.isArray(got) ? got : [got];
  const w = Array.isArray(want) ? want : [want];
  expect(g).toHaveLength(w.length);
  for (const [i, t] of g.entries()) {
    const e = w[i] as Expected;
    expect(backend.shape(t), `attribution ${i}`).toEqual(e.shape);
    const values = Array.from(await backend.data(t) as ArrayLike<number>, Number);
    values.forEach((v, j) => expect(Math.abs(v - (e.values[j] as number)), `attribution ${i}[${j}]: ${v} vs ${e.values[j]}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(e.values[j] as number))));
  }
}

const meanAndSum = {
  reduce: (accum: { sum: number; count: number } | undefined, output: HostOutput) => {
    const a = accum ?? { sum: 0, count: 0 };
    return { sum: a.sum + output.values.reduce((x, y) => x + y, 0), count: a.count + (output.shape[0] as number) };
  },
};

describe.each(RUNTIMES)('attributeDataset on $name (Captum test_dataloader_attr.py)', (runtime) => {
  const fa = async (f: Forward, inputs = 3): Promise<FeatureAblation<unknown>> => new FeatureAblation(await runtime.model(f, inputs));
  for (const f of ['sum', 'linear'] as const) {
    it(`${f}: default reduce equals FeatureAblation per batch, concatenated (test_dl_attr)`, async () => {
      const c = fixture.cases[`${f}/default`] as Case;
      const m = await fa(f);
      const b = m.model.backend;
      const r = await attributeDataset(m, batches(b));
      await check(b, r.attributions, c.got);
      await check(b, r.attributions, c.per_batch as Expected[]);
      expect(r.features).toBe(7);
      expect(r.passes).toBe(8);
      // and our own FeatureAblation per batch agrees
      const perBatch = await Promise.all(batches(b).map(async (x) => (await m.attribute(x)).attributions as unknown[]));
      for (let i = 0; i < 3; i++) await check(b, b.concat(perBatch.map((p) => p[i]), 0), (c.got as Expected[])[i] as Expected);
    });
    it(`${f}: feature mask (test_dl_attr_with_mask)`, async () => {
      const m = await fa(f);
      await check(m.model.backend, (await attributeDataset(m, batches(m.model.backend), { featureMask: masks(m.model.backend) })).attributions, (fixture.cases[`${f}/mask`] as Case).got);
    });
    it(`${f}: baselines (test_dl_attr_with_baseline)`, async () => {
      const m = await fa(f);
      await check(m.model.backend, (await attributeDataset(m, batches(m.model.backend), { baselines: baselines(m.model.backend) })).attributions, (fixture.cases[`${f}/baselines`] as Case).got);
    });
    for (const perturbationsPerPass of [2, 3, 4]) {
      it(`${f}: perturbationsPerPass ${perturbationsPerPass} (test_dl_attr_with_perturb_per_pass)`, async () => {
        const m = await fa(f);
        let traversals = 0;
        const dataset = (): unknown[][] => {
          traversals++;
          return batches(m.model.backend);
        };
        const r = await attributeDataset(m, dataset, { perturbationsPerPass });
        await check(m.model.backend, r.attributions, (fixture.cases[`${f}/perturbations_per_pass=${perturbationsPerPass}`] as Case).got);
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
      const m = await fa(f);
      const r = await attributeDataset(m, batches(m.model.backend), {
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
      await check(m.model.backend, r.attributions, (fixture.cases[`${f}/reduce_to_metric`] as Case).got);
    }
  });

  it('a scalar metric: one row of attributions', async () => {
    const m = await fa('linear');
    const b = m.model.backend;
    const toMetric = (a: { sum: number; count: number }): number => a.sum / a.count;
    const flat1 = await attributeDataset(m, batches(b), { ...meanAndSum, toMetric, returnInputShape: false });
    await check(b, flat1.attributions, (fixture.cases['linear/scalar_metric'] as Case).got);
    const shaped = await attributeDataset(m, batches(b), { ...meanAndSum, toMetric, featureMask: masks(b) });
    await check(b, shaped.attributions, (fixture.cases['linear/scalar_metric_input_shape'] as Case).got);
  });

  for (const roles of [[0, 0, 0], [0, 1, 0], [0, 1, 1], [0, 1, 2], [0, 2, 2]] as InputRoleValue[][]) {
    it(`input roles ${roles.join('')} (test_dl_attr_with_input_roles)`, async () => {
      const forwardCount = roles.filter((r) => r !== InputRole.noForward).length;
      // ONNX: a model of exactly the forwarded inputs (any other count is refused by the adapter); tfjs: counted here.
      const model = runtime.name === 'tfjs'
        ? (fromTfjs((...args: unknown[]) => {
            expect(args.filter((a) => a instanceof tf.Tensor)).toHaveLength(forwardCount);
            return sumForward(...args);
          }) as Model<unknown>)
        : await runtime.model('sum', forwardCount);
      const r = await attributeDataset(new FeatureAblation(model), batches(model.backend), {
        inputRoles: roles,
        reduce: (accum: HostOutput | undefined, output, inputs) => {
          expect(inputs).toHaveLength(3); // reduce sees every element of the batch
          return accum ? { values: Float64Array.from([...accum.values, ...output.values]), shape: [] } : output;
        },
      });
      await check(model.backend, r.attributions, (fixture.cases[`sum/input_roles=${roles.join('')}`] as Case).got);
    });
  }

  it('returnInputShape false: [examples, features] (test_dl_attr_not_return_input_shape, …_with_mask_…)', async () => {
    const m = await fa('sum');
    const b = m.model.backend;
    await check(b, (await attributeDataset(m, batches(b), { returnInputShape: false })).attributions, (fixture.cases['sum/not_input_shape'] as Case).got);
    await check(b, (await attributeDataset(m, batches(b), { featureMask: masks(b), returnInputShape: false })).attributions, (fixture.cases['sum/mask_not_input_shape'] as Case).got);
    const lin = await fa('linear');
    await check(lin.model.backend, (await attributeDataset(lin, batches(lin.model.backend), { featureMask: masks(lin.model.backend), baselines: baselines(lin.model.backend), returnInputShape: false })).attributions, (fixture.cases['linear/mask_baselines_not_input_shape'] as Case).got);
  });

  it('async iterables, single-tensor batches', async () => {
    const m = await fa('sum', 1);
    const b = m.model.backend;
    async function* gen(): AsyncGenerator<unknown> {
      for (const s of [0, 2, 4]) yield make(b, X1.slice(s, s + 2));
    }
    const r = await attributeDataset(m, () => gen());
    expect(Array.isArray(r.attributions)).toBe(false);
    await check(b, r.attributions, { shape: [5, 2], values: X1.flat() });
    expect(Array.from(r.metric)).toEqual(X1.map((row) => Math.fround(Math.fround(row[0] as number) + Math.fround(row[1] as number))));
  });
});

describe('attributeDataset: typed errors', () => {
  const tfBatches = (): tf.Tensor[][] => batches(fromTfjs(sumForward).backend) as tf.Tensor[][];
  it('typed errors', async () => {
    const fa = new FeatureAblation(fromTfjs(sumForward));
    await expect(attributeDataset(new Saliency(fromTfjs(sumForward)) as never, tfBatches())).rejects.toThrow(/method: expected a FeatureAblation/);
    function* once(): Generator<tf.Tensor[]> {
      yield* tfBatches();
    }
    await expect(attributeDataset(fa, once())).rejects.toThrow(/one-shot iterator/);
    await expect(attributeDataset(fa, [])).rejects.toThrow(/at least one batch/);
    await expect(attributeDataset(fa, tfBatches(), { inputRoles: [0, 1] })).rejects.toThrow(ArgumentError);
    await expect(attributeDataset(fa, tfBatches(), { inputRoles: [1, 1, 2] })).rejects.toThrow(/at least one element to attribute/);
    await expect(attributeDataset(fa, tfBatches(), { baselines: [0, 0] })).rejects.toThrow(/baselines: expected 3 values/);
    await expect(attributeDataset(fa, tfBatches(), { baselines: [tf.tensor([[0, 1], [1, 1]]), 0, 0] })).rejects.toThrow(/first dimension is 1/);
    await expect(attributeDataset(fa, tfBatches(), { featureMask: [tf.tensor([[0, 0, 1]], undefined, 'int32'), ...(masks(fromTfjs(sumForward).backend).slice(1) as tf.Tensor[])] })).rejects.toThrow(/featureMask\[0\]: expected shape \[1, 2\]/);
    await expect(attributeDataset(fa, tfBatches(), { perturbationsPerPass: 0 })).rejects.toThrow(/perturbationsPerPass/);
    await expect(attributeDataset(fa, tfBatches(), { perturbationPerPass: 2 } as never)).rejects.toThrow(/options.perturbationPerPass/);
    await expect(attributeDataset(fa, tfBatches(), { reduce: () => ({ n: 1 }) })).rejects.toThrow(/reduce's result/);
    const mixed = [...tfBatches(), [tf.tensor([[1, 2, 3]]), tf.tensor([[[1, 1], [1, 1]]]), tf.tensor([[1]])]];
    await expect(attributeDataset(fa, mixed)).rejects.toThrow(/per-example shape \[2\], as the first batch/);
    const controller = new AbortController();
    controller.abort();
    await expect(attributeDataset(fa, tfBatches(), { signal: controller.signal })).rejects.toThrow();
  });
});
