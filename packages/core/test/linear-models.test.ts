import { createRandom } from '@attribution/tensor';
import { describe, expect, it } from 'vitest';
import { weightedLeastSquares } from '../src/index.js';

// weightedLeastSquares must give scikit-learn's LinearRegression(fit_intercept=True).fit(X, y, w): for a
// full-rank design the unique minimiser of Σ w (y − b − X c)², for a rank-deficient one the minimum-norm c.

const rng = createRandom(7);

/** Solves A x = b (n × n, row-major) by Gaussian elimination with partial pivoting. */
function solve(A: Float64Array, b: Float64Array, n: number): Float64Array {
  const a = Float64Array.from(A);
  const x = Float64Array.from(b);
  for (let k = 0; k < n; k++) {
    let p = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(a[i * n + k] as number) > Math.abs(a[p * n + k] as number)) p = i;
    for (let j = 0; j < n; j++) [a[k * n + j], a[p * n + j]] = [a[p * n + j] as number, a[k * n + j] as number];
    [x[k], x[p]] = [x[p] as number, x[k] as number];
    for (let i = k + 1; i < n; i++) {
      const f = (a[i * n + k] as number) / (a[k * n + k] as number);
      for (let j = k; j < n; j++) a[i * n + j] = (a[i * n + j] as number) - f * (a[k * n + j] as number);
      x[i] = (x[i] as number) - f * (x[k] as number);
    }
  }
  for (let k = n - 1; k >= 0; k--) {
    let s = x[k] as number;
    for (let j = k + 1; j < n; j++) s -= (a[k * n + j] as number) * (x[j] as number);
    x[k] = s / (a[k * n + k] as number);
  }
  return x;
}

/** The weighted normal equations with an intercept column, solved directly: [intercept, c…]. */
function reference(X: Float64Array, y: Float64Array, w: Float64Array, m: number): Float64Array {
  const n = m + 1;
  const A = new Float64Array(n * n);
  const b = new Float64Array(n);
  for (let r = 0; r < y.length; r++) {
    const row = [1, ...Array.from(X.subarray(r * m, (r + 1) * m))];
    for (let i = 0; i < n; i++) {
      b[i] = (b[i] as number) + (w[r] as number) * (row[i] as number) * (y[r] as number);
      for (let j = 0; j < n; j++) A[i * n + j] = (A[i * n + j] as number) + (w[r] as number) * (row[i] as number) * (row[j] as number);
    }
  }
  return solve(A, b, n);
}

describe('weightedLeastSquares', () => {
  it("matches the normal equations on KernelShap-like designs (binary rows, 10⁶ end-point weights)", () => {
    for (const m of [3, 12, 31]) {
      const rows = 4 * m + 20;
      const X = new Float64Array(rows * m);
      const w = new Float64Array(rows).fill(1);
      X.fill(1, 0, m); // all features present
      w[0] = 1e6;
      w[1] = 1e6; // row 1: none present
      for (let r = 2; r < rows; r++) for (let j = 0; j < m; j++) X[r * m + j] = rng.next() < 0.5 ? 1 : 0;
      const truth = Float64Array.from({ length: m }, () => rng.normal());
      const y = Float64Array.from({ length: rows }, (_, r) => 0.3 + truth.reduce((s, c, j) => s + c * (X[r * m + j] as number), 0) + 0.01 * rng.normal());
      const fit = weightedLeastSquares(X, y, w, m);
      const want = reference(X, y, w, m);
      expect(Math.abs(fit.intercept - (want[0] as number))).toBeLessThan(1e-8);
      fit.coef.forEach((c, j) => expect(Math.abs(c - (want[j + 1] as number))).toBeLessThan(1e-8));
    }
  });

  it('gives the minimum-norm solution for a rank-deficient design (two identical columns share the weight)', () => {
    const m = 3;
    const rows = 40;
    const X = new Float64Array(rows * m);
    for (let r = 0; r < rows; r++) {
      X[r * m] = rng.normal();
      X[r * m + 1] = X[r * m] as number; // column 1 = column 0
      X[r * m + 2] = rng.normal();
    }
    const y = Float64Array.from({ length: rows }, (_, r) => 2 * (X[r * m] as number) - (X[r * m + 2] as number) + 1);
    const w = Float64Array.from({ length: rows }, () => 0.5 + rng.next());
    const fit = weightedLeastSquares(X, y, w, m);
    // Any split a + b = 2 fits exactly; the minimum-norm one is a = b = 1.
    expect(fit.coef[0]).toBeCloseTo(1, 8);
    expect(fit.coef[1]).toBeCloseTo(1, 8);
    expect(fit.coef[2]).toBeCloseTo(-1, 8);
    expect(fit.intercept).toBeCloseTo(1, 8);
  });
});
