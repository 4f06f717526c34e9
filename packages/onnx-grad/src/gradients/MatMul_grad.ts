import type { Dim } from '../graph.js';
import type { GradientRule } from './types.js';

const swapLast = (rank: number): number[] => [...Array.from({ length: rank - 2 }, (_, i) => i), rank - 1, rank - 2];

/**
 * y = a @ b (NumPy semantics, batch dimensions broadcast, 1-D operands promoted):
 * da = sumTo(dy @ bᵀ), db = sumTo(aᵀ @ dy).
 */
export const matMulGrad: GradientRule = {
  inputs: [0, 1],
  backward: (c) => {
    const { e } = c;
    const [a, b, y] = [c.input(0), c.input(1), c.output(0)];
    const sa = c.shape(a);
    const sb = c.shape(b);
    const sy = c.shape(y);
    if (!sa || !sb || !sy) return c.unsupported('the operand ranks are unknown');
    // Promote 1-D operands (and the output dims they drop) to matrices.
    const a2 = sa.length === 1 ? e.unsqueeze(a, [0]) : a;
    const b2 = sb.length === 1 ? e.unsqueeze(b, [1]) : b;
    const sa2: Dim[] = sa.length === 1 ? [1, sa[0] as Dim] : sa;
    const sb2: Dim[] = sb.length === 1 ? [sb[0] as Dim, 1] : sb;
    let dy = c.dy() as string;
    if (sa.length === 1 && sb.length === 1) dy = e.unsqueeze(dy, [0, 1]);
    else if (sa.length === 1) dy = e.unsqueeze(dy, [-2]);
    else if (sb.length === 1) dy = e.unsqueeze(dy, [-1]);
    const batch = sy.slice(0, Math.max(0, sy.length - (sa.length === 1 ? 0 : 1) - (sb.length === 1 ? 0 : 1)));
    const m = sa2[sa2.length - 2] as Dim;
    const k = sa2[sa2.length - 1] as Dim;
    const n = sb2[sb2.length - 1] as Dim;
    let da: string | undefined;
    let db: string | undefined;
    if (c.needs(0)) {
      const full = e.op('MatMul', [dy, e.transpose(b2, swapLast(sb2.length))]);
      const reduced = e.sumTo(full, [...batch, m, k], [a2, sa2]);
      da = sa.length === 1 ? e.squeeze(reduced, [0]) : reduced;
    }
    if (c.needs(1)) {
      const full = e.op('MatMul', [e.transpose(a2, swapLast(sa2.length)), dy]);
      const reduced = e.sumTo(full, [...batch, k, n], [b2, sb2]);
      db = sb.length === 1 ? e.squeeze(reduced, [1]) : reduced;
    }
    return [da, db];
  },
};
