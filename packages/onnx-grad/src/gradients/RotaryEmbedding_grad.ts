import { DataType } from '../proto.js';
import { rotate } from './rotary.js';
import type { GradientRule } from './types.js';

/**
 * com.microsoft RotaryEmbedding, inputs (input, position_ids, cos_cache, sin_cache): input is
 * (B, S, N·H) or (B, N, S, H); position_ids one start position (the positions are start + 0 … S−1) or a
 * (B, S) tensor; the caches are (max positions, R/2) with R = `rotary_embedding_dim` (or, when 0, H =
 * 2·cache width; N = `num_heads` or hidden/H). The first R entries of each head are rotated pairwise by the
 * angle whose cosine and sine the caches hold at the token's position — halves or, with `interleaved`, adjacent
 * pairs — and the rest passed through (`scale` only matters when ONNX Runtime would grow the caches). The
 * gradient reaching the input is dy rotated back, the same map with −sin (see {@link rotate}). Positions
 * are integers and the caches constants: a gradient they would need is refused.
 */
export const rotaryEmbeddingGrad: GradientRule = {
  inputs: [0, 2, 3],
  backward: (c) => {
    const { e } = c;
    if (c.needs(2) || c.needs(3)) return c.unsupported('a gradient to cos_cache or sin_cache (only the input is differentiated; the caches are expected to be constants)');
    const [x, positions, cosCache, sinCache] = [0, 1, 2, 3].map((i) => c.input(i)) as [string, string, string, string];
    const rank = c.rank(x);
    if (rank !== 3 && rank !== 4) return c.unsupported(`an input of rank ${rank} (B × S × hidden or B × N × S × H expected)`);
    const width = c.shape(cosCache)?.[1];
    if (typeof width !== 'number') return c.unsupported('a cos_cache whose width is not known statically');
    const given = c.attrInt('rotary_embedding_dim', 0);
    const heads = c.attrInt('num_heads', 0);
    if (given > 0 && heads <= 0) return c.unsupported('rotary_embedding_dim without num_heads');
    const rotaryDim = given > 0 ? given : 2 * width;
    if (rotaryDim % 2 !== 0 || width !== rotaryDim / 2) return c.unsupported(`a cache of width ${width} with a rotary dimension of ${rotaryDim}`);
    // Without rotary_embedding_dim, ONNX Runtime takes the head size from the cache (2·width).
    const last = c.shape(x)?.[rank - 1];
    if (given === 0 && typeof last === 'number' && (rank === 4 ? last !== rotaryDim : last % rotaryDim !== 0)) {
      return c.unsupported(`heads of size ${rotaryDim} (twice the cache width) that do not tile an input dimension of ${last}`);
    }
    const posShape = c.shape(positions);
    const perToken = posShape?.length === 2;
    if (!posShape || (!perToken && posShape.reduce<number>((p, d) => p * (typeof d === 'number' ? d : NaN), 1) !== 1)) {
      return c.unsupported('position_ids that are neither one start position nor a (batch, sequence) tensor');
    }
    const dy = c.dy() as string;
    // Work on heads as the last axis: (B, S, N, H) for 3-D inputs, (B, N, S, H) as given for 4-D ones.
    const g = rank === 3 ? e.op('Reshape', [dy, e.ints(given > 0 ? [0, 0, heads, -1] : [0, 0, -1, rotaryDim])]) : dy;
    const seqAxis = rank === 3 ? 1 : 2;
    let ids: string;
    if (perToken) ids = positions;
    else {
      const start = e.op('Reshape', [positions, e.ints([])]);
      const scalar = (v: number): string => e.constant([v], DataType.INT64, []);
      ids = e.add(e.op('Range', [scalar(0), e.squeeze(e.dim(x, seqAxis), [0]), scalar(1)]), start);
    }
    // cos/sin per token: (S, R/2) or (B, S, R/2), broadcast against (B, S, N, R/2) or (B, N, S, R/2).
    const gather = (cache: string): string => {
      const t = e.op('Gather', [cache, ids], { axis: 0 });
      return rank === 3 ? e.unsqueeze(t, [perToken ? 2 : 1]) : perToken ? e.unsqueeze(t, [1]) : t;
    };
    const rotatedBack = rotate(e, g, gather(cosCache), gather(sinCache), rotaryDim, c.attrInt('interleaved', 0) === 1, 4, true, given > 0);
    return [rank === 3 ? e.reshapeLike(rotatedBack, x) : rotatedBack];
  },
};
