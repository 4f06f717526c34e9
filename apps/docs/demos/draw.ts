/** Drawing digits and their attributions with @attribution/visualize (Captum's visualize_image_attr). */
import { drawToCanvas, grid, pngDataUri, visualizeImageAttr, type ImageMethod, type Sign } from '@attribution/visualize';

const SHAPE = [1, 8, 8];

/** A digit (64 values in [0, 1]) as a PNG data URI, white ink on black as visualize_image_attr draws it. */
export function digitUri(pixels: ArrayLike<number>): string {
  const image = grid(pixels, SHAPE);
  return pngDataUri(visualizeImageAttr(image, { method: 'original_image', layout: 'chw', originalImage: image }));
}

/**
 * Draws an 8×8 attribution on a canvas (8×8 pixels; scale it up with CSS `image-rendering: pixelated`).
 * When the chosen sign has nothing to show (e.g. `negative` for Grad-CAM after its ReLU), visualize_image_attr
 * refuses to normalise, as Captum does; the digit is drawn alone and a note is returned.
 */
export function drawAttribution(canvas: HTMLCanvasElement, attribution: ArrayLike<number>, pixels: ArrayLike<number>, method: ImageMethod, sign: Sign): string {
  const image = grid(pixels, SHAPE);
  const values = grid(attribution, SHAPE);
  const empty = !Array.from(attribution).some((v) => (sign === 'positive' ? v > 0 : sign === 'negative' ? v < 0 : v !== 0));
  if (empty) {
    drawDigit(canvas, pixels);
    return `no ${sign === 'positive' || sign === 'negative' ? sign : 'non-zero'} attributions to show`;
  }
  drawToCanvas(visualizeImageAttr(values, { method, sign, layout: 'chw', originalImage: image }), prepare(canvas));
  return '';
}

/**
 * The canvas's 2D context, created with `willReadFrequently` (software, cheap for 8×8 pictures) so that
 * reading the pixels back — tests, screenshots — does not warn; drawToCanvas then reuses it.
 */
function prepare(canvas: HTMLCanvasElement): HTMLCanvasElement {
  canvas.getContext('2d', { willReadFrequently: true });
  return canvas;
}

/** Draws the digit alone on a canvas (8×8 pixels). */
export function drawDigit(canvas: HTMLCanvasElement, pixels: ArrayLike<number>): void {
  const image = grid(pixels, SHAPE);
  drawToCanvas(visualizeImageAttr(image, { method: 'original_image', layout: 'chw', originalImage: image }), prepare(canvas));
}

/** Blanks a canvas (transparent). */
export function clearCanvas(canvas: HTMLCanvasElement): void {
  prepare(canvas).getContext('2d')?.clearRect(0, 0, canvas.width, canvas.height);
}

export const SIGNS: readonly { readonly value: Sign; readonly label: string }[] = [
  { value: 'all', label: 'all (green +, red −)' },
  { value: 'positive', label: 'positive' },
  { value: 'negative', label: 'negative' },
  { value: 'absolute_value', label: 'absolute value' },
];
