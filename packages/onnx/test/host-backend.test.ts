import * as tf from '@tensorflow/tfjs';
import { createRandom, type Backend, type Random } from '@attribution/tensor';
import { tfjsBackend } from '@attribution/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { hostBackend, type OnnxTensor } from '../src/index.js';

// The host backend is checked against TensorFlow.js, operation by operation, on random shapes.

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const rng = createRandom(7);
const dims = (r: Random, rank: number): number[] => Array.from({ length: rank }, () => 1 + r.int(4));
const values = (n: number): number[] => Array.from({ length: n }, () => Math.round(rng.normal() * 100) / 50);
const size = (s: number[]): number => s.reduce((a, b) => a * b, 1);

type Op = <T>(b: Backend<T>, make: (shape: number[], v: number[]) => T) => T;

async function same(op: Op): Promise<void> {
  const host = op(hostBackend, (s, v) => hostBackend.tensor(v, s));
  const ref = op(tfjsBackend, (s, v) => tfjsBackend.tensor(v, s));
  expect(hostBackend.shape(host)).toEqual(ref.shape);
  const want = Array.from(await ref.data());
  const got = Array.from((await hostBackend.data(host)) as Float32Array, Number);
  got.forEach((g, i) => expect(Math.abs(g - want[i]!)).toBeLessThanOrEqual(1e-5 + 1e-5 * Math.abs(want[i]!)));
  tf.dispose(ref);
}

/** Shape b broadcastable against a (some dims 1, maybe fewer leading dims). */
function partner(a: number[]): number[] {
  return a.slice(rng.int(a.length)).map((d) => (rng.next() < 0.4 ? 1 : d));
}

describe('hostBackend agrees with tfjsBackend', () => {
  for (let trial = 0; trial < 12; trial++) {
    const a = dims(rng, 1 + rng.int(4));
    const b = partner(a);
    const [va, vb] = [values(size(a)), values(size(b)).map((v) => (v === 0 ? 0.5 : v))];
    it(`binary ops with broadcasting ${JSON.stringify(a)} · ${JSON.stringify(b)}`, async () => {
      for (const name of ['add', 'sub', 'mul', 'div', 'maximum', 'minimum'] as const) {
        await same((bk, make) => bk[name](make(a, va) as never, make(b, vb) as never) as never);
        await same((bk, make) => bk[name](make(b, vb) as never, make(a, va) as never) as never);
        await same((bk, make) => bk[name](make(a, va) as never, 1.5) as never);
        await same((bk, make) => bk[name](2, make(a, va) as never) as never);
      }
    });
    const axis = rng.int(a.length);
    const reps = a.map(() => 1 + rng.int(2));
    const begin = a.map((d) => rng.int(d));
    const extent = a.map((d, i) => (rng.next() < 0.3 ? -1 : 1 + rng.int(d - (begin[i] as number))));
    const m = [a[0] as number, 3];
    const [vm, vn] = [values(size(m)), values(6)];
    it(`unary ops, reductions and layout ops on ${JSON.stringify(a)}`, async () => {
      for (const name of ['neg', 'abs', 'square', 'exp'] as const) await same((bk, make) => bk[name](make(a, va) as never) as never);
      await same((bk, make) => bk.sqrt(bk.abs(make(a, va) as never) as never) as never);
      const axes = [...new Set([axis, a.length - 1])];
      for (const name of ['sum', 'mean', 'max'] as const) {
        await same((bk, make) => bk[name](make(a, va) as never) as never);
        await same((bk, make) => bk[name](make(a, va) as never, axis, true) as never);
        await same((bk, make) => bk[name](make(a, va) as never, axes) as never);
      }
      const perm = a.map((_, i) => i).reverse();
      await same((bk, make) => bk.transpose(make(a, va) as never, perm) as never);
      await same((bk, make) => bk.reshape(make(a, va) as never, [-1]) as never);
      await same((bk, make) => bk.tile(make(a, va) as never, reps) as never);
      await same((bk, make) => bk.tile(make(a, va) as never, a.map((_, i) => (i === 0 ? 3 : 1))) as never);
      await same((bk, make) => bk.concat([make(a, va), make(a, va)] as never[], axis) as never);
      await same((bk, make) => bk.slice(make(a, va) as never, begin, extent) as never);
      const indices = [0, (a[axis] as number) - 1, 0];
      await same((bk, make) => bk.gather(make(a, va) as never, indices, axis) as never);
      await same((bk, make) => bk.broadcastTo(make(b, vb) as never, a) as never);
      await same((bk) => bk.fill(a, 0.25) as never);
      await same((bk, make) => bk.matMul(make(m, vm) as never, make([3, 2], vn) as never) as never);
      await same((bk, make) => bk.matMul(make([3, m[0] as number], vm) as never, make([2, 3], vn) as never, true, true) as never);
    });
  }

  it('keeps dtypes: int64 and int32 tensors, casts', async () => {
    const ids = hostBackend.tensor([1, 2, 3, 4], [2, 2], 'int64');
    expect(ids.type).toBe('int64');
    expect((await hostBackend.data(ids)) instanceof BigInt64Array).toBe(true);
    const tiled = hostBackend.tile(ids, [2, 1]);
    expect(Array.from((await hostBackend.data(tiled)) as BigInt64Array, Number)).toEqual([1, 2, 3, 4, 1, 2, 3, 4]);
    expect(hostBackend.cast(ids, 'float32').type).toBe('float32');
    expect(hostBackend.add(ids, 1).type).toBe('int64');
    expect(hostBackend.mul(ids, 0.5).type).toBe('float32');
    const t = hostBackend.fill([2], 1);
    hostBackend.dispose(t);
    expect(hostBackend.isDisposed(t)).toBe(true);
    expect(() => (t as OnnxTensor).data).toThrow(/disposed/);
    expect(() => hostBackend.add(hostBackend.fill([2, 3], 1), hostBackend.fill([4], 1))).toThrow(/shapes that broadcast/);
  });

  it('keeps a typed array of the tensor\'s element type (like new ort.Tensor) and copies anything else', async () => {
    const f32 = new Float32Array([1, 2, 3, 4]);
    expect(await hostBackend.data(hostBackend.tensor(f32, [2, 2], 'float32'))).toBe(f32);
    const f64 = new Float64Array([1, 2]);
    expect(await hostBackend.data(hostBackend.tensor(f64, [2], 'float64'))).toBe(f64);
    // Another element type or a plain array: converted into a new array.
    const converted = await hostBackend.data(hostBackend.tensor(f32, [4], 'float64'));
    expect(converted).not.toBe(f32);
    expect(Array.from(converted as Float64Array)).toEqual([1, 2, 3, 4]);
    const list = [1, 2];
    expect(Array.from((await hostBackend.data(hostBackend.tensor(list, [2]))) as Float32Array)).toEqual([1, 2]);
  });
});
