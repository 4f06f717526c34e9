import { ArgumentError } from '@attribution/tensor';
import { describe, expect, it } from 'vitest';
import { RidgeClassifier, SGDClassifier } from '../src/index.js';

/** A fixed, overlapping two-class problem (no randomness); its sklearn statistics are below. */
function problem(n = 40): { x: number[][]; labels: number[] } {
  const x: number[][] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const label = i % 2;
    x.push([Math.cos(i * 0.7) * 2 + (label ? 1.5 : -1.5), Math.sin(i * 1.3), ((i * 7) % 11) / 5 - 1]);
    labels.push(label);
  }
  return { x, labels };
}

// sklearn 1.2.1: SGDClassifier(alpha=0.01, max_iter=1000, tol=1e-3, random_state=s).fit(X, y) for s in 0..29
// (the means over the 30 seeds; the per-coefficient standard deviations are 0.15, 0.18, 0.14).
const SKLEARN = { coef: [1.2264624419420935, 0.016644852562890597, 0.24254319018481627], nIter: 21.133, accuracy: 0.7467, accuracy3: 0.9525 };

const mean = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length;

describe('SGDClassifier (sklearn SGDClassifier, hinge, L2, optimal learning rate)', () => {
  it('agrees with sklearn in distribution on a fixed problem (30 seeds)', () => {
    const { x, labels } = problem();
    const coefs: number[][] = [];
    const iters: number[] = [];
    const accs: number[] = [];
    for (let seed = 0; seed < 30; seed++) {
      const c = new SGDClassifier({ seed, testSplitRatio: 0 });
      accs.push(c.trainAndEval({ x, labels }).accs as number);
      const w = c.weights();
      expect(c.classes()).toEqual([0, 1]);
      expect(w[0]).toEqual(w[1]!.map((v) => (v === 0 ? 0 : -v)));
      coefs.push(w[1]!);
      iters.push(c.nIter);
    }
    const coef = [0, 1, 2].map((j) => mean(coefs.map((c) => c[j] as number)));
    coef.forEach((v, j) => expect(Math.abs(v - (SKLEARN.coef[j] as number))).toBeLessThan(0.08));
    expect(mean(iters)).toBeGreaterThan(SKLEARN.nIter * 0.8);
    expect(mean(iters)).toBeLessThan(SKLEARN.nIter * 1.25);
    expect(Math.abs(mean(accs) - SKLEARN.accuracy)).toBeLessThan(0.06);
  });

  it('three classes, one-vs-rest: one weight row per class', () => {
    const { x } = problem();
    const x3 = x.map((row, i) => [Math.cos(i * 0.7) + (i % 3) * 3, row[1] as number, row[2] as number]);
    const labels = x.map((_, i) => i % 3);
    const accs = Array.from({ length: 10 }, (_, seed) => {
      const c = new SGDClassifier({ seed, testSplitRatio: 0 });
      const acc = c.trainAndEval({ x: x3, labels }).accs as number;
      expect(c.weights()).toHaveLength(3);
      return acc;
    });
    expect(Math.abs(mean(accs) - SKLEARN.accuracy3)).toBeLessThan(0.06);
  });

  it('separates linearly separable data and is reproducible per seed', () => {
    const x: number[][] = [];
    const labels: number[] = [];
    for (let i = 0; i < 60; i++) {
      const label = i < 30 ? 3 : 7;
      x.push([(label === 7 ? 2 : -2) + Math.sin(i), Math.cos(i * 3), (i % 5) / 5]);
      labels.push(label);
    }
    const a = new SGDClassifier({ seed: 4 });
    const b = new SGDClassifier({ seed: 4 });
    const c = new SGDClassifier({ seed: 5 });
    expect(a.trainAndEval({ x, labels }).accs).toBe(1);
    b.trainAndEval({ x, labels });
    c.trainAndEval({ x, labels });
    expect(a.weights()).toEqual(b.weights());
    expect(a.weights()).not.toEqual(c.weights());
    expect(a.classes()).toEqual([3, 7]);
    expect(a.weights()[1]![0]).toBeGreaterThan(0);
  });
});

describe('RidgeClassifier (closed form)', () => {
  it('solves the ridge normal equations (primal and dual forms agree)', () => {
    const { x, labels } = problem(12);
    const c = new RidgeClassifier({ alpha: 0.5, testSplitRatio: 0 });
    c.trainAndEval({ x, labels });
    const w = c.weights()[1]!;
    // Check (X̃ᵀX̃ + αI) w = X̃ᵀỹ directly.
    const n = x.length;
    const xm = [0, 1, 2].map((j) => mean(x.map((r) => r[j] as number)));
    const y = labels.map((l) => (l === 1 ? 1 : -1));
    const ym = mean(y);
    for (let i = 0; i < 3; i++) {
      let lhs = 0.5 * (w[i] as number);
      let rhs = 0;
      for (let r = 0; r < n; r++) {
        const xi = (x[r]![i] as number) - (xm[i] as number);
        rhs += xi * ((y[r] as number) - ym);
        for (let j = 0; j < 3; j++) lhs += xi * ((x[r]![j] as number) - (xm[j] as number)) * (w[j] as number);
      }
      expect(lhs).toBeCloseTo(rhs, 10);
    }
    // More features than examples: the dual form gives the same solution as the primal on padded data.
    const wide = x.slice(0, 4).map((r, i) => [...r, i * 0.1, Math.sin(i)]);
    const wideLabels = labels.slice(0, 4);
    const d = new RidgeClassifier({ alpha: 0.5, testSplitRatio: 0 });
    d.trainAndEval({ x: wide, labels: wideLabels });
    const wd = d.weights()[1]!;
    const wm = [0, 1, 2, 3, 4].map((j) => mean(wide.map((r) => r[j] as number)));
    const yd = wideLabels.map((l) => (l === 1 ? 1 : -1));
    const ydm = mean(yd);
    for (let i = 0; i < 5; i++) {
      let lhs = 0.5 * (wd[i] as number);
      let rhs = 0;
      for (let r = 0; r < 4; r++) {
        const xi = (wide[r]![i] as number) - (wm[i] as number);
        rhs += xi * ((yd[r] as number) - ydm);
        for (let j = 0; j < 5; j++) lhs += xi * ((wide[r]![j] as number) - (wm[j] as number)) * (wd[j] as number);
      }
      expect(lhs).toBeCloseTo(rhs, 10);
    }
  });

  it('holds out testSplitRatio of the examples for the accuracy', () => {
    const { x, labels } = problem(30);
    const stats = new RidgeClassifier({ seed: 1 }).trainAndEval({ x, labels });
    // 9 of 30 held out: the accuracy is a multiple of 1/9.
    expect(Math.round((stats.accs as number) * 9) / 9).toBeCloseTo(stats.accs as number, 12);
  });
});

describe('classifier errors', () => {
  it('rejects bad options and data with ArgumentErrors naming the argument', () => {
    expect(() => new SGDClassifier({ alpha: -1 })).toThrow(ArgumentError);
    expect(() => new SGDClassifier({ testSplitRatio: 1 })).toThrow(/testSplitRatio/);
    expect(() => new RidgeClassifier({ alpha: 0 })).toThrow(/alpha: expected a finite number > 0/);
    const c = new SGDClassifier();
    expect(() => c.weights()).toThrow(/trainAndEval first/);
    expect(() => c.trainAndEval({ x: [[1], [2]], labels: [0, 0] })).toThrow(/at least two distinct classes/);
    expect(() => c.trainAndEval({ x: [[1], [2, 3]], labels: [0, 1] })).toThrow(/data\.x\[1\]/);
    expect(() => c.trainAndEval({ x: [[1], [Number.NaN]], labels: [0, 1] })).toThrow(/data\.x\[1\]\[0\]: expected a finite number/);
    expect(() => c.trainAndEval({ x: [[1], [2]], labels: [0, 0.5] })).toThrow(/data\.labels\[1\]/);
    expect(() => new SGDClassifier({ testSplitRatio: 0.5 }).trainAndEval({ x: [[1], [2]], labels: [0, 1] })).toThrow(/training examples/);
  });
});
