import { attentionBackward, fromHeads, positions, toHeads } from './attention-core.js';
import { rotate } from './rotary.js';
import type { GradientRule } from './types.js';

/** Inputs of GroupQueryAttention past index 8 that change the computation, by position. */
const REFUSED_INPUTS: Readonly<Record<number, string>> = {
  9: 'position_ids',
  10: 'attention_bias',
  11: 'head_sink',
  12: 'k_scale (a quantized KV cache)',
  13: 'v_scale (a quantized KV cache)',
  14: 'q_norm_weight',
  15: 'k_norm_weight',
};

/**
 * com.microsoft GroupQueryAttention for a prompt without past state (the key/value cache empty or absent):
 * query (B, S, N·H) with key and value (B, S, Nk·H), or packed QKV (B, S, (N + 2·Nk)·H); each key/value head
 * serves N/Nk query heads. With `do_rotary`, Q and K are first rotated at positions 0 … S−1 by the
 * cos_cache/sin_cache rows (rotary dimension 2·cache width, `rotary_interleaved`), then
 *
 *   Z = scale·Q·Kᵀ (scale default 1/√H),  Z' = softcap·tanh(Z/softcap) (when softcap > 0),
 *   keys j > i masked for query i (`causal`, default 1) and, with local_window_size W > 0, keys j ≤ i − W
 *   (the W most recent keys are attended, the query's own included, as ONNX Runtime 1.30's kernel does),
 *   out = merge(softmax(Z')·V) (`smooth_softmax`: one extra logit 0 in the softmax).
 *
 * seqlens_k and total_sequence_length are taken as the prompt's (every row S long; rows ONNX Runtime treats
 * as padding get the gradient of unpadded attention). The backward pass is {@link attentionBackward}'s, the
 * rotation undone by rotating back. Refused: a non-empty past key/value, position_ids, attention_bias,
 * head_sink, quantized caches, Q/K norm weights, and gradients flowing into present_key, present_value or
 * output_qk.
 */
export const groupQueryAttentionGrad: GradientRule = {
  inputs: [0, 1, 2],
  backward: (c) => {
    const { e } = c;
    const [query, key, value, pastKey, pastValue] = [0, 1, 2, 3, 4].map((i) => c.input(i)) as [string, string, string, string, string];
    for (const past of [pastKey, pastValue]) {
      if (past && c.shape(past)?.[2] !== 0) return c.unsupported('a past key/value cache that is not known to be empty: gradients are built for the prompt without past state');
    }
    for (const [i, what] of Object.entries(REFUSED_INPUTS)) if (c.input(Number(i))) c.unsupported(what);
    for (const [k, name] of [[1, 'present_key'], [2, 'present_value'], [3, 'output_qk']] as const) {
      if (c.dy(k)) return c.unsupported(`a gradient flowing into the '${name}' output`);
    }
    const total = c.constant(6);
    const s = c.shape(query)?.[1];
    if (total?.length === 1 && typeof s === 'number' && total[0] !== s) return c.unsupported(`total_sequence_length ${total[0]} with a prompt of ${s} tokens (past state)`);
    const dy = c.dy(0);
    if (!dy) return [];
    if (c.rank(query) !== 3) return c.unsupported(`a query of rank ${c.rank(query)} (B × S × hidden expected)`);
    const [heads, kvHeads] = [c.attrInt('num_heads', 0), c.attrInt('kv_num_heads', 0)];
    const packed = !key;
    if (packed !== !value) return c.unsupported('a key without a value, or a value without a key');
    const width = c.shape(query)?.[2];
    const slots = packed ? heads + 2 * kvHeads : heads;
    if (!(heads > 0) || !(kvHeads > 0) || heads % kvHeads !== 0 || typeof width !== 'number' || width % slots !== 0) {
      return c.unsupported(`num_heads ${heads} and kv_num_heads ${kvHeads} with a query of width ${width ?? '?'} (known statically and divisible)`);
    }
    const h = width / slots;
    const [qWidth, kvWidth] = [heads * h, kvHeads * h];
    const cut = (t: string, from: number, to: number): string => e.slice(t, e.ints([from]), e.ints([to]), [2]);
    let q = toHeads(e, packed ? cut(query, 0, qWidth) : query, heads, h);
    let k = toHeads(e, packed ? cut(query, qWidth, qWidth + kvWidth) : key, kvHeads, h);
    const v = toHeads(e, packed ? cut(query, qWidth + kvWidth, qWidth + 2 * kvWidth) : value, kvHeads, h);

    // Rotary embedding of Q and K at positions 0 … S−1: (S, R/2) rows broadcast against (B, N, S, R/2).
    const rotary = c.attrInt('do_rotary', 0) === 1;
    const tokens = positions(e, e.dim(query, 1));
    let rotation: ((t: string, inverse: boolean) => string) | undefined;
    if (rotary) {
      const [cosCache, sinCache] = [c.input(7), c.input(8)];
      const cacheWidth = cosCache ? c.shape(cosCache)?.[1] : undefined;
      if (!cosCache || !sinCache || typeof cacheWidth !== 'number' || 2 * cacheWidth > h) return c.unsupported('do_rotary without cos_cache and sin_cache of a static width at most head_size/2');
      const [cos, sin] = [cosCache, sinCache].map((t) => e.op('Gather', [t, tokens], { axis: 0 })) as [string, string];
      const interleaved = c.attrInt('rotary_interleaved', 0) === 1;
      rotation = (t, inverse) => rotate(e, t, cos, sin, 2 * cacheWidth, interleaved, 4, inverse, 2 * cacheWidth < h);
      q = rotation(q, false);
      k = rotation(k, false);
    }

    // Causal (and local-window) mask: (S, S), key j against query i.
    const window = c.attrInt('local_window_size', -1);
    const causal = c.attrInt('causal', 1) !== 0;
    const filter = e.scalar(c.attrFloat('mask_filter_value', -10000), query);
    const zero = e.scalar(0, query);
    let blocked: string | undefined;
    const [keyPos, queryPos] = [e.unsqueeze(tokens, [0]), e.unsqueeze(tokens, [1])];
    if (causal) blocked = e.op('Greater', [keyPos, queryPos]);
    if (window > 0) {
      const early = e.op('Less', [keyPos, e.sub(queryPos, e.ints([window - 1]))]);
      blocked = blocked ? e.op('Or', [blocked, early]) : early;
    }
    const bias = blocked ? e.op('Where', [blocked, filter, zero]) : undefined;

    const given = c.attrFloat('scale', 0);
    const grads = attentionBackward(
      e,
      { q, k, v, heads, kvHeads, headSize: h, vHeadSize: h, scale: given === 0 ? 1 / Math.sqrt(h) : given, bias, softcap: c.attrFloat('softcap', 0), smooth: c.attrInt('smooth_softmax', 0) === 1, like: query },
      toHeads(e, dy, heads, h),
    );
    let [dq, dk] = [grads.dq, grads.dk];
    if (rotation) [dq, dk] = [rotation(dq, true), rotation(dk, true)];
    const [dQ, dK, dV] = [fromHeads(e, dq), fromHeads(e, dk), fromHeads(e, grads.dv)];
    if (packed) return [c.needs(0) ? e.op('Concat', [dQ, dK, dV], { axis: 2 }) : undefined];
    return [c.needs(0) ? dQ : undefined, c.needs(1) ? dK : undefined, c.needs(2) ? dV : undefined];
  },
};
