import { ArgumentError } from '@attribution/tensor';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COLORMAP_NAMES, getColormap, linearSegmentedColormap, lutIndex, type LookupColormap } from '../src/index.js';

/** Byte tables read from matplotlib 3.6.3 by `fixtures/matplotlib-luts.py`. */
const reference = JSON.parse(readFileSync(new URL('./fixtures/matplotlib-luts.json', import.meta.url), 'utf8')) as {
  matplotlib: string;
  luts: Record<string, number[][]>;
};

describe('built-in colour maps', () => {
  it('are byte-identical to matplotlib for all 256 entries', () => {
    expect(Object.keys(reference.luts).sort()).toEqual([...COLORMAP_NAMES].sort());
    for (const name of COLORMAP_NAMES) {
      const map = getColormap(name) as LookupColormap;
      expect(map.size).toBe(256);
      const ours = Array.from({ length: 256 }, (_, k) => [...map.lut.subarray(4 * k, 4 * k + 3)]);
      expect(ours, name).toEqual(reference.luts[name]);
      expect([...map.lut.filter((_, i) => i % 4 === 3)].every((a) => a === 255)).toBe(true);
    }
  });

  it('endpoints and midpoints match the published control colours', () => {
    // Hand-derived from matplotlib's data: entry 0 / 255 are the first / last control colours; for RdWhGn the
    // midpoint x = 127.5 lies between entries 127 and 128, each 0.5/127.5 away from white.
    const rdwhgn = getColormap('RdWhGn');
    expect(rdwhgn(0)).toEqual([255, 0, 0, 255]);
    expect(rdwhgn(1)).toEqual([0, 128, 0, 255]);
    // entry 127: red→white at distance 127/127.5 → g = b = trunc(255 · 127/127.5) = 254.
    expect(rdwhgn(127 / 256)).toEqual([255, 254, 254, 255]);
    // entry 128: white→green at distance 0.5/127.5 → r = b = trunc(255 · (1 − 0.5/127.5)) = 254,
    // g = trunc(255 · (1 + (128/255 − 1) · 0.5/127.5)) = trunc(254.5) = 254.
    expect(rdwhgn(0.5)).toEqual([254, 254, 254, 255]);
    expect(getColormap('Blues')(0)).toEqual([0xf7, 0xfb, 0xff, 255]);
    expect(getColormap('Blues')(1)).toEqual([0x08, 0x30, 0x6b, 255]);
    expect(getColormap('Greens')(1)).toEqual([0x00, 0x44, 0x1b, 255]);
    // matplotlib stores the last blue as 0.05098039215686274 (one ulp below 13/255): its byte is 12.
    expect(getColormap('Reds')(1)).toEqual([0x67, 0x00, 12, 255]);
    // RdYlGn has 11 controls: entry 0 is #a50026, the middle control #ffffbf sits at x = 127.5.
    expect(getColormap('RdYlGn')(0)).toEqual([0xa5, 0x00, 0x26, 255]);
    expect(getColormap('gray')(0.5)).toEqual([128, 128, 128, 255]);
  });

  it('index like matplotlib: trunc(x · N), 1 → N − 1, clamped', () => {
    expect(lutIndex(0, 256)).toBe(0);
    expect(lutIndex(1 / 256 - 1e-12, 256)).toBe(0);
    expect(lutIndex(1 / 256, 256)).toBe(1);
    expect(lutIndex(0.5, 256)).toBe(128);
    expect(lutIndex(0.999, 256)).toBe(255);
    expect(lutIndex(1, 256)).toBe(255);
    expect(lutIndex(-0.2, 256)).toBe(0);
    expect(lutIndex(7, 256)).toBe(255);
  });

  it('builds custom maps and accepts functions', () => {
    const bw = linearSegmentedColormap('bw', ['#000', [1, 1, 1]], 3);
    expect([bw(0), bw(0.5), bw(1)]).toEqual([
      [0, 0, 0, 255],
      [127, 127, 127, 255],
      [255, 255, 255, 255],
    ]);
    const f = (): readonly [number, number, number, number] => [1, 2, 3, 4];
    expect(getColormap(f)).toBe(f);
  });

  it('reject unknown names and bad colours', () => {
    expect(() => getColormap('Blue' as never)).toThrow(ArgumentError);
    expect(() => getColormap('Blue' as never)).toThrow(/cmap: expected one of 'RdWhGn', 'RdYlGn', 'Greens', 'Reds', 'Blues', 'gray', got 'Blue'. Did you mean 'Blues'\?/);
    expect(() => linearSegmentedColormap('x', ['#00'])).toThrow(ArgumentError);
    expect(() => linearSegmentedColormap('x', ['#000', 'red'])).toThrow(/colors\[1\]/);
  });
});
