import { ArgumentError, type Backend } from '@attribution/tensor';
import { describe, expect, it } from 'vitest';
import { cumulativeSumThreshold, formatFixed, fromTensor, grid, normalizeAttr, reduceChannels, rgbaToGrid } from '../src/index.js';

describe('cumulativeSumThreshold (Captum _cumulative_sum_threshold)', () => {
  it('returns the first sorted value whose running sum reaches total · 0.01 · percentile', () => {
    // sorted [1, 2, 3, 4], running [1, 3, 6, 10]
    expect(cumulativeSumThreshold([4, 1, 3, 2], 98)).toBe(4); // 9.8 → 10
    expect(cumulativeSumThreshold([4, 1, 3, 2], 50)).toBe(3); // 5 → 6
    expect(cumulativeSumThreshold([4, 1, 3, 2], 60)).toBe(3); // exactly 6 → 6 (≥)
    expect(cumulativeSumThreshold([4, 1, 3, 2], 61)).toBe(4); // 6.1 → 10
    expect(cumulativeSumThreshold([4, 1, 3, 2], 0)).toBe(1);
    expect(cumulativeSumThreshold([4, 1, 3, 2], 100)).toBe(4);
    expect(cumulativeSumThreshold([0, 0, 0], 98)).toBe(0);
  });

  it('saturates the values that make up the top outlier percentage of the mass', () => {
    // 99 small values and one huge one: the huge one is more than 2 % of the mass and is the threshold only
    // when it is needed to reach 98 %.
    expect(cumulativeSumThreshold([...Array<number>(99).fill(1), 1000], 98)).toBe(1000);
    // [1, 1, 1, 1, 96]: running [1, 2, 3, 4, 100], 98 % = 98 → 96
    expect(cumulativeSumThreshold([96, 1, 1, 1, 1], 98)).toBe(96);
  });

  it('rejects an out-of-range percentile and empty input', () => {
    expect(() => cumulativeSumThreshold([1], 101)).toThrow(ArgumentError);
    expect(() => cumulativeSumThreshold([1], -1)).toThrow(/percentile: expected a number between 0 and 100/);
    expect(() => cumulativeSumThreshold([], 50)).toThrow(ArgumentError);
  });
});

describe('normalizeAttr (Captum _normalize_attr)', () => {
  const v = [10, -20, 30, -40];
  it('per sign', () => {
    // |v| = [10, 20, 30, 40], running [10, 30, 60, 100]; outlierPerc 40 → 60 → T = 30
    expect([...normalizeAttr(v, { sign: 'all', outlierPerc: 40 })]).toEqual([1 / 3, -2 / 3, 1, -1]);
    expect([...normalizeAttr(v, { sign: 'absolute_value', outlierPerc: 40 })]).toEqual([1 / 3, 2 / 3, 1, 1]);
    // positive: [10, 0, 30, 0], running [0, 0, 10, 40], 24 → 30
    expect([...normalizeAttr(v, { sign: 'positive', outlierPerc: 40 })]).toEqual([1 / 3, 0, 1, 0]);
    // negative: |[0, −20, 0, −40]| running [0, 0, 20, 60], 36 → 40, T = −40
    expect([...normalizeAttr(v, { sign: 'negative', outlierPerc: 40 })]).toEqual([-0, 0.5, -0, 1]);
    // defaults: absolute_value, outlierPerc 2 → T = 40
    expect([...normalizeAttr(v)]).toEqual([0.25, 0.5, 0.75, 1]);
  });

  it('a zero threshold is an error, as in Captum', () => {
    expect(() => normalizeAttr([-1, -2], { sign: 'positive' })).toThrow(ArgumentError);
    expect(() => normalizeAttr([-1, -2], { sign: 'positive' })).toThrow(/a positive attribution to normalise by/);
    expect(() => normalizeAttr([1, 2], { sign: 'negative' })).toThrow(/a negative attribution/);
    expect(() => normalizeAttr([0, 0], { sign: 'all' })).toThrow(/a non-zero attribution/);
  });

  it('rejects NaN, unknown signs and a bad outlierPerc', () => {
    expect(() => normalizeAttr([1, NaN])).toThrow(/attribution: expected finite numbers only, got NaN at flat index 1/);
    expect(() => normalizeAttr([1], { sign: 'abs' as never })).toThrow(
      /sign: expected one of 'positive', 'absolute_value', 'negative', 'all', got 'abs'/,
    );
    expect(() => normalizeAttr([1], { outlierPerc: 120 })).toThrow(/outlierPerc/);
  });

  it('reduceChannels sums the channels of (H, W, C) planes', () => {
    expect([...reduceChannels({ height: 1, width: 2, channels: 3, data: Float64Array.from([1, 2, 3, -1, -1, 5]) })]).toEqual([6, 3]);
  });
});

describe('inputs', () => {
  it('grid checks shape against data', () => {
    expect(grid([1, 2, 3, 4, 5, 6], [2, 3]).shape).toEqual([2, 3]);
    expect(() => grid([1, 2, 3], [2, 2])).toThrow(/grid: expected 4 values for shape \[2, 2\], got 3 values/);
    expect(() => grid([1], [1.5])).toThrow(ArgumentError);
  });

  it('fromTensor reads through a Backend', async () => {
    const tensor = { values: new Float32Array([1, 2, 3, 4]), dims: [2, 2] };
    const backend = {
      shape: (t: typeof tensor) => t.dims,
      data: (t: typeof tensor) => Promise.resolve(t.values),
    } as unknown as Backend<typeof tensor>;
    const g = await fromTensor(backend, tensor);
    expect(g.shape).toEqual([2, 2]);
    expect(Array.from(g.data)).toEqual([1, 2, 3, 4]);
  });

  it('rgbaToGrid drops alpha', () => {
    const g = rgbaToGrid({ width: 2, height: 1, data: [1, 2, 3, 4, 5, 6, 7, 8] });
    expect(g.shape).toEqual([1, 2, 3]);
    expect(Array.from(g.data)).toEqual([1, 2, 3, 5, 6, 7]);
    expect(() => rgbaToGrid({ width: 2, height: 2, data: [1] })).toThrow(ArgumentError);
  });
});

describe('formatFixed (Python "{:.Nf}")', () => {
  it.each([
    [0.125, 2, '0.12'],
    [0.375, 2, '0.38'],
    [2.675, 2, '2.67'],
    [1.005, 2, '1.00'],
    [-0.001, 2, '-0.00'],
    [-0, 2, '-0.00'],
    [0.5, 0, '0'],
    [1.5, 0, '2'],
    [2.5, 0, '2'],
    [9.995, 2, '9.99'],
    [9.999, 2, '10.00'],
    [NaN, 2, 'nan'],
    [-Infinity, 2, '-inf'],
    [1e22, 2, '10000000000000000000000.00'],
    [0.87654, 2, '0.88'],
    [123.456, 1, '123.5'],
  ])('%s with %i decimals → %s', (x, digits, want) => {
    expect(formatFixed(x, digits)).toBe(want);
  });
});
