import { checkRgbaImage, createRgbaImage, type RgbaImage } from './rgba-image.js';

/**
 * Draws `src` onto `dst` at (x, y) with "source-over" alpha compositing (the canvas default), in place.
 * Parts outside `dst` are clipped. Colours are rounded to the nearest byte.
 */
export function drawOver(dst: RgbaImage, src: RgbaImage, x = 0, y = 0): void {
  checkRgbaImage('dst', dst);
  checkRgbaImage('src', src);
  const d = dst.data;
  const s = src.data;
  for (let sy = 0; sy < src.height; sy++) {
    const dy = y + sy;
    if (dy < 0 || dy >= dst.height) continue;
    for (let sx = 0; sx < src.width; sx++) {
      const dx = x + sx;
      if (dx < 0 || dx >= dst.width) continue;
      const si = 4 * (sy * src.width + sx);
      const di = 4 * (dy * dst.width + dx);
      const as = (s[si + 3] as number) / 255;
      if (as === 1) {
        d[di] = s[si] as number;
        d[di + 1] = s[si + 1] as number;
        d[di + 2] = s[si + 2] as number;
        d[di + 3] = 255;
        continue;
      }
      const ad = (d[di + 3] as number) / 255;
      const ao = as + ad * (1 - as);
      for (let c = 0; c < 3; c++) {
        d[di + c] = ao === 0 ? 0 : Math.round(((s[si + c] as number) * as + (d[di + c] as number) * ad * (1 - as)) / ao);
      }
      d[di + 3] = Math.round(ao * 255);
    }
  }
}

/**
 * The image composited over an opaque background colour (default white, matplotlib's figure colour):
 * every pixel becomes opaque. Useful for `alpha_scaling` results, which carry the attribution in alpha.
 */
export function flatten(image: RgbaImage, background: readonly [number, number, number] = [255, 255, 255]): RgbaImage {
  checkRgbaImage('image', image);
  const out = createRgbaImage(image.width, image.height, [background[0], background[1], background[2], 255]);
  drawOver(out, image);
  return out;
}
