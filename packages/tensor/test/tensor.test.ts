import { describe, expect, it } from 'vitest';
import {
  ArgumentError,
  AttributionError,
  ShapeError,
  TargetError,
  broadcastShapes,
  checkLabels,
  createRandom,
  describeValue,
  sizeOf,
  stridesOf,
  toNumbers,
} from '../src/index.js';

describe('createRandom', () => {
  it('gives the same stream for the same seed and different streams for different seeds', () => {
    const a = createRandom(42);
    const b = createRandom(42);
    const c = createRandom(43);
    const xa = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xa);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(xa);
  });

  it('draws uniforms in [0, 1), integers in range and standard normals', () => {
    const r = createRandom(7);
    const n = 20000;
    let sum = 0;
    let sq = 0;
    let min = 1;
    let max = 0;
    for (let i = 0; i < n; i++) {
      const u = r.next();
      min = Math.min(min, u);
      max = Math.max(max, u);
      const z = r.normal();
      sum += z;
      sq += z * z;
      const k = r.int(3);
      expect(k === 0 || k === 1 || k === 2).toBe(true);
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    expect(Math.abs(sum / n)).toBeLessThan(0.05);
    expect(Math.abs(sq / n - 1)).toBeLessThan(0.05);
  });
});

describe('shape helpers', () => {
  it('computes sizes, strides and broadcasts', () => {
    expect(sizeOf([2, 3, 4])).toBe(24);
    expect(sizeOf([])).toBe(1);
    expect(stridesOf([2, 3, 4])).toEqual([12, 4, 1]);
    expect(broadcastShapes([4, 1, 3], [5, 1])).toEqual([4, 5, 3]);
    expect(broadcastShapes([2, 3], [4, 3])).toBeUndefined();
  });

  it('converts int64 data to numbers', () => {
    expect(Array.from(toNumbers(new BigInt64Array([1n, -2n])))).toEqual([1, -2]);
  });
});

describe('errors', () => {
  it('name the argument, the expectation and what was given', () => {
    const e = new ArgumentError('nSteps', 'an integer ≥ 1', '0');
    expect(e).toBeInstanceOf(AttributionError);
    expect(e.message).toBe('nSteps: expected an integer ≥ 1, got 0.');
    expect(e.argument).toBe('nSteps');
    expect(e.code).toBe('ERR_ARGUMENT');
    expect(e.name).toBe('ArgumentError');
    expect(new ShapeError('baselines', 'shape [2, 3]', 'shape [4]')).toBeInstanceOf(ArgumentError);
    expect(new TargetError('an index in [0, 3)', '5').argument).toBe('target');
  });

  it('describes values briefly', () => {
    expect(describeValue([1, 2, 3])).toBe('[1, 2, 3]');
    expect(describeValue(NaN)).toBe('NaN');
    expect(describeValue(new Float32Array(3))).toBe('a Float32Array of length 3');
    expect(describeValue({})).toBe('an object');
    expect(describeValue(new Map())).toBe('a Map');
  });
});

describe('checkLabels', () => {
  it('returns a frozen copy of non-empty, unique strings; undefined passes', () => {
    const given = ['cat', 'dog'];
    const labels = checkLabels(given);
    expect(labels).toEqual(['cat', 'dog']);
    expect(labels).not.toBe(given);
    expect(Object.isFrozen(labels)).toBe(true);
    expect(checkLabels(undefined)).toBeUndefined();
  });

  it('refuses other values with an ArgumentError naming the argument, what was expected and what was given', () => {
    const cases: [unknown, RegExp][] = [
      ['cat', /^labels: expected an array of class names.*got "cat"\.$/],
      [[], /got an empty array/],
      [['cat', 3], /got 3 at index 1/],
      [['cat', ''], /got an empty string at index 1/],
      [['cat', 'dog', 'cat'], /got "cat" twice, at indices 0 and 2/],
    ];
    for (const [value, message] of cases) {
      expect(() => checkLabels(value)).toThrow(ArgumentError);
      expect(() => checkLabels(value)).toThrow(message);
    }
    expect(() => checkLabels([1], '--labels')).toThrow(/^--labels: expected/);
  });
});
