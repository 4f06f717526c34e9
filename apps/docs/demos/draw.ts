/** Drawing digits and their attributions with @attribution/visualize (Captum's visualize_image_attr). */
import { drawToCanvas, grid, pngDataUri, visualizeImageAttr, type ImageMethod, type Sign } from '@attribution/visualize';

const SHAPE = [1, 8, 8];

/** A digit (64 values in [0, 1]) as a PNG data URI, white ink on black as visualize_image_attr draws it. */
export function digitUri(pixels: ArrayLike<number>): string {
  const image = grid(pixels, SHAPE);
  return pngDataUri(visualizeImageAttr(image, { method: 'original_image', layout: 'chw', originalImage: image }));
}

/** The side of the 8×8 pictures on the page: every input pixel is a 24×24 block (nearest-neighbour). */
export const PICTURE_SIZE = 192;

/**
 * Draws an 8×8 attribution on a canvas, upscaled with nearest-neighbour sampling to the canvas's size (each
 * pixel a crisp block, also where CSS `image-rendering: pixelated` is missing).
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
  upscale(visualizeImageAttr(values, { method, sign, layout: 'chw', originalImage: image }), canvas);
  return '';
}

/**
 * The canvas's 2D context, created with `willReadFrequently` (software, cheap for small pictures) so that
 * reading the pixels back — tests, screenshots — does not warn.
 */
function context(canvas: HTMLCanvasElement): CanvasRenderingContext2D | null {
  return canvas.getContext('2d', { willReadFrequently: true });
}

let scratch: HTMLCanvasElement | undefined;

/** Draws an 8×8 picture of visualize_image_attr on `canvas`, scaled to its size with nearest-neighbour sampling. */
function upscale(rgba: Parameters<typeof drawToCanvas>[0], canvas: HTMLCanvasElement): void {
  scratch ??= document.createElement('canvas');
  drawToCanvas(rgba, scratch); // resizes it to 8×8
  const ctx = context(canvas);
  if (!ctx) return;
  ctx.imageSmoothingEnabled = false;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(scratch, 0, 0, canvas.width, canvas.height);
}

/** Draws the digit alone on a canvas (upscaled as {@link drawAttribution}). */
export function drawDigit(canvas: HTMLCanvasElement, pixels: ArrayLike<number>): void {
  const image = grid(pixels, SHAPE);
  upscale(visualizeImageAttr(image, { method: 'original_image', layout: 'chw', originalImage: image }), canvas);
}

/** Blanks a canvas (transparent). */
export function clearCanvas(canvas: HTMLCanvasElement): void {
  context(canvas)?.clearRect(0, 0, canvas.width, canvas.height);
}

/**
 * Paints with a round brush at (`x`, `y`), in [0, 1) of the picture's width and height, on an 8×8 digit in [0, 1]
 * (row-major): the pixel under the pointer becomes 1, its four neighbours at least 0.5 — strokes about two pixels
 * wide, like the digits the model was trained on. Returns whether a pixel changed.
 */
export function paint(pixels: Float32Array, x: number, y: number): boolean {
  const col = Math.floor(x * 8);
  const row = Math.floor(y * 8);
  let changed = false;
  const set = (r: number, c: number, v: number): void => {
    if (r < 0 || r > 7 || c < 0 || c > 7) return;
    const k = r * 8 + c;
    if ((pixels[k] as number) < v) {
      pixels[k] = v;
      changed = true;
    }
  };
  set(row, col, 1);
  for (const [dr, dc] of [[-1, 0], [1, 0], [0, -1], [0, 1]] as const) set(row + dr, col + dc, 0.5);
  return changed;
}

export const SIGNS: readonly { readonly value: Sign; readonly label: string }[] = [
  { value: 'all', label: 'all (green +, red −)' },
  { value: 'positive', label: 'positive' },
  { value: 'negative', label: 'negative' },
  { value: 'absolute_value', label: 'absolute value' },
];
