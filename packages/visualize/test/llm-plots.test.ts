import { ArgumentError } from '@attribution/tensor';
import { describe, expect, it } from 'vitest';
import { llmAttributionHtml, seqAttrSvg, tokenAttrSvg, type LLMAttributionLike } from '../src/index.js';

const result: LLMAttributionLike = {
  inputTokens: ['<s>', 'Dave', ' &', 'x\ny'],
  outputTokens: ['Hi', '\t!'],
  seqAttr: [0.5, -1, 2, 0],
  tokenAttr: [
    [0.1, -0.2, 0, 0.4],
    [-0.05, 0.3, 0.2, -0.4],
  ],
  outputProbs: [0.75, 0.125],
};

/** Every element of an SVG/HTML string is closed in order (a tiny well-formedness check). */
function expectBalanced(markup: string): void {
  const stack: string[] = [];
  for (const m of markup.replace(/<!DOCTYPE[^>]*>/i, '').matchAll(/<(\/?)([a-zA-Z][\w-]*)[^>]*?(\/?)>/g)) {
    const [, close, name, selfClose] = m as unknown as [string, string, string, string];
    if (['meta', 'br'].includes(name) || selfClose) continue;
    if (close) expect(stack.pop()).toBe(name);
    else stack.push(name);
  }
  expect(stack).toEqual([]);
}

interface Cell {
  row: number;
  col: number;
  fill: string;
  text: string;
  color: string;
}

function cells(svg: string): Cell[] {
  return [...svg.matchAll(/<g class="cell" data-row="(\d+)" data-col="(\d+)">\n<title>[^<]*<\/title>\n<rect [^>]*fill="(#[0-9a-f]{6})"\/>\n<text class="annotation" [^>]*fill="(black|white)"[^>]*>([^<]*)<\/text>/g)].map((m) => ({
    row: Number(m[1]),
    col: Number(m[2]),
    fill: m[3] as string,
    color: m[4] as string,
    text: m[5] as string,
  }));
}

const cellAt = (cs: Cell[], row: number, col: number): Cell => cs.find((c) => c.row === row && c.col === col) as Cell;
const textsOf = (svg: string, cls: string): string[] => [...svg.matchAll(new RegExp(`<text class="${cls}"[^>]*>([^<]*)</text>`, 'g'))].map((m) => m[1] as string);

describe('tokenAttrSvg (plot_token_attr)', () => {
  const svg = tokenAttrSvg(result);
  const cs = cells(svg);

  it('is a well-formed SVG with one cell per output × input token', () => {
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" class="token-attr" width="[\d.]+" height="[\d.]+"/);
    expectBalanced(svg);
    expect(cs).toHaveLength(2 * 4);
    expect(cs.map((c) => `${c.row},${c.col}`)).toEqual(['0,0', '0,1', '0,2', '0,3', '1,0', '1,1', '1,2', '1,3']);
  });

  it('colours symmetrically around 0 with m = max |value|', () => {
    expect(cellAt(cs, 0, 3).fill).toBe('#00429d'); // +0.4 = +m
    expect(cellAt(cs, 1, 3).fill).toBe('#93003a'); // −0.4 = −m
    expect(cellAt(cs, 0, 2).fill).toBe('#ffffff'); // 0
    expect(cellAt(cs, 1, 1).fill).toBe('#4772b3'); // 0.3 → (0.3 + 0.4) / 0.8 = 0.875 = stop 7 of 8
    expect(cellAt(cs, 1, 2).fill).toBe('#73a3ca'); // 0.2 → 0.75 = stop 6
    expect(cellAt(cs, 0, 1).fill).toBe('#f57789'); // −0.2 → 0.25 = stop 2
    expect(cellAt(cs, 0, 0).fill).toBe('#a4d6e1'); // 0.1 → 0.625 = stop 5
    // −0.05 → 0.4375 = halfway between #ffbdc3 and #ffffff: (189 + 255) / 2 = 222 (de), (195 + 255) / 2 = 225 (e1)
    expect(cellAt(cs, 1, 0).fill).toBe('#ffdee1');
  });

  it('annotates every cell with %.4f, black strictly inside (0.2, 0.8), else white', () => {
    expect(cs.map((c) => c.text)).toEqual(['0.1000', '-0.2000', '0.0000', '0.4000', '-0.0500', '0.3000', '0.2000', '-0.4000']);
    expect(cellAt(cs, 0, 0).color).toBe('black'); // 0.625
    expect(cellAt(cs, 0, 1).color).toBe('black'); // 0.25
    expect(cellAt(cs, 0, 3).color).toBe('white'); // 1
    expect(cellAt(cs, 1, 3).color).toBe('white'); // 0
    expect(cellAt(cs, 1, 1).color).toBe('white'); // 0.875
    // exactly 0.2 and 0.8 are white (strict inequality)
    const edge = cells(tokenAttrSvg({ ...result, tokenAttr: [[-0.6, 0.6, 1, -1], [0, 0, 0, 0]] }));
    expect(edge.slice(0, 4).map((c) => c.color)).toEqual(['white', 'white', 'white', 'white']);
    expect(cellAt(edge, 1, 0).color).toBe('black');
  });

  it('is all white, without NaN, when every value is 0', () => {
    const zero = tokenAttrSvg({ ...result, tokenAttr: [[0, 0, 0, 0], [0, 0, 0, 0]] });
    expect(new Set(cells(zero).map((c) => c.fill))).toEqual(new Set(['#ffffff']));
    expect(zero).not.toMatch(/NaN|Infinity/);
  });

  it('labels columns with input tokens on top (rotated, end-anchored) and rows with output tokens', () => {
    expect(textsOf(svg, 'input-label')).toEqual(['&lt;s&gt;', 'Dave', '&amp;', 'x\\ny']); // shorten strips ' &'
    expect(textsOf(svg, 'output-label')).toEqual(['Hi', '\\t!']);
    expect(svg).toMatch(/<text class="input-label" x="[\d.]+" y="[\d.]+" text-anchor="end" transform="rotate\(30 [\d.]+ [\d.]+\)"/);
    expect(svg).not.toMatch(/<s>|x\ny/);
    const tops = [...svg.matchAll(/<text class="input-label" x="[\d.]+" y="([\d.]+)"/g)].map((m) => Number(m[1]));
    const firstCellY = Number(/<g class="cell"[^]*?<rect x="[\d.]+" y="([\d.]+)"/.exec(svg)?.[1]);
    for (const y of tops) expect(y).toBeLessThan(firstCellY);
  });

  it('shows escapes like Python repr and shortens input labels to 50 characters', () => {
    const long = 'word '.repeat(20);
    const svg2 = tokenAttrSvg({
      inputTokens: [long, 'q"\'\\', 'é\u00a0😀', 'a'.repeat(60)],
      outputTokens: ['\r'],
      seqAttr: [1, 2, 3, 4],
      tokenAttr: [[1, 2, 3, 4]],
    });
    const labels = textsOf(svg2, 'input-label');
    expect(labels[0]).toBe(`${'word '.repeat(9)}...`.replace(' ...', '...')); // 9 words + '...' = 47 chars
    expect([...(labels[0] as string)].length).toBeLessThanOrEqual(50);
    expect(labels[1]).toBe('q&quot;\\&#39;\\\\'); // repr 'q"\\\'\\\\' (both quotes: ' escaped), then XML-escaped
    expect(labels[2]).toBe('é\\xa0😀');
    expect(labels[3]).toBe('...'); // textwrap.shorten: one 60-character word does not fit
    expect(textsOf(svg2, 'output-label')).toEqual(['\\r']);
    const fifty = 'b'.repeat(50);
    expect(textsOf(tokenAttrSvg({ inputTokens: [fifty], outputTokens: ['o'], seqAttr: [1], tokenAttr: [[1]] }), 'input-label')).toEqual([fifty]);
  });

  it('has a colour bar labelled Token Attribution from −m to +m', () => {
    expect(svg).toContain('<text class="colorbar-label"');
    expect(svg).toMatch(/>Token Attribution<\/text>/);
    expect(svg).toMatch(/<linearGradient id="token-attr-colorbar" x1="0" y1="1" x2="0" y2="0"><stop offset="0" stop-color="#93003a"\/>.*<stop offset="1" stop-color="#00429d"\/><\/linearGradient>/);
    expect(svg).toContain('fill="url(#token-attr-colorbar)"');
    expect(tokenAttrSvg(result, { idPrefix: 'x' })).toContain('fill="url(#x-colorbar)"');
  });

  it('honours sizes, digits, annotate and title, and escapes the title', () => {
    const custom = tokenAttrSvg(result, { cellWidth: 50, cellHeight: 20, digits: 2, title: 'A & <B>' });
    expect(custom).toMatch(/<rect x="[\d.]+" y="[\d.]+" width="50" height="20" fill="#00429d"\/>/);
    expect(cells(custom).map((c) => c.text)[0]).toBe('0.10');
    expect(custom).toContain('>A &amp; &lt;B&gt;</text>');
    expect(tokenAttrSvg(result, { annotate: false })).not.toContain('class="annotation"');
  });

  it('rejects a null tokenAttr and malformed results', () => {
    expect(() => tokenAttrSvg({ ...result, tokenAttr: null })).toThrow(ArgumentError);
    expect(() => tokenAttrSvg({ ...result, tokenAttr: null })).toThrow(/^result\.tokenAttr: expected a token attribution matrix.*got null\. .*seqAttrSvg/);
    expect(() => tokenAttrSvg({ ...result, tokenAttr: [[1, 2, 3, 4]] })).toThrow(/result\.tokenAttr: expected one row per output token \(2\), got 1 rows/);
    expect(() => tokenAttrSvg({ ...result, tokenAttr: [[1, 2, 3, 4], [1, 2, 3]] })).toThrow(/result\.tokenAttr\[1\]: expected one value per input token \(4\), got 3 values/);
    expect(() => tokenAttrSvg({ ...result, tokenAttr: [[1, 2, NaN, 4], [1, 2, 3, 4]] })).toThrow(/result\.tokenAttr\[0\]: expected finite numbers only/);
    expect(() => tokenAttrSvg({ ...result, tokenAttr: [[1, 2, 3, 4], [1, 2, 3, Infinity]] })).toThrow(ArgumentError);
    expect(() => tokenAttrSvg({ ...result, seqAttr: [1] })).toThrow(/result\.seqAttr: expected one value per input token \(4\), got 1 values/);
    expect(() => tokenAttrSvg({ ...result, outputProbs: [1] })).toThrow(/result\.outputProbs/);
    expect(() => tokenAttrSvg({ ...result, inputTokens: ['a', 'b', 'c', 4 as unknown as string] })).toThrow(/result\.inputTokens/);
    expect(() => tokenAttrSvg(null as unknown as LLMAttributionLike)).toThrow(/^result:/);
    expect(() => tokenAttrSvg(result, { cellwidth: 3 } as never)).toThrow(/unknown option 'cellwidth'.*Did you mean 'cellWidth'/);
    expect(() => tokenAttrSvg(result, { cellWidth: -1 })).toThrow(/cellWidth/);
    expect(() => tokenAttrSvg({ inputTokens: [], outputTokens: [], seqAttr: [], tokenAttr: [] })).toThrow(ArgumentError);
  });
});

describe('seqAttrSvg (plot_seq_attr)', () => {
  const svg = seqAttrSvg(result);
  const bars = [...svg.matchAll(/<g class="bar (positive|negative)" data-index="(\d)">\n<title>[^<]*<\/title>\n<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)" fill="([^"]+)"\/>/g)].map((m) => ({
    sign: m[1],
    x: Number(m[3]),
    y: Number(m[4]),
    width: Number(m[5]),
    height: Number(m[6]),
    fill: m[7],
  }));
  const zeroY = Number(/<line class="zero" x1="[\d.]+" y1="([\d.]+)"/.exec(svg)?.[1]);

  it('is a well-formed SVG with one bar per input token', () => {
    expectBalanced(svg);
    expect(bars).toHaveLength(4);
    expect(bars.map((b) => b.sign)).toEqual(['positive', 'negative', 'positive', 'positive']);
  });

  it('colours by sign and draws bars from the zero line, heights proportional to the values', () => {
    expect(bars.map((b) => b.fill)).toEqual(['#4772b3', '#d0365b', '#4772b3', '#4772b3']);
    const [a, b, c, d] = bars as [(typeof bars)[0], (typeof bars)[0], (typeof bars)[0], (typeof bars)[0]];
    expect(a.y + a.height).toBeCloseTo(zeroY, 1); // positive: ends at the zero line
    expect(b.y).toBeCloseTo(zeroY, 1); // negative: starts at the zero line
    expect(c.height / a.height).toBeCloseTo(4, 1); // 2 / 0.5
    expect(b.height / a.height).toBeCloseTo(2, 1); // |−1| / 0.5
    expect(d.height).toBe(0);
    expect(a.x).toBeLessThan(b.x);
    expect(b.x).toBeLessThan(c.x);
    expect(new Set(bars.map((bar) => bar.width))).toEqual(new Set([38.4])); // 0.8 · 48
  });

  it('labels tokens on top like plot_token_attr, with the y label and ticks', () => {
    expect(textsOf(svg, 'input-label')).toEqual(['&lt;s&gt;', 'Dave', '&amp;', 'x\\ny']);
    expect(svg).toMatch(/>Sequence Attribution<\/text>/);
    expect(svg).toContain('transform="rotate(-90');
    const ticks = textsOf(svg, 'y-tick');
    expect(ticks.length).toBeGreaterThanOrEqual(3);
    expect(ticks).toEqual(['-1', '0', '1', '2']); // [−1.15, 2.15] with matplotlib's 5% margins, step 1
    expect(textsOf(seqAttrSvg({ ...result, seqAttr: [0.1, 0.2, 0.3, 0.4] }), 'y-tick')).toEqual(['0.0', '0.1', '0.2', '0.3', '0.4']);
  });

  it('accepts colours and handles all-zero attributions', () => {
    const coloured = seqAttrSvg(result, { positiveColor: 'green', negativeColor: 'orange', slotWidth: 10 });
    expect(coloured).toContain('fill="green"');
    expect(coloured).toContain('fill="orange"');
    expect(coloured).toContain('width="8"');
    const zero = seqAttrSvg({ ...result, seqAttr: [0, 0, 0, 0] });
    expect(zero).not.toMatch(/NaN|Infinity/);
    expect([...zero.matchAll(/height="0" fill="#4772b3"/g)]).toHaveLength(4);
  });

  it('does not need tokenAttr and rejects malformed results', () => {
    expect(() => seqAttrSvg({ ...result, tokenAttr: null })).not.toThrow();
    expect(() => seqAttrSvg({ ...result, seqAttr: [1, 2, 3] })).toThrow(/result\.seqAttr: expected one value per input token \(4\), got 3 values/);
    expect(() => seqAttrSvg({ ...result, seqAttr: [1, 2, 3, NaN] })).toThrow(/result\.seqAttr: expected finite numbers only/);
    expect(() => seqAttrSvg({ ...result, inputTokens: [], seqAttr: [], tokenAttr: null })).toThrow(/result\.inputTokens: expected at least one input token/);
    expect(() => seqAttrSvg(result, { color: 'red' } as never)).toThrow(/seqAttrSvg options: .*unknown option 'color'/);
  });
});

describe('llmAttributionHtml', () => {
  const html = llmAttributionHtml(result, { title: 'Attribution of <Hi>', method: 'FeatureAblation' });

  it('is a full page with both plots, the method and the output tokens with probabilities', () => {
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expectBalanced(html);
    expect(html).toContain('<title>Attribution of &lt;Hi&gt;</title>');
    expect(html).toContain('<h1>Attribution of &lt;Hi&gt;</h1>');
    expect(html).toContain('FeatureAblation');
    expect([...html.matchAll(/<svg /g)]).toHaveLength(2);
    expect(html).toContain('class="token-attr"');
    expect(html).toContain('class="seq-attr"');
    expect(html).toContain('<tr><td>0</td><td><code>Hi</code></td><td>0.7500</td></tr>');
    expect(html).toContain('<tr><td>1</td><td><code>\\t!</code></td><td>0.1250</td></tr>');
  });

  it('shows only the bar chart when tokenAttr is null, and no probability column without outputProbs', () => {
    const seqOnly = llmAttributionHtml({ ...result, tokenAttr: null, outputProbs: null });
    expect([...seqOnly.matchAll(/<svg /g)]).toHaveLength(1);
    expect(seqOnly).toContain('class="seq-attr"');
    expect(seqOnly).not.toContain('class="token-attr"');
    expect(seqOnly).not.toContain('Probability');
    expect(seqOnly).not.toContain('Method');
    expect(seqOnly).toContain('<title>LLM attribution</title>');
  });

  it('passes plot options through and rejects unknown ones', () => {
    expect(llmAttributionHtml(result, { tokenAttr: { digits: 1 }, seqAttr: { positiveColor: 'teal' } })).toMatch(/>0\.1<\/text>[^]*fill="teal"/);
    expect(() => llmAttributionHtml(result, { methods: 'x' } as never)).toThrow(/unknown option 'methods'/);
    expect(() => llmAttributionHtml({ ...result, tokenAttr: [[1]] })).toThrow(ArgumentError);
  });
});
