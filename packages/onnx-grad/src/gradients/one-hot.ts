import type { Emitter } from '../emitter.js';
import { DataType } from '../proto.js';

/**
 * The one-hot encoding of int64 `indices` (negative ones counting from `depth`) along a new last axis of
 * size `depth` (a 1-element int64 tensor), with the floating-point type of tensor `like`: `Equal` against
 * `Range(0, depth)` then `Cast`, which ONNX Runtime runs for every float type (its OneHot has no
 * float64 kernel).
 */
export function oneHot(e: Emitter, indices: string, depth: string, like: string): string {
  const scalar = (v: number): string => e.constant([v], DataType.INT64, []);
  const wrapped = e.op('Where', [e.op('Less', [indices, scalar(0)]), e.add(indices, depth), indices]);
  const positions = e.op('Range', [scalar(0), e.squeeze(depth, [0]), scalar(1)]);
  const hit = e.op('Equal', [e.unsqueeze(wrapped, [-1]), positions]);
  return e.op('Cast', [hit], { to: e.floatType(like) });
}
