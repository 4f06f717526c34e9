import type { GradientRule } from './types.js';

/**
 * y = α·A'·B' + β·C, with A' = transA ? Aᵀ : A and B' likewise:
 * dA' = α·dy·B'ᵀ, dB' = α·A'ᵀ·dy, dC = β·sumTo(dy); each emitted as one Gemm.
 */
export const gemmGrad: GradientRule = {
  inputs: [0, 1, 2],
  backward: (c) => {
    const { e } = c;
    const [a, b, cIn, y] = [c.input(0), c.input(1), c.input(2), c.output(0)];
    const dy = c.dy() as string;
    const alpha = c.attrFloat('alpha', 1);
    const beta = c.attrFloat('beta', 1);
    const tA = c.attrInt('transA', 0);
    const tB = c.attrInt('transB', 0);
    const gemm = (p: string, q: string, transA: number, transB: number): string =>
      e.op('Gemm', [p, q], { alpha: { f: alpha }, transA, transB });
    const da = c.needs(0) ? (tA ? gemm(b, dy, tB, 1) : gemm(dy, b, 0, tB ? 0 : 1)) : undefined;
    const db = c.needs(1) ? (tB ? gemm(dy, a, 1, tA) : gemm(a, dy, tA ? 0 : 1, 0)) : undefined;
    let dc: string | undefined;
    if (cIn && c.needs(2)) {
      const summed = e.sumTo(dy, y, cIn);
      dc = beta === 1 ? summed : e.mul(summed, e.scalar(beta, y));
    }
    return [da, db, dc];
  },
};
