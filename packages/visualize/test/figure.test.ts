import { ArgumentError } from '@attribution/tensor';
import { decode } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { createRgbaImage, figure, figureSvg, flatten, type RgbaImage } from '../src/index.js';

const solid = (w: number, h: number, c: [number, number, number, number]): RgbaImage => createRgbaImage(w, h, c);
const at = (im: RgbaImage, x: number, y: number): number[] => [...im.data.subarray(4 * (y * im.width + x), 4 * (y * im.width + x) + 4)];

describe('figure (raster)', () => {
  it('places panels side by side, top-aligned, with padding and gaps', () => {
    const red = solid(2, 1, [255, 0, 0, 255]);
    const blue = solid(1, 2, [0, 0, 255, 255]);
    const out = figure([{ image: red, title: 'ignored' }, { image: blue }], { gap: 1, padding: 1, background: [0, 0, 0, 255] });
    // width 1 + 2 + 1 + 1 + 1 = 6, height 1 + 2 + 1 = 4
    expect([out.width, out.height]).toEqual([6, 4]);
    const rows = Array.from({ length: 4 }, (_, y) => Array.from({ length: 6 }, (_, x) => (at(out, x, y)[0] === 255 ? 'R' : at(out, x, y)[2] === 255 ? 'B' : '.')).join(''));
    expect(rows).toEqual(['......', '.RR.B.', '....B.', '......']);
  });

  it('magnifies by an integer scale and composites translucent panels over the background', () => {
    const half = solid(1, 1, [255, 0, 0, 127]);
    const out = figure([{ image: half }], { padding: 0, scale: 2 });
    expect([out.width, out.height]).toEqual([2, 2]);
    // over white: r = round(255·a + 255·(1 − a)) = 255, g = b = round(255 · 128/255) = 128
    for (const [x, y] of [[0, 0], [1, 1]] as const) expect(at(out, x, y)).toEqual([255, 128, 128, 255]);
    expect(at(flatten(half), 0, 0)).toEqual([255, 128, 128, 255]);
    expect(at(flatten(half, [0, 0, 0]), 0, 0)).toEqual([127, 0, 0, 255]);
  });

  it('rejects empty or malformed panels', () => {
    expect(() => figure([])).toThrow(ArgumentError);
    expect(() => figure([{ image: { width: 1, height: 1, data: new Uint8ClampedArray(3) } }])).toThrow(/panels\[0\]\.image\.data/);
    expect(() => figure([{ image: solid(1, 1, [0, 0, 0, 0]) }], { scale: 0 })).toThrow(/scale/);
  });
});

describe('figureSvg', () => {
  const a = solid(3, 2, [10, 20, 30, 255]);
  const b = solid(2, 4, [40, 50, 60, 128]);
  const svg = figureSvg(
    [
      { image: a, title: 'heat <map> & "all"' },
      { image: b, title: 'masked' },
    ],
    { scale: 10 },
  );

  it('is a standalone SVG sized to the panels and title band', () => {
    // width 8 + 30 + 8 + 20 + 8 = 74; height 8 + ceil(12 · 1.5) = 18 + 40 + 8 = 74
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="74" height="74" viewBox="0 0 74 74">')).toBe(true);
    expect(svg.endsWith('</svg>')).toBe(true);
    expect(svg.match(/<g /g)?.length).toBe(2);
    expect(svg.match(/<\/g>/g)?.length).toBe(2);
    expect(svg).toContain('<rect width="100%" height="100%" fill="white"/>');
  });

  it('escapes titles and centres them over their panels', () => {
    expect(svg).toContain('<text x="23" y="20" text-anchor="middle" font-family="sans-serif" font-size="12">heat &lt;map&gt; &amp; &quot;all&quot;</text>');
    expect(svg).toContain('>masked</text>');
    expect(svg).not.toContain('<map>');
  });

  it('embeds each image as a PNG data URI that decodes to the panel', () => {
    const uris = [...svg.matchAll(/<image x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"[^>]*xlink:href="data:image\/png;base64,([^"]+)"/g)];
    expect(uris.map((m) => m.slice(1, 5).map(Number))).toEqual([
      [8, 26, 30, 20],
      [46, 26, 20, 40],
    ]);
    const decoded = uris.map((m) => decode(Buffer.from(m[5] as string, 'base64')));
    expect(Array.from(decoded[0]?.data ?? [])).toEqual(Array.from(a.data));
    expect(Array.from(decoded[1]?.data ?? [])).toEqual(Array.from(b.data));
  });

  it('wraps onto rows of `columns` panels, each row as tall as its tallest panel', () => {
    const grid = figureSvg([{ image: a, title: '1' }, { image: b, title: '2' }, { image: a, title: '3' }], { scale: 10, columns: 2 });
    // width as one row of a and b (74); rows 18 + 40 and 18 + 20, 8 apart: 8 + 58 + 8 + 38 + 8 = 120
    expect(grid).toContain('width="74" height="120"');
    const at = [...grid.matchAll(/<image x="([\d.]+)" y="([\d.]+)"/g)].map((m) => [Number(m[1]), Number(m[2])]);
    expect(at).toEqual([
      [8, 26],
      [46, 26],
      [8, 92],
    ]);
    expect(grid).toContain('<text x="23" y="86"');
    expect(() => figureSvg([{ image: a }], { columns: 0 })).toThrow(/columns/);
  });

  it('omits the title band without titles and supports a transparent background', () => {
    const plain = figureSvg([{ image: a }], { padding: 0, background: 'none' });
    expect(plain).toContain('width="3" height="2"');
    expect(plain).not.toContain('<text');
    expect(plain).not.toContain('<rect');
  });
});
