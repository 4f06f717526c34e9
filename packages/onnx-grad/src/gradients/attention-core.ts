import type { Emitter } from '../emitter.js';
import { DataType } from '../proto.js';

/**
 * The scaled dot-product attention shared by the com.microsoft MultiHeadAttention and GroupQueryAttention
 * rules, in BNSH layout: q (B, N, S, H), k (B, Nk, L, H), v (B, Nk, L, Hv), each key/value head shared by
 * G = N/Nk consecutive query heads, and
 *
 *   Z = scale·q·kᵀ,  Z' = c·tanh(Z/c) (softcap c, when > 0),  Z'' = Z' + bias,  P = softmax(Z''),  O = P·v
 *
 * (bias: additive masks and attention biases, broadcast to (B, N, S, L); with `smooth`, the softmax has an
 * extra logit 0 in its denominator). The backward pass, for dO (B, N, S, Hv):
 *
 *   dP = dO·vᵀ,  dv = Σ_G Pᵀ·dO,  dZ'' = P ⊙ (dP − Σ_keys dP ⊙ P),  dZ = dZ''·(1 − tanh²(Z/c)),
 *   dq = scale·dZ·k,  dk = scale·Σ_G dZᵀ·q.
 */
export interface AttentionInputs {
  readonly q: string;
  readonly k: string;
  readonly v: string;
  /** Query heads N and key/value heads Nk (N a multiple of Nk). */
  readonly heads: number;
  readonly kvHeads: number;
  /** H and Hv, the head sizes. */
  readonly headSize: number;
  readonly vHeadSize: number;
  readonly scale: number;
  readonly bias?: string;
  readonly softcap?: number;
  readonly smooth?: boolean;
  /** A graph tensor with the element type of the attention's inputs. */
  readonly like: string;
}

/** The gradients of q, k, v (BNSH) and of the logits Z'' (for attention biases). */
export interface AttentionGradients {
  readonly dq: string;
  readonly dk: string;
  readonly dv: string;
  readonly dLogits: string;
}

/** (B, Nk, L, H) → (B, Nk·G, L, H): each key/value head repeated for its G query heads. */
function repeatHeads(e: Emitter, t: string, a: AttentionInputs, size: number): string {
  const groups = a.heads / a.kvHeads;
  if (groups === 1) return t;
  const expanded = e.op('Expand', [e.unsqueeze(t, [2]), e.ints([1, 1, groups, 1, 1])]);
  return e.op('Reshape', [expanded, e.ints([0, a.heads, -1, size])]);
}

/** (B, Nk·G, L, H) → (B, Nk, L, H), summing each group. */
function sumGroups(e: Emitter, t: string, a: AttentionInputs, size: number): string {
  const groups = a.heads / a.kvHeads;
  if (groups === 1) return t;
  return e.reduceSum(e.op('Reshape', [t, e.ints([0, a.kvHeads, groups, -1, size])]), [2], false);
}

/** Recomputes the attention probabilities and returns the gradients of q, k, v for dO. */
export function attentionBackward(e: Emitter, a: AttentionInputs, dO: string): AttentionGradients {
  const k = repeatHeads(e, a.k, a, a.headSize);
  const v = repeatHeads(e, a.v, a, a.vHeadSize);
  const like = a.like;
  const scale = e.scalar(a.scale, like);
  let z = e.mul(e.op('MatMul', [a.q, e.transpose(k, [0, 1, 3, 2])]), scale);
  let capped: string | undefined;
  if (a.softcap && a.softcap > 0) {
    capped = e.op('Tanh', [e.div(z, e.scalar(a.softcap, like))]);
    z = e.mul(capped, e.scalar(a.softcap, like));
  }
  if (a.bias) z = e.add(z, a.bias);
  let p: string;
  if (a.smooth) {
    // softmax over the keys and one extra logit 0, which is then dropped.
    const zero = e.op('Slice', [e.mul(z, e.scalar(0, like)), e.ints([0]), e.ints([1]), e.ints([3])]);
    const all = e.op('Softmax', [e.op('Concat', [z, zero], { axis: 3 })], { axis: 3 });
    p = e.op('Slice', [all, e.ints([0]), e.ints([-1]), e.ints([3])]);
  } else {
    p = e.op('Softmax', [z], { axis: 3 });
  }
  const dP = e.op('MatMul', [dO, e.transpose(v, [0, 1, 3, 2])]);
  const dv = e.op('MatMul', [e.transpose(p, [0, 1, 3, 2]), dO]);
  const dLogits = e.mul(p, e.sub(dP, e.reduceSum(e.mul(dP, p), [3], true)));
  const dZ = capped ? e.mul(dLogits, e.sub(e.scalar(1, like), e.mul(capped, capped))) : dLogits;
  const dq = e.mul(e.op('MatMul', [dZ, k]), scale);
  const dk = e.mul(e.op('MatMul', [e.transpose(dZ, [0, 1, 3, 2]), a.q]), scale);
  return { dq, dk: sumGroups(e, dk, a, a.headSize), dv: sumGroups(e, dv, a, a.vHeadSize), dLogits };
}

/** (B, S, N·H) → (B, N, S, H). */
export function toHeads(e: Emitter, t: string, heads: number, size: number): string {
  return e.transpose(e.op('Reshape', [t, e.ints([0, 0, heads, size])]), [0, 2, 1, 3]);
}

/** (B, N, S, H) → (B, S, N·H). */
export function fromHeads(e: Emitter, t: string): string {
  return e.op('Reshape', [e.transpose(t, [0, 2, 1, 3]), e.ints([0, 0, -1])]);
}

/** `0, 1, …, n − 1` for the run-time size `n` (a 1-element int64 tensor). */
export function positions(e: Emitter, n: string): string {
  const scalar = (v: number): string => e.constant([v], DataType.INT64, []);
  return e.op('Range', [scalar(0), e.squeeze(n, [0]), scalar(1)]);
}
