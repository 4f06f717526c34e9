import * as tf from '@tensorflow/tfjs';
import { toNumbers, type Backend, type Model } from '@attribution/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { AttackComparator, FGSM, MinParamPerturbation } from '../src/index.js';
import { cases, onnxModel, runtimes, tfjsModels } from './models.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Loads the fixture models of one backend. */
type Loader = (name: string) => Promise<Model<unknown>>;
const backends: { name: string; load: Loader }[] = [
  { name: 'tfjs-cpu', load: async (name) => (tfjsModels[name === 'multilayer_add' ? 'multilayer' : name] as () => Model<unknown>)() },
  ...runtimes.map(({ name, ort }) => ({ name, load: (model: string) => onnxModel(ort, model) })),
];

/** Deep comparison with Captum's values: same structure, numbers within 1e-5 relative (Captum averages in float32). */
function expectClose(got: unknown, want: unknown, where = ''): void {
  if (typeof want === 'number') {
    expect(typeof got, where).toBe('number');
    expect(Math.abs((got as number) - want), `${where}: ${String(got)} vs ${want}`).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(want)));
  } else if (Array.isArray(want)) {
    expect(Array.isArray(got), where).toBe(true);
    expect((got as unknown[]).length, where).toBe(want.length);
    want.forEach((w, i) => expectClose((got as unknown[])[i], w, `${where}[${i}]`));
  } else if (want !== null && typeof want === 'object') {
    expect(Object.keys(got as object).sort(), where).toEqual(Object.keys(want).sort());
    for (const [k, w] of Object.entries(want)) expectClose((got as Record<string, unknown>)[k], w, `${where}.${k}`);
  } else expect(got, where).toEqual(want);
}

const rowsOf = async <T>(b: Backend<T>, t: T): Promise<{ data: number[]; n: number; c: number }> => {
  const [n, c] = b.shape(t) as [number, number];
  return { data: Array.from(toNumbers(await b.data(t))) as number[], n, c };
};

/** Captum's tuple_metric: accuracy of the argmax against `target`, and the target's output. */
function tupleMetric<T>(b: Backend<T>) {
  return async (out: T, kwargs: Readonly<Record<string, unknown>>) => {
    const { data, n, c } = await rowsOf(b, out);
    const target = kwargs.target as number;
    const acc: number[] = [];
    const output: number[] = [];
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let j = 1; j < c; j++) if ((data[i * c + j] as number) > (data[i * c + best] as number)) best = j;
      acc.push(best === target ? 1 : 0);
      output.push(data[i * c + target] as number);
    }
    // named_tuple: one example gives numbers (Captum's .item()), several give arrays.
    return n === 1 ? { accuracy: acc[0] as number, output: output[0] as number } : { accuracy: acc, output };
  };
}

/** A host-side edit of a 2-D tensor's values. */
async function edit<T>(b: Backend<T>, t: T, fn: (data: Float32Array, n: number, c: number) => void): Promise<T> {
  const [n, c] = b.shape(t) as [number, number];
  const data = Float32Array.from(toNumbers(await b.data(t)));
  fn(data, n, c);
  return b.tensor(data, [n, c], 'float32');
}

const textPreproc = <T>(b: Backend<T>) => (inp: readonly string[]): T => b.tensor(Float32Array.from(inp.map((s) => s.charCodeAt(0))), [1, inp.length], 'float32');
const batchTextPreproc = <T>(b: Backend<T>) => (inp: readonly (readonly string[])[]): T =>
  b.tensor(Float32Array.from(inp.flatMap((row) => row.map((s) => s.charCodeAt(0)))), [inp.length, (inp[0] as readonly string[]).length], 'float32');
const stringPerturb = (inp: readonly string[]): string[] => inp.map((s) => `a${s}`);
const stringBatchPerturb = (inp: readonly (readonly string[])[]): string[][] => inp.map(stringPerturb);

/** Captum's SamplePerturb: zeroes column `count mod columns`, one more each call. */
class SamplePerturb<T> {
  count = 0;
  constructor(private readonly b: Backend<T>) {}
  perturb = async (inp: T): Promise<T> => {
    const k = this.count++;
    return edit(this.b, inp, (d, n, c) => {
      for (let i = 0; i < n; i++) d[i * c + (k % c)] = 0;
    });
  };
}

const comparatorCase = (id: string) => cases.comparator.find((c) => c.id === id) as (typeof cases.comparator)[number];

for (const { name, load } of backends) {
  describe(`AttackComparator matches Captum 0.8 (${name})`, () => {
    it('comparator basic: two evaluations and the summary', async () => {
      const c = comparatorCase('comparator basic');
      const offset = await load('offset');
      const basic = await load('basic');
      const b = offset.backend;
      const comp = new AttackComparator(offset, tupleMetric(b));
      const dropColumnPerturb = (inp: unknown, kw: { column: number }) =>
        edit(b, inp, (d, n, cols) => {
          for (let i = 0; i < n; i++) d[i * cols + ((kw.column + cols) % cols)] = 0;
        });
      comp.addAttack(dropColumnPerturb, { name: 'first_column_perturb', attackKwargs: { column: 0 } });
      comp.addAttack(dropColumnPerturb, { name: 'last_column_perturb', attackKwargs: { column: -1 } });
      comp.addAttack(new FGSM(basic), { attackKwargs: { epsilon: 0.5 }, additionalAttackArgNames: ['target'] });
      const x1 = b.tensor(Float32Array.from([2, -9, 9, 1, -3]), [1, 5], 'float32');
      const x2 = b.tensor(Float32Array.from([1, 2, -3, 4, -5]), [1, 5], 'float32');
      expectClose(await comp.evaluate(x1, { target: 0, named_tuple: true }), c.evaluations[0]);
      expectClose(await comp.evaluate(x2, { target: 4, named_tuple: true }), c.evaluations[1]);
      expectClose(comp.summary(), c.summary);
      b.dispose([x1, x2]);
    });

    for (const ppe of [1, 3]) {
      it(`comparator preproc ppe ${ppe}: attacks before and after preprocessing, several attempts`, async () => {
        const c = comparatorCase(`comparator preproc ppe ${ppe}`);
        const model = await load('multilayer');
        const b = model.backend;
        const comp = new AttackComparator<unknown, string[]>(model, tupleMetric(b), textPreproc(b));
        comp.addAttack(new SamplePerturb(b).perturb, { name: 'Sequence Column Perturb', numAttempts: 5, applyBeforePreproc: false });
        comp.addAttack(stringPerturb, { name: 'StringPerturb', applyBeforePreproc: true });
        expectClose(await comp.evaluate(['abc', 'zyd', 'ghi'], { target: 0, named_tuple: true, perturbationsPerEval: ppe }), c.evaluations[0]);
        expectClose(comp.summary(), c.summary);
      });
    }

    for (const ppe of [1, 2]) {
      it(`comparator additional args ppe ${ppe}: batches and repeated forward arguments; reset`, async () => {
        const c = comparatorCase(`comparator additional args ppe ${ppe}`);
        const model = await load('multilayer_add');
        const b = model.backend;
        const comp = new AttackComparator<unknown, string[][]>(model, tupleMetric(b), batchTextPreproc(b));
        comp.addAttack(new SamplePerturb(b).perturb, { name: 'Sequence Column Perturb', numAttempts: 5, applyBeforePreproc: false });
        comp.addAttack(stringBatchPerturb, { name: 'StringPerturb', applyBeforePreproc: true });
        const add = b.tensor(new Float32Array(6).fill(-97), [2, 3], 'float32');
        const r = await comp.evaluate(
          [
            ['abc', 'zyd', 'ghi'],
            ['mnop', 'qrs', 'Tuv'],
          ],
          { additionalForwardArgs: add, target: 0, named_tuple: true, perturbationsPerEval: ppe },
        );
        expectClose(r, c.evaluations[0]);
        expectClose(comp.summary(), c.summary);
        comp.reset();
        expect(Object.keys(comp.summary())).toHaveLength(0);
        b.dispose(add);
      });
    }
  });

  describe(`MinParamPerturbation matches Captum 0.8 (${name})`, () => {
    const inpSubtract = <T>(b: Backend<T>) => (inp: T, kw: { ind: number; add_arg: number }) =>
      edit(b, inp, (d) => {
        d[kw.ind] = Math.fround((d[kw.ind] as number) - kw.add_arg);
      });
    const addChar = (inp: readonly string[], kw: { ind: number; char_val: number }): string[] =>
      inp.map((s, i) => (i === kw.ind ? String.fromCharCode(122 - kw.char_val) + s : s));
    const addCharBatch = (inp: readonly (readonly string[])[], kw: { ind: number; char_val: number }): string[][] => inp.map((row) => addChar(row, kw));
    const altCorrect = <T>(b: Backend<T>) => async (out: T, kw: Readonly<Record<string, unknown>>) => {
      const { data, n, c } = await rowsOf(b, out);
      for (let i = 0; i < n; i++) if (!((data[i * c + (kw.target as number)] as number) > (kw.threshold as number))) return false;
      return true;
    };

    for (const c of cases.minparam.filter((m) => m.id.startsWith('minparam basic') || m.id.startsWith('minparam fractional'))) {
      it(c.id, async () => {
        const model = await load('offset');
        const b = model.backend;
        const mp = new MinParamPerturbation(model, inpSubtract(b), {
          argName: 'add_arg',
          argMin: c.argMin ?? 0,
          argMax: c.argMax ?? 1000,
          argStep: c.argStep ?? 1,
          ...(c.mode ? { mode: c.mode } : {}),
        });
        const x = b.tensor(Float32Array.from([2, -9, 9, 1, -3]), [1, 5], 'float32');
        const r = await mp.evaluate<unknown>(x, { target: 0, attackKwargs: { ind: 0 }, perturbationsPerEval: c.perturbationsPerEval ?? 1 });
        expect(r.param).toBe(c.param);
        expectClose(Array.from(toNumbers(await b.data(r.perturbed as never))), (c.perturbed as number[][]).flat());
        b.dispose([x, r.perturbed as never]);
      });
    }

    it('minparam preproc none found', async () => {
      const model = await load('multilayer');
      const b = model.backend;
      const mp = new MinParamPerturbation<unknown, string[]>(model, addChar, { argName: 'char_val', argMin: 0, argMax: 26, argStep: 1, preprocFn: textPreproc(b), applyBeforePreproc: true });
      expect(await mp.evaluate(['abc', 'zyd', 'ghi'], { target: 1, attackKwargs: { ind: 1 } })).toEqual({ perturbed: null, param: null });
    });

    for (const c of cases.minparam.filter((m) => m.id.startsWith('minparam alt correct'))) {
      it(c.id, async () => {
        const model = await load('multilayer');
        const b = model.backend;
        const mp = new MinParamPerturbation<unknown, string[]>(model, addChar, {
          argName: 'char_val',
          argMin: 0,
          argMax: 26,
          argStep: 1,
          preprocFn: textPreproc(b),
          applyBeforePreproc: true,
          correctFn: altCorrect(b),
          numAttempts: 5,
          mode: c.mode as 'linear' | 'binary',
        });
        const r = await mp.evaluate(['abc', 'zyd', 'ghi'], { target: 1, attackKwargs: { ind: 1 }, correctFnKwargs: { threshold: 1200 }, perturbationsPerEval: c.perturbationsPerEval as number });
        expect(r).toEqual({ perturbed: c.perturbed, param: c.param });
      });
    }

    for (const c of cases.minparam.filter((m) => m.id.startsWith('minparam additional forward args'))) {
      it(c.id, async () => {
        const model = await load('multilayer_add');
        const b = model.backend;
        const mp = new MinParamPerturbation<unknown, string[][]>(model, addCharBatch, {
          argName: 'char_val',
          argMin: 0,
          argMax: 26,
          argStep: 1,
          preprocFn: batchTextPreproc(b),
          applyBeforePreproc: true,
          correctFn: altCorrect(b),
        });
        const add = b.tensor(new Float32Array(6).fill(-97), [2, 3], 'float32');
        const inputs = [
          ['abc', 'zyd', 'ghi'],
          ['abc', 'uyd', 'ghi'],
        ];
        const r = await mp.evaluate(inputs, {
          target: 1,
          attackKwargs: { ind: 1 },
          correctFnKwargs: { threshold: 100 },
          perturbationsPerEval: c.perturbationsPerEval as number,
          additionalForwardArgs: [add],
        });
        expect(r).toEqual({ perturbed: c.perturbed, param: c.param });
        b.dispose(add);
      });
    }

    it('minparam tuple inputs: the preprocessing makes both model inputs', async () => {
      const c = cases.minparam.find((m) => m.id === 'minparam tuple inputs') as (typeof cases.minparam)[number];
      const model = await load('multilayer_add');
      const b = model.backend;
      type In = [string[][], unknown];
      const add = b.tensor(new Float32Array(6).fill(-97), [2, 3], 'float32');
      const mp = new MinParamPerturbation<unknown, In>(model, (x: In, kw: { ind: number; char_val: number }): In => [addCharBatch(x[0], kw), x[1]], {
        argName: 'char_val',
        argMin: 0,
        argMax: 26,
        argStep: 1,
        preprocFn: (x: In) => [batchTextPreproc(b)(x[0]), x[1]],
        applyBeforePreproc: true,
        correctFn: altCorrect(b),
      });
      const inputs: In = [
        [
          ['abc', 'zyd', 'ghi'],
          ['abc', 'uyd', 'ghi'],
        ],
        add,
      ];
      const r = await mp.evaluate<In>(inputs, { target: 1, attackKwargs: { ind: 1 }, correctFnKwargs: { threshold: 100 }, perturbationsPerEval: 15 });
      expect(r.param).toBe(c.param);
      const [strings, tensor] = r.perturbed as In;
      expect(strings).toEqual((c.perturbed as unknown[])[0]);
      expect(tensor).toBe(add); // the attack passed the forward input through: it is the caller's, not freed
      expectClose(Array.from(toNumbers(await b.data(add))), ((c.perturbed as unknown[])[1] as number[][]).flat());
      b.dispose(add);
    });

    for (const c of cases.minparam.filter((m) => m.id.startsWith('minparam fgsm'))) {
      it(`${c.id}: FGSM as the attack, the default correct function`, async () => {
        const model = await load('mlp_softmax');
        const b = model.backend;
        const mp = new MinParamPerturbation(model, new FGSM(model), { argName: 'epsilon', argMin: 0, argMax: 2, argStep: 0.05, mode: c.mode as 'linear' | 'binary' });
        const x = b.tensor(Float32Array.from((c.input as number[][]).flat()), [1, 4], 'float32');
        const r = await mp.evaluate<unknown>(x, { target: c.target, attackKwargs: { target: c.target } });
        expect(r.param).toBe(c.param);
        expectClose(Array.from(toNumbers(await b.data(r.perturbed as never))), (c.perturbed as number[][]).flat());
        b.dispose([x, r.perturbed as never]);
      });
    }
  });
}
