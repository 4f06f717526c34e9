import { encode } from 'fast-png';
import { toBase64 } from './base64.js';
import { checkRgbaImage, type RgbaImage } from './rgba-image.js';

/**
 * Encodes an image as an 8-bit RGBA PNG (pure JavaScript via `fast-png`; works in Node and browsers).
 * The output is deterministic for a given image.
 */
export function encodePng(image: RgbaImage): Uint8Array {
  const { width, height, data } = checkRgbaImage('image', image);
  return encode({ width, height, data, channels: 4, depth: 8 });
}

/** The image as a `data:image/png;base64,…` URI, e.g. for an `<img src>` or an SVG `<image href>`. */
export function pngDataUri(image: RgbaImage): string {
  return `data:image/png;base64,${toBase64(encodePng(image))}`;
}
