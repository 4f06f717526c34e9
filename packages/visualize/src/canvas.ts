import { ArgumentError, describeValue } from '@attribution/tensor';
import { UnsupportedEnvironmentError } from './errors.js';
import { checkRgbaImage, type RgbaImage } from './rgba-image.js';

/** The part of a 2D canvas context {@link drawToCanvas} uses (browser, `OffscreenCanvas`, node-canvas, …). */
export interface Canvas2DContextLike {
  /** Creates a blank pixel buffer of the given size. */
  createImageData(width: number, height: number): { readonly data: Uint8ClampedArray };
  /** Writes a pixel buffer at (dx, dy), replacing what is there. */
  putImageData(imageData: never, dx: number, dy: number): void;
}

/** The part of a canvas {@link drawToCanvas} uses: its size and a 2D context. */
export interface CanvasLike {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** The 2D context (null when the canvas already has another kind of context). */
  getContext(contextId: '2d'): unknown;
}

/** Options of {@link drawToCanvas}. */
export interface DrawOptions {
  /** Left edge in canvas pixels; default 0. */
  readonly x?: number;
  /** Top edge in canvas pixels; default 0. */
  readonly y?: number;
  /** When given a canvas (not a context), resize it to the image first; default true. */
  readonly resize?: boolean;
}

/**
 * The image as a browser `ImageData` (a copy of the pixels).
 * @throws UnsupportedEnvironmentError where `globalThis.ImageData` does not exist (e.g. Node): use
 *   {@link encodePng} there, or {@link drawToCanvas} with a canvas library's context.
 */
export function toImageData(image: RgbaImage): ImageData {
  const { width, height, data } = checkRgbaImage('image', image);
  const Ctor = (globalThis as { ImageData?: typeof ImageData }).ImageData;
  if (typeof Ctor !== 'function') {
    throw new UnsupportedEnvironmentError('globalThis.ImageData', 'Use encodePng(image) outside a browser, or drawToCanvas with a canvas context.');
  }
  return new Ctor(new Uint8ClampedArray(data), width, height);
}

function isContext(value: unknown): value is Canvas2DContextLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Canvas2DContextLike).putImageData === 'function' &&
    typeof (value as Canvas2DContextLike).createImageData === 'function'
  );
}

/**
 * Draws the image onto a canvas (`HTMLCanvasElement`, `OffscreenCanvas`) or a 2D context at (x, y), 1:1,
 * replacing the pixels underneath (like `putImageData`). A canvas is resized to the image unless
 * `resize: false`. Works with any object that has the used methods (see {@link CanvasLike}).
 * @returns the context drawn on.
 * @throws UnsupportedEnvironmentError when the canvas has no 2D context; ArgumentError for anything that is
 *   neither a canvas nor a context.
 */
export function drawToCanvas(image: RgbaImage, target: CanvasLike | Canvas2DContextLike, options: DrawOptions = {}): Canvas2DContextLike {
  const { width, height, data } = checkRgbaImage('image', image);
  let ctx: Canvas2DContextLike;
  if (isContext(target)) {
    ctx = target;
  } else if (typeof target === 'object' && target !== null && typeof (target as CanvasLike).getContext === 'function') {
    const canvas = target as CanvasLike;
    if (options.resize ?? true) {
      canvas.width = width;
      canvas.height = height;
    }
    const got = canvas.getContext('2d');
    if (!isContext(got)) throw new UnsupportedEnvironmentError('A 2D canvas context', 'getContext("2d") returned none for this canvas.');
    ctx = got;
  } else {
    throw new ArgumentError('target', 'a canvas or a 2D canvas context', describeValue(target));
  }
  const imageData = ctx.createImageData(width, height);
  imageData.data.set(data);
  ctx.putImageData(imageData as never, options.x ?? 0, options.y ?? 0);
  return ctx;
}
