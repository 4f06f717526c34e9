import { symmetricEigen } from './linalg.js';

/** A fitted linear surrogate: `y ≈ intercept + Σ_f coef_f · z_f`. */
export interface LinearFit {
  readonly coef: Float64Array;
  readonly intercept: number;
}

/** Weighted means of the columns of `X` (rows × m, row-major) and of `y`. */
function weightedCentre(X: Float64Array, y: Float64Array, w: Float64Array, m: number): { xMean: Float64Array; yMean: number } {
  const rows = y.length;
  const xMean = new Float64Array(m);
  let yMean = 0;
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const wr = w[r] as number;
    total += wr;
    yMean += wr * (y[r] as number);
    for (let j = 0; j < m; j++) xMean[j] = (xMean[j] as number) + wr * (X[r * m + j] as number);
  }
  for (let j = 0; j < m; j++) xMean[j] = (xMean[j] as number) / total;
  return { xMean, yMean: yMean / total };
}

/**
 * Weighted least squares with an intercept, as scikit-learn's `LinearRegression().fit(X, y, sample_weight)`:
 * centre by the weighted means, then the minimum-norm solution of the weighted normal equations
 * (pseudo-inverse), so rank-deficient designs give the same answer as `lstsq`.
 */
export function weightedLeastSquares(X: Float64Array, y: Float64Array, w: Float64Array, m: number): LinearFit {
  const rows = y.length;
  const { xMean, yMean } = weightedCentre(X, y, w, m);
  const gram = new Float64Array(m * m);
  const rhs = new Float64Array(m);
  const xc = new Float64Array(m);
  for (let r = 0; r < rows; r++) {
    const wr = w[r] as number;
    for (let j = 0; j < m; j++) xc[j] = (X[r * m + j] as number) - (xMean[j] as number);
    const yc = (y[r] as number) - yMean;
    for (let i = 0; i < m; i++) {
      const wi = wr * (xc[i] as number);
      rhs[i] = (rhs[i] as number) + wi * yc;
      for (let j = i; j < m; j++) gram[i * m + j] = (gram[i * m + j] as number) + wi * (xc[j] as number);
    }
  }
  for (let i = 0; i < m; i++) for (let j = 0; j < i; j++) gram[i * m + j] = gram[j * m + i] as number;
  const { values, vectors } = symmetricEigen(gram, m);
  const largest = Math.max(0, ...Array.from(values, Math.abs));
  const cutoff = largest * m * 2.220446049250313e-16 * 10;
  const coef = new Float64Array(m);
  for (let k = 0; k < m; k++) {
    const lambda = values[k] as number;
    if (Math.abs(lambda) <= cutoff) continue;
    let proj = 0;
    for (let i = 0; i < m; i++) proj += (vectors[i * m + k] as number) * (rhs[i] as number);
    proj /= lambda;
    for (let i = 0; i < m; i++) coef[i] = (coef[i] as number) + proj * (vectors[i * m + k] as number);
  }
  let intercept = yMean;
  for (let j = 0; j < m; j++) intercept -= (xMean[j] as number) * (coef[j] as number);
  return { coef, intercept };
}

/**
 * Weighted Lasso with an intercept, as scikit-learn's `Lasso(alpha).fit(X, y, sample_weight)`: weights
 * rescaled to sum to the number of rows, data centred by weighted means, rows scaled by √w, then cyclic
 * coordinate descent on `(1/2n)‖y − Xc‖² + α‖c‖₁` until the duality gap is below `tol·‖y‖²`.
 */
export function weightedLasso(X: Float64Array, y: Float64Array, w: Float64Array, m: number, alpha: number, maxIter = 1000, tol = 1e-4): LinearFit {
  const rows = y.length;
  const wsum = w.reduce((a, b) => a + b, 0);
  const sw = Float64Array.from(w, (v) => (v * rows) / wsum);
  const { xMean, yMean } = weightedCentre(X, y, sw, m);
  const Xs = new Float64Array(rows * m);
  const ys = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const root = Math.sqrt(sw[r] as number);
    ys[r] = ((y[r] as number) - yMean) * root;
    for (let j = 0; j < m; j++) Xs[r * m + j] = ((X[r * m + j] as number) - (xMean[j] as number)) * root;
  }
  const coef = new Float64Array(m);
  const norms = new Float64Array(m);
  for (let j = 0; j < m; j++) for (let r = 0; r < rows; r++) norms[j] = (norms[j] as number) + (Xs[r * m + j] as number) ** 2;
  const residual = Float64Array.from(ys);
  const l1 = alpha * rows;
  const yy = ys.reduce((a, v) => a + v * v, 0);
  const gapTol = tol * yy;
  for (let iter = 0; iter < maxIter; iter++) {
    let maxStep = 0;
    let maxCoef = 0;
    for (let j = 0; j < m; j++) {
      const nj = norms[j] as number;
      if (nj === 0) continue;
      const old = coef[j] as number;
      let rho = 0;
      for (let r = 0; r < rows; r++) {
        const xrj = Xs[r * m + j] as number;
        if (old !== 0) residual[r] = (residual[r] as number) + xrj * old;
        rho += xrj * (residual[r] as number);
      }
      const next = (Math.sign(rho) * Math.max(Math.abs(rho) - l1, 0)) / nj;
      coef[j] = next;
      if (next !== 0) for (let r = 0; r < rows; r++) residual[r] = (residual[r] as number) - (Xs[r * m + j] as number) * next;
      maxStep = Math.max(maxStep, Math.abs(next - old));
      maxCoef = Math.max(maxCoef, Math.abs(next));
    }
    if (maxCoef === 0 || maxStep / maxCoef < tol || iter === maxIter - 1) {
      // Duality gap, as scikit-learn's enet_coordinate_descent computes it.
      let dualNorm = 0;
      for (let j = 0; j < m; j++) {
        let xr = 0;
        for (let r = 0; r < rows; r++) xr += (Xs[r * m + j] as number) * (residual[r] as number);
        dualNorm = Math.max(dualNorm, Math.abs(xr));
      }
      const rNorm = residual.reduce((a, v) => a + v * v, 0);
      let constant = 1;
      let gap = rNorm;
      if (dualNorm > l1) {
        constant = l1 / dualNorm;
        gap = 0.5 * (rNorm + rNorm * constant * constant);
      }
      const l1Norm = coef.reduce((a, v) => a + Math.abs(v), 0);
      let ry = 0;
      for (let r = 0; r < rows; r++) ry += (residual[r] as number) * (ys[r] as number);
      gap += l1 * l1Norm - constant * ry;
      if (gap < gapTol) break;
    }
  }
  let intercept = yMean;
  for (let j = 0; j < m; j++) intercept -= (xMean[j] as number) * (coef[j] as number);
  return { coef, intercept };
}
