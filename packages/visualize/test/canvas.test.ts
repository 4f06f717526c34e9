import { ArgumentError } from '@attribution/tensor';
import { afterEach, describe, expect, it } from 'vitest';
import { type Canvas2DContextLike, createRgbaImage, drawToCanvas, toImageData, UnsupportedEnvironmentError } from '../src/index.js';

const image = createRgbaImage(2, 1, [1, 2, 3, 4]);

/** A recording stand-in for a 2D context. */
function fakeContext(): Canvas2DContextLike & { puts: { data: number[]; x: number; y: number }[] } {
  const puts: { data: number[]; x: number; y: number }[] = [];
  return {
    puts,
    createImageData: (w: number, h: number) => ({ data: new Uint8ClampedArray(w * h * 4) }),
    putImageData: (d: never, x: number, y: number) => {
      puts.push({ data: [...(d as { data: Uint8ClampedArray }).data], x, y });
    },
  };
}

describe('toImageData', () => {
  afterEach(() => {
    delete (globalThis as { ImageData?: unknown }).ImageData;
  });

  it('throws a typed error where ImageData does not exist (Node)', () => {
    expect(() => toImageData(image)).toThrow(UnsupportedEnvironmentError);
    expect(() => toImageData(image)).toThrow(/globalThis\.ImageData is not available in this environment/);
  });

  it('builds an ImageData copy where it exists', () => {
    class FakeImageData {
      constructor(
        readonly data: Uint8ClampedArray,
        readonly width: number,
        readonly height: number,
      ) {}
    }
    (globalThis as { ImageData?: unknown }).ImageData = FakeImageData;
    const out = toImageData(image) as unknown as FakeImageData;
    expect(out).toBeInstanceOf(FakeImageData);
    expect([out.width, out.height, ...out.data]).toEqual([2, 1, 1, 2, 3, 4, 1, 2, 3, 4]);
    expect(out.data).not.toBe(image.data);
  });
});

describe('drawToCanvas', () => {
  it('puts the pixels on a context at (x, y)', () => {
    const ctx = fakeContext();
    expect(drawToCanvas(image, ctx, { x: 3, y: 4 })).toBe(ctx);
    expect(ctx.puts).toEqual([{ data: [1, 2, 3, 4, 1, 2, 3, 4], x: 3, y: 4 }]);
  });

  it('resizes a canvas and draws on its 2D context', () => {
    const ctx = fakeContext();
    const canvas = { width: 300, height: 150, getContext: (id: '2d') => (id === '2d' ? ctx : null) };
    drawToCanvas(image, canvas);
    expect([canvas.width, canvas.height]).toEqual([2, 1]);
    expect(ctx.puts).toHaveLength(1);
    const kept = { width: 300, height: 150, getContext: () => ctx };
    drawToCanvas(image, kept, { resize: false });
    expect([kept.width, kept.height]).toEqual([300, 150]);
  });

  it('reports a canvas without a 2D context and rejects other targets', () => {
    expect(() => drawToCanvas(image, { width: 1, height: 1, getContext: () => null })).toThrow(UnsupportedEnvironmentError);
    expect(() => drawToCanvas(image, {} as never)).toThrow(ArgumentError);
  });

  it('accepts the DOM canvas types (compile-time check)', () => {
    const typecheck = (c: HTMLCanvasElement, o: OffscreenCanvas, ctx: CanvasRenderingContext2D, octx: OffscreenCanvasRenderingContext2D): void => {
      drawToCanvas(image, c);
      drawToCanvas(image, o);
      drawToCanvas(image, ctx);
      drawToCanvas(image, octx);
    };
    expect(typeof typecheck).toBe('function');
  });
});
