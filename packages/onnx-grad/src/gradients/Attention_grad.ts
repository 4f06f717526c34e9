import { DataType } from '../proto.js';
import type { GradContext, GradientRule } from './types.js';

/**
 * com.microsoft Attention (self-attention with merged Q/K/V weights), without past state or rotary
 * embedding. With x (B × S × Hin), [Q K V] = x·W + bias split by `qkv_hidden_sizes` (default three equal
 * parts), each split into N heads (B × N × S × d), and
 *
 *   Z = scale·Q·Kᵀ + M + attention_bias,  P = softmax(Z) over keys,  out = merge(P·V)
 *
 * (scale default 1/√d; M holds `mask_filter_value` at keys masked by `mask_index` — a raw B × T or
 * B × S × T 0/1 mask, or B end positions — and, when `unidirectional`, at keys after the query), the
 * backward pass recomputes Q, K, V and P and, for dO = split(dy):
 *
 *   dP = dO·Vᵀ,  dV = Pᵀ·dO,  dZ = P ⊙ (dP − Σ_keys dP ⊙ P),  dQ = scale·dZ·K,  dK = scale·dZᵀ·Q,
 *   dQKV = [merge(dQ) merge(dK) merge(dV)],  dx = dQKV·Wᵀ,  dW = xᵀ·dQKV,  dbias = Σ dQKV,
 *   dattention_bias = sumTo(dZ).
 */
export const attentionGrad: GradientRule = {
  inputs: [0, 1, 2, 5],
  backward: (c) => {
    const { e } = c;
    const [x, weights, bias, attnBias] = [c.input(0), c.input(1), c.input(2), c.input(5)];
    if (c.input(4) || c.input(6)) c.unsupported('past state (past, past_sequence_length)');
    if (c.attrInt('do_rotary', 0) !== 0) c.unsupported('rotary embedding (do_rotary)');
    if (c.output(1) && c.dy(1)) c.unsupported("a gradient flowing into the 'present' output");
    const dy = c.dy(0);
    if (!dy) return [];
    if (c.rank(x) !== 3) c.unsupported(`an input of rank ${c.rank(x)} (B × S × hidden expected)`);
    const heads = c.attrInt('num_heads', 0);
    const [hq, hk, hv] = hiddenSizes(c);
    if (!(heads > 0) || hq % heads !== 0 || hv % heads !== 0 || hq !== hk) {
      c.unsupported(`num_heads ${heads} with hidden sizes ${hq}, ${hk}, ${hv}`);
    }
    const [d, dv] = [hq / heads, hv / heads];
    const given = c.attrFloat('scale', 0);
    const scale = e.scalar(given === 0 ? 1 / Math.sqrt(d) : given, x);

    // Forward recomputation.
    let qkv = e.op('MatMul', [x, weights]);
    if (bias) qkv = e.add(qkv, bias);
    const part = (from: number, to: number): string => e.slice(qkv, e.ints([from]), e.ints([to]), [2]);
    const split = (t: string, size: number): string => e.transpose(e.op('Reshape', [t, e.ints([0, 0, heads, size])]), [0, 2, 1, 3]);
    const merge = (t: string): string => e.op('Reshape', [e.transpose(t, [0, 2, 1, 3]), e.ints([0, 0, -1])]);
    const q = split(part(0, hq), d);
    const k = split(part(hq, hq + hk), d);
    const v = split(part(hq + hk, hq + hk + hv), dv);
    let z = e.mul(e.op('MatMul', [q, e.transpose(k, [0, 1, 3, 2])]), scale);
    const masking = maskBias(c);
    if (masking) z = e.add(z, masking);
    if (attnBias) z = e.add(z, attnBias);
    const p = e.op('Softmax', [z], { axis: 3 });

    // Backward.
    const dO = split(dy, dv);
    const dP = e.op('MatMul', [dO, e.transpose(v, [0, 1, 3, 2])]);
    const dV = e.op('MatMul', [e.transpose(p, [0, 1, 3, 2]), dO]);
    const dZ = e.mul(p, e.sub(dP, e.reduceSum(e.mul(dP, p), [3], true)));
    const dQ = e.mul(e.op('MatMul', [dZ, k]), scale);
    const dK = e.mul(e.op('MatMul', [e.transpose(dZ, [0, 1, 3, 2]), q]), scale);
    const dQKV = e.op('Concat', [merge(dQ), merge(dK), merge(dV)], { axis: 2 });
    const shape = c.shape(x);
    const [b, s] = [shape?.[0] ?? c.graph.fresh(), shape?.[1] ?? c.graph.fresh()];
    return [
      c.needs(0) ? e.op('MatMul', [dQKV, e.transpose(weights, [1, 0])]) : undefined,
      c.needs(1) ? e.op('MatMul', [e.transpose(e.op('Flatten', [x], { axis: 2 }), [1, 0]), e.op('Flatten', [dQKV], { axis: 2 })]) : undefined,
      c.needs(2) ? e.reduceSum(dQKV, [0, 1], false) : undefined,
      undefined,
      undefined,
      c.needs(5) ? e.sumTo(dZ, [b, heads, s, s], attnBias) : undefined,
    ];
  },
};

/** [Hq, Hk, Hv]: `qkv_hidden_sizes`, or three equal thirds of the weights' second dimension. */
function hiddenSizes(c: GradContext): [number, number, number] {
  const sizes = c.attrInts('qkv_hidden_sizes');
  if (sizes && sizes.length > 0) {
    if (sizes.length !== 3 || !sizes.every((n) => Number.isInteger(n) && n > 0)) c.unsupported(`qkv_hidden_sizes [${sizes.join(', ')}]`);
    return sizes as [number, number, number];
  }
  const total = c.shape(c.input(1))?.[1];
  if (typeof total !== 'number' || total % 3 !== 0) c.unsupported('weights whose second dimension is not known statically as three equal parts');
  return [total / 3, total / 3, total / 3];
}

/**
 * The additive mask of the attention scores (B or 1) × 1 × (S or 1) × S: `mask_filter_value` at masked keys
 * (from `mask_index`) plus, when `unidirectional`, at keys after the query; undefined without masking.
 */
function maskBias(c: GradContext): string | undefined {
  const { e } = c;
  const [x, mask] = [c.input(0), c.input(3)];
  const filter = e.scalar(c.attrFloat('mask_filter_value', -10000), x);
  const zero = e.scalar(0, x);
  const scalarOf = (t: string): string => e.squeeze(t, [0]);
  const keys = (): string => e.op('Range', [e.constant([0], DataType.INT64, []), scalarOf(e.dim(x, 1)), e.constant([1], DataType.INT64, [])]);
  let out: string | undefined;
  if (mask) {
    const dims = c.shape(mask);
    let masked: string | undefined;
    if (dims?.length === 1) {
      const batch = c.shape(x)?.[0];
      if (dims[0] !== batch) c.unsupported('a 1-D mask_index other than one end position per batch row (left padding)');
      // Keys at or after each row's end position are masked.
      const ends = e.unsqueeze(e.op('Cast', [mask], { to: DataType.INT64 }), [1]);
      masked = e.unsqueeze(e.op('Not', [e.op('Less', [e.unsqueeze(keys(), [0]), ends])]), [1, 2]);
    } else if (dims?.length === 2) {
      // ORT ignores a dummy mask of shape (B, 1) or (1, 1).
      if (dims[1] !== 1) masked = e.unsqueeze(e.op('Not', [e.op('Greater', [mask, e.constant([0], DataType.INT32, [])])]), [1, 2]);
    } else if (dims?.length === 3) {
      masked = e.unsqueeze(e.op('Not', [e.op('Greater', [mask, e.constant([0], DataType.INT32, [])])]), [1]);
    } else {
      c.unsupported(`a mask_index of rank ${dims?.length ?? 'unknown'}`);
    }
    if (masked) out = e.op('Where', [masked, filter, zero]);
  }
  if (c.attrInt('unidirectional', 0) !== 0) {
    const k = keys();
    const later = e.op('Greater', [e.unsqueeze(k, [0]), e.unsqueeze(k, [1])]);
    const causal = e.op('Where', [later, filter, zero]);
    out = out ? e.add(out, causal) : causal;
  }
  return out;
}
