import { ArgumentError } from '@attribution/tensor';
import { decode } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { toBase64 } from '../src/base64.js';
import { createRgbaImage, encodePng, pngDataUri } from '../src/index.js';

const sample = (): ReturnType<typeof createRgbaImage> => {
  const im = createRgbaImage(5, 3);
  for (let i = 0; i < im.data.length; i++) im.data[i] = (i * 37 + 11) % 256;
  return im;
};

describe('encodePng', () => {
  it('round-trips every pixel through fast-png', () => {
    const im = sample();
    const png = encodePng(im);
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const back = decode(png);
    expect([back.width, back.height, back.channels, back.depth]).toEqual([5, 3, 4, 8]);
    expect(Array.from(back.data)).toEqual(Array.from(im.data));
  });

  it('is deterministic', () => {
    expect(encodePng(sample())).toEqual(encodePng(sample()));
  });

  it('rejects malformed images', () => {
    expect(() => encodePng({ width: 2, height: 2, data: new Uint8ClampedArray(15) })).toThrow(ArgumentError);
    expect(() => encodePng({ width: 0, height: 2, data: new Uint8ClampedArray(0) })).toThrow(/positive integers/);
  });
});

describe('pngDataUri', () => {
  it('is the base64 of the PNG', () => {
    const im = sample();
    expect(pngDataUri(im)).toBe(`data:image/png;base64,${Buffer.from(encodePng(im)).toString('base64')}`);
  });

  it('base64 handles every padding case and long inputs', () => {
    for (const n of [0, 1, 2, 3, 4, 5, 10000]) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 131 + 7) % 256);
      expect(toBase64(bytes)).toBe(Buffer.from(bytes).toString('base64'));
    }
  });
});
