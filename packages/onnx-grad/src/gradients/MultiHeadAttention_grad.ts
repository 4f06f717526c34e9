import { DataType } from '../proto.js';
import { attentionBackward, fromHeads, positions, toHeads } from './attention-core.js';
import type { GradContext, GradientRule } from './types.js';

/**
 * com.microsoft MultiHeadAttention (self or cross attention of separate, already projected inputs), inputs
 * (query, key, value, bias?, key_padding_mask?, attention_bias?, past_key?, past_value?, …):
 *
 *   Q = query + bias_q (B, S, D), K = key + bias_k (B, L, D), V = value + bias_v (B, L, Dv), each split into
 *   N = num_heads heads; key and value may instead be given per head, (B, N, L, H) (cross attention with
 *   cached keys; no bias then);
 *   Z = scale·Q·Kᵀ + M + attention_bias,  out = merge(softmax(Z)·V)
 *
 * with scale default 1/√H and M holding `mask_filter_value` (default −10000) at the keys that
 * key_padding_mask masks — key lengths (B), a 0/1 mask (B, L) or (B, S, L) — and, with `unidirectional`, at
 * keys after the query (self attention: L = S). The backward pass is {@link attentionBackward}'s; dbias = Σ_{B,S} [dQ dK dV],
 * dattention_bias = sumTo(dZ). Refused: past_key/past_value (a KV cache), packed QKV or KV, the
 * (3·B + 2) mask form, `unidirectional` with a key length that may differ from the query length, and
 * gradients flowing into present_key, present_value or qk.
 */
export const multiHeadAttentionGrad: GradientRule = {
  inputs: [0, 1, 2, 3, 5],
  backward: (c) => {
    const { e } = c;
    const [query, key, value, bias, attnBias] = [0, 1, 2, 3, 5].map((i) => c.input(i)) as [string, string, string, string, string];
    if (c.input(6) || c.input(7)) return c.unsupported('past_key/past_value (a key/value cache): gradients are built for attention without past state');
    if (c.input(9)) return c.unsupported('cache_indirection (beam search)');
    for (const [k, name] of [[1, 'present_key'], [2, 'present_value'], [3, 'qk']] as const) {
      if (c.dy(k)) return c.unsupported(`a gradient flowing into the '${name}' output`);
    }
    const dy = c.dy(0);
    if (!dy) return [];
    if (!key || !value) return c.unsupported('packed QKV (no key and value inputs)');
    if (c.rank(query) !== 3) return c.unsupported(`a query of rank ${c.rank(query)} (B × S × hidden expected)`);
    const heads = c.attrInt('num_heads', 0);
    const kRank = c.rank(key);
    if (kRank === 5) return c.unsupported('packed KV (a 5-D key)');
    const perHead = kRank === 4;
    if (perHead && c.rank(value) !== 4) return c.unsupported('a 4-D key with a 3-D value');
    const hidden = c.shape(query)?.[2];
    const vHidden = perHead ? product(c.shape(value)?.[1], c.shape(value)?.[3]) : c.shape(value)?.[2];
    if (!(heads > 0) || typeof hidden !== 'number' || typeof vHidden !== 'number' || hidden % heads !== 0 || vHidden % heads !== 0) {
      return c.unsupported(`num_heads ${heads} with hidden sizes ${hidden ?? '?'} and ${vHidden ?? '?'} (known statically and divisible)`);
    }
    if (perHead && bias) return c.unsupported('a bias with per-head key and value');
    const [h, hv] = [hidden / heads, vHidden / heads];
    const given = c.attrFloat('scale', 0);
    const part = (from: number, to: number): string => e.slice(bias, e.ints([from]), e.ints([to]), [0]);
    const biased = (t: string, from: number, to: number): string => (bias ? e.add(t, part(from, to)) : t);
    const q = toHeads(e, biased(query, 0, hidden), heads, h);
    const k = perHead ? key : toHeads(e, biased(key, hidden, 2 * hidden), heads, h);
    const v = perHead ? value : toHeads(e, biased(value, 2 * hidden, 2 * hidden + vHidden), heads, hv);
    const masks = maskBias(c, perHead);
    const logitBias = masks && attnBias ? e.add(masks, attnBias) : (masks ?? (attnBias || undefined));
    const grads = attentionBackward(e, { q, k, v, heads, kvHeads: heads, headSize: h, vHeadSize: hv, scale: given === 0 ? 1 / Math.sqrt(h) : given, bias: logitBias, like: query }, toHeads(e, dy, heads, hv));
    const [dq, dk, dv] = [fromHeads(e, grads.dq), perHead ? grads.dk : fromHeads(e, grads.dk), perHead ? grads.dv : fromHeads(e, grads.dv)];
    const shape = c.shape(query);
    const lengthOf = perHead ? c.shape(key)?.[2] : c.shape(key)?.[1];
    const logits = [shape?.[0] ?? c.graph.fresh(), heads, shape?.[1] ?? c.graph.fresh(), lengthOf ?? c.graph.fresh()];
    return [
      c.needs(0) ? dq : undefined,
      c.needs(1) ? dk : undefined,
      c.needs(2) ? dv : undefined,
      c.needs(3) && bias ? e.op('Concat', [dq, dk, dv].map((t) => e.reduceSum(t, [0, 1], false)), { axis: 0 }) : undefined,
      undefined,
      c.needs(5) && attnBias ? e.sumTo(grads.dLogits, logits, attnBias) : undefined,
    ];
  },
};

function product(a: unknown, b: unknown): number | undefined {
  return typeof a === 'number' && typeof b === 'number' ? a * b : undefined;
}

/**
 * The additive mask of the logits, (B or 1) × 1 × (S or 1) × L: `mask_filter_value` at keys masked by
 * key_padding_mask and, with `unidirectional`, at keys after the query (key j > query i); undefined
 * without masking.
 */
function maskBias(c: GradContext, perHead: boolean): string | undefined {
  const { e } = c;
  const [query, key, mask] = [c.input(0), c.input(1), c.input(4)];
  const filter = e.scalar(c.attrFloat('mask_filter_value', -10000), query);
  const zero = e.scalar(0, query);
  const keys = (): string => positions(e, e.dim(key, perHead ? 2 : 1));
  const notSet = (t: string): string => e.op('Not', [e.op('Greater', [t, e.constant([0], DataType.INT32, [])])]);
  let masked: string | undefined;
  if (mask) {
    const dims = c.shape(mask);
    const batch = c.shape(query)?.[0];
    if (dims?.length === 1) {
      if (dims[0] !== batch) return c.unsupported('a 1-D key_padding_mask other than one key length per batch row (the 3·B + 2 form)');
      // Keys at or after each row's length are masked.
      const lengths = e.unsqueeze(e.op('Cast', [mask], { to: DataType.INT64 }), [1]);
      masked = e.unsqueeze(e.op('Not', [e.op('Less', [e.unsqueeze(keys(), [0]), lengths])]), [1, 2]);
    } else if (dims?.length === 2) masked = e.unsqueeze(notSet(mask), [1, 2]);
    else if (dims?.length === 3) masked = e.unsqueeze(notSet(mask), [1]);
    else c.unsupported(`a key_padding_mask of rank ${dims?.length ?? 'unknown'}`);
  }
  let out = masked ? e.op('Where', [masked, filter, zero]) : undefined;
  if (c.attrInt('unidirectional', 0) !== 0) {
    const [s, l] = [c.shape(query)?.[1], c.shape(key)?.[perHead ? 2 : 1]];
    if (s === undefined || s !== l) return c.unsupported('unidirectional attention whose key length is not known to equal the query length (cross attention)');
    const later = e.op('Greater', [e.unsqueeze(keys(), [0]), e.unsqueeze(positions(e, e.dim(query, 1)), [1])]);
    const causal = e.op('Where', [later, filter, zero]);
    out = out ? e.add(out, causal) : causal;
  }
  return out;
}
