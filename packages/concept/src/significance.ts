import { ArgumentError, describeValue } from '@attribution/tensor';
import type { TCAVResult } from './tcav.js';

/** The result of {@link tTest}. */
export interface TTestResult {
  /** The t statistic (positive when the first sample's mean is larger). */
  readonly statistic: number;
  /** The two-sided p-value. */
  readonly pValue: number;
  /** The degrees of freedom (Welch–Satterthwaite when `equalVar` is false). */
  readonly df: number;
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; ~1e-15 relative). */
function logGamma(x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = c[0] as number;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += (c[i] as number) / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the incomplete beta function (modified Lentz). */
function betaFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 1000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return h;
}

/** The regularised incomplete beta function I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2) ? (front * betaFraction(a, b, x)) / a : 1 - (front * betaFraction(b, a, 1 - x)) / b;
}

/** Two-sided p-value of Student's t distribution with `df` degrees of freedom. */
export function tDistributionTwoSided(t: number, df: number): number {
  if (Number.isNaN(t)) return Number.NaN;
  if (!Number.isFinite(t)) return 0;
  return incompleteBeta(df / (df + t * t), df / 2, 0.5);
}

function checkSample(name: string, values: readonly number[]): void {
  if (!Array.isArray(values) || values.length < 2) throw new ArgumentError(name, 'an array of at least two numbers', describeValue(values));
  values.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new ArgumentError(`${name}[${i}]`, 'a finite number', describeValue(v));
  });
}

/**
 * Two-sample t-test of independent samples, two-sided (SciPy's `ttest_ind`, which Captum's TCAV tutorial
 * uses to compare a concept's scores against random concepts'): Student's pooled-variance test by default,
 * Welch's with `equalVar: false`. When both samples have zero variance the statistic is ±∞ (p = 0) for
 * different means and the test is undefined (statistic 0, p = 1) for equal ones.
 */
export function tTest(a: readonly number[], b: readonly number[], options: { readonly equalVar?: boolean } = {}): TTestResult {
  checkSample('a', a);
  checkSample('b', b);
  const n1 = a.length;
  const n2 = b.length;
  const mean = (v: readonly number[]): number => v.reduce((s, x) => s + x, 0) / v.length;
  const m1 = mean(a);
  const m2 = mean(b);
  const v1 = a.reduce((s, x) => s + (x - m1) ** 2, 0) / (n1 - 1);
  const v2 = b.reduce((s, x) => s + (x - m2) ** 2, 0) / (n2 - 1);
  let se: number;
  let df: number;
  if (options.equalVar ?? true) {
    df = n1 + n2 - 2;
    const pooled = ((n1 - 1) * v1 + (n2 - 1) * v2) / df;
    se = Math.sqrt(pooled * (1 / n1 + 1 / n2));
  } else {
    const q1 = v1 / n1;
    const q2 = v2 / n2;
    se = Math.sqrt(q1 + q2);
    df = q1 + q2 === 0 ? n1 + n2 - 2 : (q1 + q2) ** 2 / (q1 ** 2 / (n1 - 1) + q2 ** 2 / (n2 - 1));
  }
  if (se === 0) return m1 === m2 ? { statistic: 0, pValue: 1, df } : { statistic: m1 > m2 ? Infinity : -Infinity, pValue: 0, df };
  const statistic = (m1 - m2) / se;
  return { statistic, pValue: tDistributionTwoSided(statistic, df), df };
}

/**
 * One concept's scores across experimental sets: `result[key][layer][metric][position]` for each set, as
 * Captum's tutorial collects them before its t-test (e.g. the concept against each random concept, then a
 * random concept against each other random concept).
 */
export function scoresAcross(result: TCAVResult, sets: readonly (readonly { readonly id: number }[])[], layer: string, metric: 'signCount' | 'magnitude' = 'signCount', position = 0): number[] {
  return sets.map((set, i) => {
    const key = set.map((c) => String(c.id)).join('-');
    const scores = result[key]?.[layer]?.[metric];
    if (!scores) throw new ArgumentError(`sets[${i}]`, `a set scored at layer '${layer}' in the result`, key);
    const v = scores[position];
    if (v === undefined) throw new ArgumentError('position', `an index below ${scores.length}`, String(position));
    return v;
  });
}
