import type { Emitter } from '../emitter.js';

/**
 * Rotary position embedding on the last axis of `t` (a head of size H, the first `rotaryDim` = R entries
 * rotated, the rest passed through), as ONNX Runtime's RotaryEmbedding kernel computes it: with c = cos and
 * s = sin at each position (shaped to broadcast against `t` with a last axis of R/2),
 *
 *   not interleaved: the halves x₁ = t[…, :R/2], x₂ = t[…, R/2:R] become (x₁c − x₂s, x₂c + x₁s);
 *   interleaved:     the pairs (t[2k], t[2k+1]) become (t[2k]c_k − t[2k+1]s_k, t[2k+1]c_k + t[2k]s_k).
 *
 * Each pair is rotated by an angle, so the transposed map (`inverse`, for gradients) rotates by the opposite
 * angle: the same formulas with −s. `rank` is the rank of `t` (the interleaved form views the rotated part
 * as [… , R/2, 2]); `partial` when R may be less than H (the rest is passed through).
 */
export function rotate(e: Emitter, t: string, cos: string, sin: string, rotaryDim: number, interleaved: boolean, rank: number, inverse: boolean, partial: boolean): string {
  const last = rank - 1;
  const half = rotaryDim / 2;
  const big = Number.MAX_SAFE_INTEGER;
  const part = (x: string, from: number, to: number, axis: number): string => e.slice(x, e.ints([from]), e.ints([to]), [axis]);
  const rotated = part(t, 0, rotaryDim, last);
  const turn = (a: string, b: string, c: string, s: string): [string, string] =>
    inverse ? [e.add(e.mul(a, c), e.mul(b, s)), e.sub(e.mul(b, c), e.mul(a, s))] : [e.sub(e.mul(a, c), e.mul(b, s)), e.add(e.mul(b, c), e.mul(a, s))];
  let out: string;
  if (interleaved) {
    const keep = new Array<number>(last).fill(0);
    const pairs = e.op('Reshape', [rotated, e.ints([...keep, half, 2])]);
    const [c, s] = [e.unsqueeze(cos, [-1]), e.unsqueeze(sin, [-1])];
    const [a, b] = turn(part(pairs, 0, 1, rank), part(pairs, 1, 2, rank), c, s);
    out = e.op('Reshape', [e.op('Concat', [a, b], { axis: rank }), e.ints([...keep, rotaryDim])]);
  } else {
    const [a, b] = turn(part(rotated, 0, half, last), part(rotated, half, rotaryDim, last), cos, sin);
    out = e.op('Concat', [a, b], { axis: last });
  }
  return partial ? e.op('Concat', [out, part(t, rotaryDim, big, last)], { axis: last }) : out;
}
