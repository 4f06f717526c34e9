import { ArgumentError } from '@attribution/tensor';
import { describe, expect, it } from 'vitest';
import { formatSpecialToken, textHtml, tokenColor, type VisualizationDataRecord } from '../src/index.js';

const record: VisualizationDataRecord = {
  wordAttributions: [0, 0.8, -0.5, 1.7, 99],
  predProb: 0.125,
  predClass: 'pos',
  trueClass: 'neg <1>',
  attrClass: 'pos',
  attrScore: 2.675,
  rawInputIds: ['<s>', 'good', '<b>&', 'movie'],
  convergenceScore: 0.01,
};

describe('tokenColor (Captum _get_color)', () => {
  it.each([
    [0, 'hsl(0, 75%, 100%)'],
    [0.8, 'hsl(120, 75%, 60%)'], // 100 − trunc(40)
    [0.3, 'hsl(120, 75%, 85%)'], // 100 − trunc(15)
    [0.01, 'hsl(120, 75%, 100%)'], // 100 − trunc(0.5)
    [1.7, 'hsl(120, 75%, 50%)'], // clipped to 1
    [-0.5, 'hsl(0, 75%, 80%)'], // 100 − trunc(20)
    [-0.99, 'hsl(0, 75%, 61%)'], // 100 − trunc(39.6)
    [-3, 'hsl(0, 75%, 60%)'],
  ])('%s → %s', (a, css) => expect(tokenColor(a)).toBe(css));

  it('rejects NaN', () => expect(() => tokenColor(NaN)).toThrow(ArgumentError));
});

describe('formatSpecialToken', () => {
  it('shows <x> as #x', () => {
    expect(formatSpecialToken('<s>')).toBe('#s');
    expect(formatSpecialToken('<<pad>>')).toBe('#pad');
    expect(formatSpecialToken('<b>&')).toBe('<b>&');
    expect(formatSpecialToken('word')).toBe('word');
  });
});

describe('textHtml', () => {
  const html = textHtml([record]);

  it('is a standalone document with the legend and Captum’s columns', () => {
    expect(html.startsWith('<!DOCTYPE html>\n<html lang="en">')).toBe(true);
    expect(html).toContain('<title>Word importance</title>');
    expect(html).toContain(
      '<tr><th>True Label</th><th>Predicted Label</th><th>Attribution Label</th><th>Attribution Score</th><th>Word Importance</th></tr>',
    );
    expect(html).toContain('background-color: hsl(0, 75%, 60%)"></span> Negative');
    expect(html).toContain('background-color: hsl(0, 75%, 100%)"></span> Neutral');
    expect(html).toContain('background-color: hsl(120, 75%, 50%)"></span> Positive');
  });

  it('formats labels and scores like Python and escapes them', () => {
    expect(html).toContain('<td><span style="padding-right:2em"><b>neg &lt;1&gt;</b></span></td>');
    expect(html).toContain('<b>pos (0.12)</b>'); // Python rounds 0.125 half-to-even
    expect(html).toContain('<b>2.67</b>'); // 2.675 is 2.67499… in binary
  });

  it('highlights each token with its colour, escaped, special tokens as #x', () => {
    const marks = [...html.matchAll(/<mark style="background-color: ([^;]+); opacity:1.0; line-height:1.75"><span style="color: black"> (.*?) <\/span><\/mark>/g)].map(
      (m) => [m[1], m[2]],
    );
    expect(marks).toEqual([
      ['hsl(0, 75%, 100%)', '#s'],
      ['hsl(120, 75%, 60%)', 'good'],
      ['hsl(0, 75%, 80%)', '&lt;b&gt;&amp;'],
      ['hsl(120, 75%, 50%)', 'movie'],
    ]);
    expect(html).not.toContain('<b>&');
  });

  it('fragment mode, no legend, empty importances', () => {
    const fragment = textHtml([{ ...record, wordAttributions: [] }], { standalone: false, legend: false });
    expect(fragment.startsWith('<table style="width: 100%">')).toBe(true);
    expect(fragment).toContain('<td></td></tr>');
    expect(fragment).not.toContain('Legend');
  });

  it('rejects fewer importances than tokens, NaN importances and malformed records', () => {
    expect(() => textHtml([{ ...record, wordAttributions: [1, 2] }])).toThrow(
      /records\[0\]: expected at least one importance per token \(4\), got 2 importances/,
    );
    expect(() => textHtml([{ ...record, wordAttributions: [1, NaN, 0, 0] }])).toThrow(/records\[0\]\.wordAttributions: expected finite numbers only/);
    expect(() => textHtml([{ ...record, predProb: '0.5' as never }])).toThrow(/records\[0\]\.predProb: expected a number/);
    expect(() => textHtml({} as never)).toThrow(ArgumentError);
    expect(() => textHtml([record], { legends: false } as never)).toThrow(/Did you mean 'legend'/);
  });
});
