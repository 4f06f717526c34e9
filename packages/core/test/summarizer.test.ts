import { ArgumentError } from '@attribution/tensor';
import { describe, expect, it } from 'vitest';
import { ClassSummarizer, CommonStats, Count, MSE, Max, Mean, Min, StdDev, Sum, Summarizer, Var, statByName, type Summary } from '../src/index.js';

// Captum's tests/attr/test_stat.py, test_summarizer.py and test_class_summarizer.py, and values computed by
// Captum 0.8 (captum.attr.Summarizer / ClassSummarizer, float64) for the fixed data below.

const near = (got: Float64Array | number | undefined, want: readonly number[] | number, tol = 1e-9): void => {
  const g = typeof got === 'number' ? [got] : Array.from(got ?? []);
  const w = typeof want === 'number' ? [want] : want;
  expect(g).toHaveLength(w.length);
  g.forEach((v, i) => expect(Math.abs(v - (w[i] as number)), `index ${i}: ${v} vs ${w[i]}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(w[i] as number))));
};

/** A seeded generator (mulberry32), for Captum's random-data test. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('Summarizer (test_stat.py)', () => {
  it('test_div0: nothing before the first update, variance 0 after one or two equal values', () => {
    const s = new Summarizer([Var(), Mean()]);
    expect(s.summary).toBeUndefined();
    s.update(10);
    near((s.summary as Summary).mean, [10]);
    near((s.summary as Summary).variance, [0]);
    s.update(10);
    near((s.summary as Summary).mean, [10]);
    near((s.summary as Summary).variance, [0]);
  });

  it('test_var_defin: a skewed distribution of ±10000 has the two-pass variance, positive', () => {
    for (const [small, big] of [[100, 10], [10, 100]] as const) {
      const s = new Summarizer([Var()]);
      const values = [...Array<number>(small).fill(-10000), ...Array<number>(big).fill(10000)];
      values.forEach((v) => s.update([v]));
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      const want = values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length;
      near(s.summaryOf()?.variance, [want]);
      expect((s.summaryOf()?.variance as Float64Array)[0]).toBeGreaterThan(0);
    }
  });

  it('test_multi_dim: element-wise mean and variance', () => {
    const s = new Summarizer([Mean(), Var()]);
    s.update([1, 2, 3, 4]);
    near(s.summaryOf()?.mean, [1, 2, 3, 4]);
    near(s.summaryOf()?.variance, [0, 0, 0, 0]);
    s.update(Float32Array.of(2, 1, 2, 4));
    near(s.summaryOf()?.mean, [1.5, 1.5, 2.5, 4]);
    near(s.summaryOf()?.variance, [0.25, 0.25, 0.25, 0]);
    s.update(Float64Array.of(3, 3, 1, 4));
    near(s.summaryOf()?.mean, [2, 2, 2, 4]);
    near(s.summaryOf()?.variance, [2 / 3, 2 / 3, 2 / 3, 0]);
  });

  it('test_stats_random_data: every stat against its two-pass definition (1000 values in ±100000)', () => {
    const r = random(7);
    const values = Array.from({ length: 1000 }, () => r() * 200000 - 100000);
    const n = values.length;
    const mean = values.reduce((a, b) => a + b, 0) / n;
    const mse = values.reduce((a, b) => a + (b - mean) ** 2, 0);
    const want: Record<string, number> = {
      mean,
      variance: mse / n,
      sample_variance: mse / (n - 1),
      std_dev: Math.sqrt(mse / n),
      sample_std_dev: Math.sqrt(mse / (n - 1)),
      min: Math.min(...values),
      max: Math.max(...values),
      sum: values.reduce((a, b) => a + b, 0),
      mse,
    };
    const stats = [Mean(), Var(), Var({ order: 1 }), StdDev(), StdDev({ order: 1 }), Min(), Max(), Sum(), MSE()];
    for (const st of stats) {
      const s = new Summarizer([st]);
      for (const v of values) s.update(v);
      near(s.summaryOf()?.[st.name], [want[st.name] as number], 1e-9);
    }
  });

  it('matches Captum on a large offset (1e8 + small deviations): Welford keeps the variance exact', () => {
    const s = new Summarizer([Mean(), Var(), Var({ order: 1 }), StdDev(), StdDev({ order: 1 }), Min(), Max(), MSE(), Count(), Sum()]);
    for (const row of [[1e8 + 1, -3, 0.5], [1e8 + 4, 2, 0.25], [1e8 + 7, 7, -0.75], [1e8 + 13, -1, 0]]) s.update(row);
    const summ = s.summary as Summary;
    expect(Object.keys(summ)).toEqual(['mean', 'variance', 'sample_variance', 'std_dev', 'sample_std_dev', 'min', 'max', 'mse', 'count', 'sum']);
    expect(summ.count).toBe(4);
    expect(s.count).toBe(4);
    near(summ.mean, [100000006.25, 1.25, 0]);
    near(summ.mse, [78.75, 56.75, 0.875]);
    near(summ.variance, [19.6875, 14.1875, 0.21875]);
    near(summ.sample_variance, [26.25, 18.916666666666668, 0.2916666666666667]);
    near(summ.std_dev, [4.437059837324712, 3.766629793329841, 0.46770717334674267]);
    near(summ.sample_std_dev, [5.123475382979799, 4.349329450233296, 0.5400617248673217]);
    near(summ.sum, [400000025, 5, 0]);
    near(summ.max, [100000013, 7, 0.5]);
    near(summ.min, [100000001, -3, -0.75]);
  });

  it('sample variance is 0 until a second update; orders above 1 are named variance(k)', () => {
    const s = new Summarizer([Var({ order: 1 }), StdDev({ order: 2 }), Var({ order: 2 })]);
    s.update([5]);
    near(s.summaryOf()?.sample_variance, [0]);
    s.update([7]);
    s.update([9]);
    near(s.summaryOf()?.sample_variance, [4]);
    near(s.summaryOf()?.['variance(2)'], [8]);
    near(s.summaryOf()?.['std_dev(2)'], [Math.sqrt(8)]);
  });
});

describe('Summarizer (test_summarizer.py)', () => {
  it('CommonStats: mean, sample variance, sample std dev, min, max with the row length', () => {
    const r = random(1);
    const s = new Summarizer(CommonStats());
    for (let k = 0; k < 10; k++) s.update(Array.from({ length: 6 }, r));
    const summ = s.summary as Summary;
    expect(Object.keys(summ)).toEqual(['mean', 'sample_variance', 'sample_std_dev', 'min', 'max']);
    for (const key in summ) expect((summ[key] as Float64Array).length).toBe(6);
  });

  it('several inputs: a list of summaries, one per input', () => {
    const r = random(2);
    const s = new Summarizer(CommonStats());
    for (let k = 0; k < 10; k++) s.update([Array.from({ length: 250 }, r), Array.from({ length: 15 }, r)]);
    const summ = s.summary as Summary[];
    expect(summ).toHaveLength(2);
    for (const key in summ[0]) {
      expect((summ[0]?.[key] as Float64Array).length).toBe(250);
      expect((summ[1]?.[key] as Float64Array).length).toBe(15);
    }
  });

  it('stats by name, duplicates dropped', () => {
    const s = new Summarizer(['mean', Mean(), 'count', 'sample_std_dev']);
    s.update([1, 2]);
    s.update([3, 6]);
    expect(Object.keys(s.summary as Summary)).toEqual(['mean', 'count', 'sample_std_dev']);
    near(s.summaryOf()?.sample_std_dev, [Math.SQRT2, 2 * Math.SQRT2]);
  });
});

describe('Summarizer errors', () => {
  it('rejects unknown stats, clashing names, shape changes, form changes and non-finite values', () => {
    expect(() => new Summarizer(['median'])).toThrow(ArgumentError);
    expect(() => new Summarizer(['median'])).toThrow(/stats\[0\]: expected one of the stat names/);
    expect(() => statByName('varianse')).toThrow(ArgumentError);
    expect(() => new Summarizer([])).toThrow(ArgumentError);
    expect(() => new Summarizer([Var({ order: 2, name: 'v' }), Mean({ name: 'v' })])).toThrow(/a second stat named 'v'/);
    expect(() => Var({ order: -1 })).toThrow(ArgumentError);
    const s = new Summarizer([Mean(), Var()]);
    s.update([1, 2, 3]);
    expect(() => s.update([1, 2])).toThrow(/x: expected 3 values, as in the first update, got 2/);
    expect(() => s.update([[1, 2, 3]])).toThrow(ArgumentError);
    expect(() => s.update([1, Number.NaN, 3])).toThrow(/finite values, got NaN at index 1/);
    expect(() => s.update([1, Infinity, 3])).toThrow(ArgumentError);
    expect(s.count).toBe(1); // failed updates change nothing
    const m = new Summarizer([Mean()]);
    m.update([[1], [2, 3]]);
    expect(() => m.update([[1], [2, Number.NaN]])).toThrow(/x\[1\]: expected finite values/);
    expect(() => m.update([[1]])).toThrow(/2 rows \(one per input\)/);
    expect(m.count).toBe(1);
  });
});

describe('ClassSummarizer (test_class_summarizer.py)', () => {
  it('matches Captum: per-class and overall CommonStats', () => {
    const c = new ClassSummarizer(CommonStats());
    c.update([[1, 2], [3, 5], [4, -1]], ['a', 'b', 'a']);
    c.update([[0, 1]], 'b');
    const all = c.summary as Summary;
    near(all.mean, [2, 1.75]);
    near(all.sample_variance, [10 / 3, 6.25]);
    near(all.max, [4, 5]);
    near(all.min, [0, -1]);
    const per = c.classSummaries;
    expect([...per.keys()]).toEqual(['a', 'b']);
    const a = per.get('a') as Summary;
    const b = per.get('b') as Summary;
    near(a.mean, [2.5, 0.5]);
    near(a.sample_variance, [4.5, 4.5]);
    near(a.sample_std_dev, [Math.sqrt(4.5), Math.sqrt(4.5)]);
    near(b.mean, [1.5, 3]);
    near(b.sample_variance, [4.5, 8]);
    near(b.min, [0, 1]);
  });

  it('test_classes: batch sizes 1 and 4, numeric and string labels, two inputs', () => {
    const r = random(3);
    for (const bs of [1, 4]) {
      for (const classes of [Array.from({ length: 100 }, (_, i) => i), Array.from({ length: 100 }, (_, i) => `${i}`), Array.from({ length: 100 }, (_, i) => 300 + i)]) {
        const c = new ClassSummarizer(CommonStats());
        for (let b = 0; b < classes.length / bs; b++) {
          const x0 = Array.from({ length: bs }, () => Array.from({ length: 180 }, r));
          const x1 = Array.from({ length: bs }, () => [r()]);
          c.update([x0, x1], classes.slice(b * bs, (b + 1) * bs));
        }
        const summ = c.summary as Summary[];
        expect(summ).toHaveLength(2);
        expect((summ[0]?.mean as Float64Array).length).toBe(180);
        expect((summ[1]?.mean as Float64Array).length).toBe(1);
        expect(c.classSummaries.size).toBe(classes.length);
        for (const k of classes) expect((c.classSummaries.get(k) as Summary[])[0]?.max).toHaveLength(180);
      }
    }
  });

  it('test_no_class: without labels only the overall summary', () => {
    const c = new ClassSummarizer(CommonStats());
    c.update([[1, 2, 3], [2, 3, 4]]);
    expect(c.count).toBe(2);
    near((c.summary as Summary).mean, [1.5, 2.5, 3.5]);
    expect(c.classSummaries.size).toBe(0);
  });

  it('test_single_label: one label for the whole batch equals the overall summary', () => {
    for (const label of [1, 'apple']) {
      const r = random(4);
      const c = new ClassSummarizer(CommonStats());
      c.update(Array.from({ length: 100 }, () => Array.from({ length: 24 }, r)), label);
      const overall = c.summary as Summary;
      const cls = c.classSummaries.get(label) as Summary;
      for (const key of Object.keys(overall)) expect(Array.from(cls[key] as Float64Array)).toEqual(Array.from(overall[key] as Float64Array));
    }
  });

  it('rejects a label count that is neither 1 nor the batch size, and bad rows, before updating', () => {
    const c = new ClassSummarizer([Mean()]);
    expect(() => c.update([[1], [2], [3]], [0, 1])).toThrow(/labels: expected one label, or 3/);
    expect(() => c.update([[1], [2, 3]], 0)).toThrow(/examples\[1\]: expected 1 values/);
    expect(() => c.update([[1], [2]], [0, {} as never])).toThrow(ArgumentError);
    expect(c.count).toBe(0);
  });
});
