import { ArgumentError } from '@attribution/tensor';
import { describe, expect, it } from 'vitest';
import { barChartSvg } from '../src/index.js';

const values = [0.5, -1.25, 2, 0];
const names = ['a', '<b>', 'c & d', 'e'];

describe('barChartSvg', () => {
  const svg = barChartSvg(values, names, { sort: 'abs', top: 3, title: 'Feature <importance>' });
  const bars = [...svg.matchAll(/<g class="bar (positive|negative)">\n<title>([^<]*)<\/title>/g)].map((m) => [m[1], m[2]]);

  it('sorts by |value|, keeps the top k and labels values', () => {
    expect(bars).toEqual([
      ['positive', 'c &amp; d: 2.00'],
      ['negative', '&lt;b&gt;: -1.25'],
      ['positive', 'a: 0.50'],
    ]);
    expect(svg).not.toContain('>e<');
  });

  it('escapes names and the title', () => {
    expect(svg).toContain('>&lt;b&gt;</text>');
    expect(svg).toContain('>c &amp; d</text>');
    expect(svg).toContain('font-weight="bold">Feature &lt;importance&gt;</text>');
    expect(svg).not.toMatch(/<b>|<importance>/);
  });

  it('draws bars from the zero axis with sign colours', () => {
    // Names are ≤ 5 characters (36 px at 0.6 em), values ≤ 5 characters (36 + 6 px on each side):
    // plot from x = 8 + 36 + 6 + 42 = 92 to 412, domain [−1.25, 2] → zero at 92 + 320 · 1.25 / 3.25 = 215.08.
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="462" /);
    expect(svg).toContain('<line class="axis" x1="215.08" y1="30" x2="215.08"');
    expect(svg).toContain('<rect x="215.08" y="32" width="196.92" height="18" fill="#1a9850"/>'); // 2 → 412
    expect(svg).toContain('<rect x="92" y="56" width="123.08" height="18" fill="#d73027"/>'); // −1.25 → 92
    expect(svg).toContain('text-anchor="end" font-family="sans-serif" font-size="12">-1.25</text>');
  });

  it('keeps input order by default and accepts formatters and colours', () => {
    const plain = barChartSvg([1, -1], ['x', 'y'], { formatValue: (v) => `${v * 100}%`, positiveColor: 'blue', negativeColor: 'orange' });
    expect([...plain.matchAll(/<title>([^<]*)<\/title>/g)].map((m) => m[1])).toEqual(['x: 100%', 'y: -100%']);
    expect(plain).toContain('fill="blue"');
    expect(plain).toContain('fill="orange"');
  });

  it('handles all-zero attributions', () => {
    expect(barChartSvg([0, 0], ['p', 'q'])).toContain('width="0"');
  });

  it('rejects bad input', () => {
    expect(() => barChartSvg([1, 2], ['a'])).toThrow(/featureNames: expected one name per attribution \(2\), got 1 names/);
    expect(() => barChartSvg([], [])).toThrow(ArgumentError);
    expect(() => barChartSvg([1, NaN], ['a', 'b'])).toThrow(/attributions: expected finite numbers only/);
    expect(() => barChartSvg([1], ['a'], { sort: 'desc' as never })).toThrow(/sort: expected one of 'abs', 'none'/);
    expect(() => barChartSvg([1], ['a'], { top: 0 })).toThrow(/top/);
  });
});
