import * as tf from '@tensorflow/tfjs';
import { ArgumentError, ShapeError, TargetError } from '@attribution/tensor';
import { failureOf, values } from '@attribution/testing';
import { fromTfjs } from '@attribution/tfjs';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { AttackComparator, FGSM, MinParamPerturbation, PGD } from '../src/index.js';
import { mlp as mlpFunction, tfjsModels } from './models.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const mlp = tfjsModels.mlp as () => ReturnType<typeof fromTfjs>;
const basic = (tfjsModels.basic as () => ReturnType<typeof fromTfjs>)();
const batch = (): tf.Tensor2D =>
  tf.tensor2d([
    [0.3, -0.2, 0.5, 0.1],
    [-0.4, 0.6, 0.2, -0.3],
    [0.1, 0.1, -0.7, 0.4],
  ]);

/** Each example's argmax, read without leaving tensors behind. */
async function predictedOf(model: ReturnType<typeof fromTfjs>, x: tf.Tensor): Promise<number[]> {
  const { output, captured } = await model.forward({ inputs: [x] });
  const arg = tf.argMax(output, 1);
  const v = Array.from(await arg.data());
  tf.dispose([output, arg, ...captured]);
  return v;
}

describe('PGD random start (seeded statistics)', () => {
  const x = [2, -9, 9, 1, -3];
  for (const norm of ['Linf', 'L2'] as const) {
    it(`${norm}: inside the ball, reproducible per seed, different across seeds, masked`, async () => {
      const input = tf.tensor2d([x, x.map((v) => -v)]);
      const pgd = new PGD(basic);
      const draw = async (seed: number, extra = {}): Promise<number[]> => {
        const out = await pgd.perturb(input, { radius: 0.25, stepSize: 0.1, stepNum: 0, target: 4, randomStart: true, norm, seed, ...extra });
        const v = await values(out);
        out.dispose();
        return v;
      };
      const a = await draw(1);
      expect(await draw(1)).toEqual(a);
      const b = await draw(2);
      expect(b).not.toEqual(a);
      const xs = [...x, ...x.map((v) => -v)];
      for (const draws of [a, b]) {
        const d = draws.map((v, i) => v - (xs[i] as number));
        for (let row = 0; row < 2; row++) {
          const part = d.slice(row * 5, row * 5 + 5);
          if (norm === 'Linf') expect(Math.max(...part.map(Math.abs))).toBeLessThanOrEqual(0.25 + 1e-6);
          else expect(Math.hypot(...part)).toBeLessThanOrEqual(0.25 + 1e-6);
          expect(part.some((v) => v !== 0)).toBe(true);
        }
      }
      // The spread over many seeds: Linf offsets are uniform on [−r, r] (mean ≈ 0, mean |d| ≈ r/2).
      const all: number[] = [];
      for (let s = 10; s < 50; s++) all.push(...(await draw(s)).map((v, i) => v - (xs[i] as number)));
      const mean = all.reduce((p, v) => p + v, 0) / all.length;
      expect(Math.abs(mean)).toBeLessThan(0.03);
      if (norm === 'Linf') expect(Math.abs(all.reduce((p, v) => p + Math.abs(v), 0) / all.length - 0.125)).toBeLessThan(0.02);
      // A mask keeps elements where it is 0; bounds clamp the start.
      const mask = tf.tensor2d([[1, 0, 1, 0, 1]]);
      const masked = await draw(3, { mask });
      masked.forEach((v, i) => {
        if (i % 5 === 1 || i % 5 === 3) expect(v).toBe(xs[i]);
      });
      const bounded = await new PGD(basic, { lowerBound: -3, upperBound: 3 }).perturb(input, { radius: 0.25, stepSize: 0.1, stepNum: 0, target: 4, randomStart: true, norm, seed: 4 });
      for (const v of await values(bounded)) expect(Math.abs(v)).toBeLessThanOrEqual(3);
      tf.dispose([input, mask, bounded]);
    });
  }
});

describe('options', () => {
  it('elements whose gradient is at most 1e-6 in magnitude stay (Captum’s zero_thresh)', async () => {
    const w = tf.tensor2d([[1, 5e-7, -2e-6, 1e-6, 0]]);
    const model = fromTfjs((x: tf.Tensor) => tf.mul(x, w));
    const sum = { loss: (row: readonly number[]) => row.reduce((a, v) => a + v, 0), gradient: (row: readonly number[]) => row.map(() => 1) };
    const x = tf.tensor2d([[0.5, 0.5, 0.5, 0.5, 0.5]]);
    const out = await new FGSM(model, { lossFunc: sum }).perturb(x, { epsilon: 0.25 });
    expect(await values(out)).toEqual([0.75, 0.5, 0.25, 0.5, 0.5]);
    const targeted = await new FGSM(model, { lossFunc: sum }).perturb(x, { epsilon: 0.25, targeted: true });
    expect(await values(targeted)).toEqual([0.25, 0.5, 0.75, 0.5, 0.5]);
    tf.dispose([w, x, out, targeted]);
  });

  it('internalBatchSize splits model calls without changing the result; onProgress counts steps', async () => {
    const model = mlp();
    const x = batch();
    const options = { radius: 0.3, stepSize: 0.05, stepNum: 4, target: [0, 1, 2], norm: 'L2' as const };
    const whole = await new PGD(model, { lossFunc: 'cross-entropy' }).perturb(x, options);
    const progress: number[] = [];
    const split = await new PGD(model, { lossFunc: 'cross-entropy' }).perturb(x, { ...options, internalBatchSize: 2, onProgress: ({ done }) => progress.push(done) });
    expect(await values(split)).toEqual(await values(whole));
    expect(progress).toEqual([1, 2, 3, 4]);
    tf.dispose([x, whole, split]);
  });

  it("'predicted' and class names as targets; a user loss with and without its gradient", async () => {
    const model = fromTfjs(mlpFunction(true), { labels: ['a', 'b', 'c'] });
    const base = mlp();
    const x = batch();
    const predicted = await predictedOf(base, x);
    const fgsm = new FGSM(model);
    const a = await fgsm.perturb(x, { epsilon: 0.1, target: 'predicted' });
    const b = await fgsm.perturb(x, { epsilon: 0.1, target: predicted });
    const names = ['a', 'b', 'c'];
    const c = await fgsm.perturb(x, { epsilon: 0.1, target: predicted.map((p) => names[p] as string) });
    expect(await values(a)).toEqual(await values(b));
    expect(await values(c)).toEqual(await values(b));
    // The same loss written by hand: −log(p[label]).
    const negLog = (row: readonly number[], label: unknown): number => -Math.log(row[label as number] as number);
    const numeric = await new FGSM(model, { lossFunc: negLog }).perturb(x, { epsilon: 0.1, target: predicted });
    const exact = await new FGSM(model, { lossFunc: { loss: negLog, gradient: (row, label) => row.map((v, j) => (j === label ? -1 / v : 0)) } }).perturb(x, { epsilon: 0.1, target: predicted });
    expect(await values(numeric)).toEqual(await values(b));
    expect(await values(exact)).toEqual(await values(b));
    tf.dispose([x, a, b, c, numeric, exact]);
  });
});

describe('AttackComparator details', () => {
  it('warns about an attack argument evaluate does not provide, as Captum; a metric must keep its structure', async () => {
    const x = tf.tensor2d([[2, -9, 9, 1, -3]]);
    const comp = new AttackComparator(basic, (out: tf.Tensor) => tf.sum(out));
    comp.addAttack(new FGSM(basic), { attackKwargs: { epsilon: 0.1, target: 1 }, additionalAttackArgNames: ['label'] });
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const r = await comp.evaluate(x);
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/'label' not provided for FGSM/));
    warn.mockRestore();
    expect(r.Original).toBeCloseTo(1 - 9 + 1 + 1 - 3, 5); // BasicModel: min(x, 1)
    // Attempts of one attack are summarized element-wise: the metric must give them one structure.
    let calls = 0;
    const shifty = new AttackComparator(basic, () => (calls++ < 2 ? 1 : [1, 2]));
    shifty.addAttack((t: tf.Tensor) => tf.clone(t), { name: 'copy', numAttempts: 2 });
    const before = tf.memory().numTensors;
    await expect(shifty.evaluate(x)).rejects.toThrow(/structure/);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});

describe('typed errors', () => {
  const x = tf.keep(tf.tensor2d([[2, -9, 9, 1, -3]]));
  const cases: [string, () => Promise<unknown>, new (...a: never[]) => Error, RegExp][] = [
    ['epsilon NaN', () => new FGSM(basic).perturb(x, { epsilon: Number.NaN, target: 1 }), ArgumentError, /epsilon/],
    ['epsilon negative', () => new FGSM(basic).perturb(x, { epsilon: -0.1, target: 1 }), ArgumentError, /epsilon/],
    ['epsilon missing', () => new FGSM(basic).perturb(x, { target: 1 } as never), ArgumentError, /epsilon/],
    ['bad norm', () => new PGD(basic).perturb(x, { radius: 1, stepSize: 0.1, stepNum: 1, target: 1, norm: 'L1' as never }), ArgumentError, /norm/],
    ['bad stepNum', () => new PGD(basic).perturb(x, { radius: 1, stepSize: 0.1, stepNum: 1.5, target: 1 }), ArgumentError, /stepNum/],
    ['mask shape', () => new FGSM(basic).perturb(x, { epsilon: 0.1, target: 1, mask: tf.ones([1, 4]) }), ShapeError, /mask/],
    ['mask count', () => new FGSM(basic).perturb([x, x], { epsilon: 0.1, target: 1, mask: [tf.ones([1, 5])] }), ArgumentError, /mask/],
    ['unknown option', () => new FGSM(basic).perturb(x, { epsilon: 0.1, target: 1, epsilom: 1 } as never), ArgumentError, /unknown option 'epsilom'.*Did you mean epsilon/],
    ['target out of range', () => new FGSM(basic).perturb(x, { epsilon: 0.1, target: 7 }), TargetError, /target/],
    ['no target for neg-log', () => new FGSM(basic).perturb(x, { epsilon: 0.1 }), TargetError, /target/],
    ['zero output at the target', () => new FGSM(fromTfjs((t: tf.Tensor) => tf.mul(t, 0))).perturb(x, { epsilon: 0.1, target: 0 }), ArgumentError, /non-zero/],
    ['bad inputs', () => new FGSM(basic).perturb([1, 2] as never, { epsilon: 0.1, target: 0 }), ArgumentError, /inputs/],
  ];
  for (const [name, call, type, message] of cases) {
    it(`${name}: ${type.name}, nothing leaked`, async () => {
      const { error, leaked } = await failureOf(call);
      expect(error).toBeInstanceOf(type);
      expect(error.message).toMatch(message);
      expect(leaked).toBe(name.startsWith('mask') ? 1 : 0); // the mask tensor the test itself made
    });
  }

  it('constructor options', () => {
    expect(() => new FGSM(basic, { lowerBound: 2, upperBound: 1 })).toThrow(/upperBound/);
    expect(() => new PGD(basic, { lossFunc: 'hinge' as never })).toThrow(/lossFunc/);
    expect(() => new FGSM(basic, { bounds: 1 } as never)).toThrow(ArgumentError);
    expect(() => new FGSM({} as never)).toThrow(/model/);
    const attack = (t: unknown): unknown => t;
    const opts = { argName: 'eps', argMin: 0, argMax: 1, argStep: 0.1 };
    expect(() => new MinParamPerturbation(basic, attack, { ...opts, argMax: 0.1 })).toThrow(/argMax/);
    expect(() => new MinParamPerturbation(basic, attack, { ...opts, argStep: 0 })).toThrow(/argStep/);
    expect(() => new MinParamPerturbation(basic, attack, { ...opts, mode: 'ternary' as never })).toThrow(/mode/);
    expect(() => new MinParamPerturbation(basic, attack, { ...opts, argNme: 'x' } as never)).toThrow(/Did you mean argName/);
    expect(() => new MinParamPerturbation(basic, 3 as never, opts)).toThrow(/attack/);
    const comp = new AttackComparator(basic, () => 0);
    comp.addAttack(attack, { name: 'a' });
    expect(() => comp.addAttack(attack, { name: 'a' })).toThrow(/already added/);
    expect(() => comp.addAttack((t: unknown) => t)).toThrow(/name/);
    expect(() => comp.addAttack(attack, { numAttempts: 0, name: 'b' })).toThrow(/numAttempts/);
    expect(() => new AttackComparator(basic, 'mean' as never)).toThrow(/metric/);
  });

  it('MinParamPerturbation needs a target for its default correct function and a 2-D output', async () => {
    const mp = new MinParamPerturbation(basic, (t: tf.Tensor) => tf.clone(t), { argName: 'e', argMin: 0, argMax: 1, argStep: 0.1 });
    await expect(mp.evaluate(x)).rejects.toBeInstanceOf(TargetError);
    const flatModel = fromTfjs((t: tf.Tensor) => tf.sum(t, 1));
    const mp1 = new MinParamPerturbation(flatModel, (t: tf.Tensor) => tf.clone(t), { argName: 'e', argMin: 0, argMax: 1, argStep: 0.1 });
    const { error, leaked } = await failureOf(() => mp1.evaluate(x, { target: 0 }));
    expect(error.message).toMatch(/correctFn/);
    expect(leaked).toBe(0);
  });
});

describe('memory', () => {
  it('FGSM, PGD, AttackComparator and MinParamPerturbation leave nothing behind', async () => {
    const model = mlp();
    const x = batch();
    const run = async (): Promise<void> => {
      const f = await new FGSM(model, { lossFunc: 'cross-entropy' }).perturb(x, { epsilon: 0.05, target: [0, 1, 2], internalBatchSize: 2 });
      const target = tf.tensor1d([2, 0, 1], 'int32');
      const mask = tf.tensor2d([[1, 1, 0, 1]]);
      const p = await new PGD(model, { lossFunc: 'cross-entropy', lowerBound: -1, upperBound: 1 }).perturb(x, {
        radius: 0.2,
        stepSize: 0.05,
        stepNum: 3,
        target,
        randomStart: true,
        seed: 1,
        norm: 'L2',
        mask,
      });
      const comp = new AttackComparator(model, (out: tf.Tensor) => tf.max(out, 1));
      comp.addAttack(new PGD(model, { lossFunc: 'cross-entropy' }), { attackKwargs: { radius: 0.2, stepSize: 0.1, stepNum: 2 }, additionalAttackArgNames: ['target'], numAttempts: 2 });
      comp.addAttack((t: tf.Tensor) => tf.mul(t, 0.5), { name: 'half' });
      await comp.evaluate(x, { target: [0, 1, 2], perturbationsPerEval: 2 });
      const mp = new MinParamPerturbation(model, new FGSM(model, { lossFunc: 'cross-entropy' }), { argName: 'epsilon', argMin: 0, argMax: 3, argStep: 0.25, mode: 'binary', numAttempts: 2 });
      const predicted = await predictedOf(model, x);
      const r = await mp.evaluate<tf.Tensor>(x, { target: predicted, attackKwargs: { target: predicted }, perturbationsPerEval: 2 });
      expect(r.param).not.toBeNull();
      tf.dispose([f, p, target, mask, r.perturbed as tf.Tensor]);
    };
    await run(); // warm-up: kernels, caches
    const before = tf.memory().numTensors;
    await run();
    expect(tf.memory().numTensors - before).toBe(0);
    tf.dispose(x);
  });
});
