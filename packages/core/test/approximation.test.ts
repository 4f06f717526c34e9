import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ArgumentError } from '@attribution/tensor';
import { approximationParameters, checkApproximationMethod, gaussLegendre } from '../src/index.js';

// Reference values: Captum 0.8 (CAPTUM-SEMANTICS §2.2), the reprs of the floats Captum produces.
describe('approximationParameters', () => {
  it('reproduces Captum’s float32 Riemann points exactly', () => {
    expect(approximationParameters('riemann_left', 3).alphas).toEqual([0, 0.3333333432674408, 0.6666666865348816]);
    expect(approximationParameters('riemann_right', 3).alphas).toEqual([0.3333333432674408, 0.6666666865348816, 1]);
    expect(approximationParameters('riemann_middle', 3).alphas).toEqual([0.1666666716337204, 0.5, 0.8333333134651184]);
    expect(approximationParameters('riemann_middle', 5).alphas).toEqual([
      0.10000000149011612, 0.29999998211860657, 0.5, 0.699999988079071, 0.8999999761581421,
    ]);
    expect(approximationParameters('riemann_trapezoid', 5).alphas).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(approximationParameters('riemann_left', 3).stepSizes).toEqual([1 / 3, 1 / 3, 1 / 3]);
  });

  it('keeps the trapezoid quirk: weights 1/n with halved ends, summing to (n-1)/n', () => {
    expect(approximationParameters('riemann_trapezoid', 2).stepSizes).toEqual([0.25, 0.25]);
    expect(approximationParameters('riemann_trapezoid', 3).stepSizes).toEqual([1 / 6, 1 / 3, 1 / 6]);
    expect(approximationParameters('riemann_trapezoid', 4).stepSizes).toEqual([1 / 8, 1 / 4, 1 / 4, 1 / 8]);
    expect(approximationParameters('riemann_trapezoid', 5).stepSizes).toEqual([0.1, 0.2, 0.2, 0.2, 0.1]);
    expect(approximationParameters('riemann_trapezoid', 4).alphas).toEqual([0, 0.3333333432674408, 0.6666666269302368, 1]);
  });

  it('matches NumPy’s Gauss–Legendre nodes and weights', () => {
    const close = (got: readonly number[], want: number[]): void =>
      want.forEach((w, i) => expect(Math.abs((got[i] as number) - w)).toBeLessThan(1e-14));
    const g2 = approximationParameters('gausslegendre', 2);
    close(g2.stepSizes, [0.5, 0.5]);
    close(g2.alphas, [0.21132486540518713, 0.7886751345948129]);
    const g3 = approximationParameters('gausslegendre', 3);
    close(g3.stepSizes, [0.27777777777777785, 0.4444444444444444, 0.27777777777777785]);
    close(g3.alphas, [0.1127016653792583, 0.5, 0.8872983346207417]);
    const g4 = approximationParameters('gausslegendre', 4);
    close(g4.stepSizes, [0.17392742256872684, 0.3260725774312731, 0.3260725774312731, 0.17392742256872684]);
    close(g4.alphas, [0.06943184420297371, 0.33000947820757187, 0.6699905217924281, 0.9305681557970262]);
    const g5 = approximationParameters('gausslegendre', 5);
    close(g5.stepSizes, [0.11846344252809471, 0.2393143352496831, 0.2844444444444445, 0.2393143352496831, 0.11846344252809471]);
    close(g5.alphas, [0.04691007703066802, 0.23076534494715845, 0.5, 0.7692346550528415, 0.9530899229693319]);
    const g50 = approximationParameters('gausslegendre', 50);
    close(g50.stepSizes.slice(0, 3), [0.0014543112765789342, 0.0033798995978727526, 0.005295274191825835]);
    close(g50.alphas.slice(0, 3), [0.0005667977899644905, 0.002984015283954644, 0.00732295797599708]);
    close(g50.alphas.slice(49), [0.9994332022100355]);
    expect(Math.abs(g50.stepSizes.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-14);
  });

  it('integrates polynomials of degree 2n-1 exactly with n Gauss–Legendre points', () => {
    for (const n of [1, 2, 7, 20, 64]) {
      const { nodes, weights } = gaussLegendre(n);
      const deg = 2 * n - 1;
      const integral = nodes.reduce((s, x, i) => s + (weights[i] as number) * x ** (deg - 1), 0);
      expect(Math.abs(integral - ((deg - 1) % 2 === 0 ? 2 / deg : 0))).toBeLessThan(1e-12);
      expect([...nodes].sort((a, b) => a - b)).toEqual(nodes);
    }
  });

  it('rejects step counts Captum rejects', () => {
    expect(() => approximationParameters('gausslegendre', 0)).toThrow(ArgumentError);
    expect(() => approximationParameters('riemann_left', 1)).toThrow(/≥ 2/);
    expect(() => approximationParameters('riemann_left', 2.5)).toThrow(/nSteps/);
    expect(approximationParameters('gausslegendre', 1).alphas).toEqual([0.5]);
  });

  it('suggests the closest rule name', () => {
    expect(() => checkApproximationMethod('gauss_legendre')).toThrow(/Did you mean 'gausslegendre'/);
    expect(() => checkApproximationMethod('simpson')).toThrow(ArgumentError);
    expect(checkApproximationMethod('riemann_middle')).toBe('riemann_middle');
  });
});

describe('approximationParameters against PyTorch and NumPy', () => {
  // Generated once with torch 1.13 (torch.linspace, float32) and numpy (polynomial.legendre.leggauss).
  const file = new URL('./fixtures/approximation.json', import.meta.url);
  const ref = JSON.parse(readFileSync(file, 'utf8')) as {
    riemann: { method: 'riemann_left'; n: number; alphas: number[] }[];
    gausslegendre: { n: number; alphas: number[]; stepSizes: number[] }[];
  };

  it('Riemann points equal torch.linspace bit for bit', () => {
    for (const r of ref.riemann) expect(approximationParameters(r.method, r.n).alphas, `${r.method} n=${r.n}`).toEqual(r.alphas);
  });

  it('Gauss–Legendre points and weights agree with numpy.leggauss to 1e-14', () => {
    for (const g of ref.gausslegendre) {
      const p = approximationParameters('gausslegendre', g.n);
      g.alphas.forEach((a, i) => expect(Math.abs((p.alphas[i] as number) - a)).toBeLessThan(1e-14));
      g.stepSizes.forEach((w, i) => expect(Math.abs((p.stepSizes[i] as number) - w)).toBeLessThan(1e-14));
    }
  });
});
