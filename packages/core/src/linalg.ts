/**
 * Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations, in float64: `values` ascending,
 * `vectors[i * n + j]` = component i of the eigenvector of `values[j]` (columns, as `torch.linalg.eig`).
 * O(n³) per sweep; for small matrices: the Gram matrices of Lime and KernelShap's surrogate fits, the Hessians of
 * influence functions. Converged when the off-diagonal part is negligible next to the matrix (relative: KernelShap's
 * 10⁶ end-point weights make Gram entries of 10⁶ and more, where an absolute bound is never reached).
 */
export function symmetricEigen(matrix: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(matrix);
  // Symmetrise (a Hessian built from sums of outer products is symmetric up to rounding).
  for (let p = 0; p < n; p++) {
    for (let q = p + 1; q < n; q++) {
      const m = ((a[p * n + q] as number) + (a[q * n + p] as number)) / 2;
      a[p * n + q] = m;
      a[q * n + p] = m;
    }
  }
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  let scale = 0;
  for (let i = 0; i < n * n; i++) scale += (a[i] as number) ** 2;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += (a[p * n + q] as number) ** 2;
    if (off <= 1e-30 * scale || off < 1e-300) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q] as number;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = ((a[q * n + q] as number) - (a[p * n + p] as number)) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p] as number;
          const akq = a[k * n + q] as number;
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k] as number;
          const aqk = a[q * n + k] as number;
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p] as number;
          const vkq = v[k * n + q] as number;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => (a[x * n + x] as number) - (a[y * n + y] as number));
  const values = Float64Array.from(order, (i) => a[i * n + i] as number);
  const vectors = new Float64Array(n * n);
  order.forEach((src, j) => {
    for (let i = 0; i < n; i++) vectors[i * n + j] = v[i * n + src] as number;
  });
  return { values, vectors };
}
