import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import jpeg from 'jpeg-js';

const require = createRequire(import.meta.url);

/** An RGB image, row-major `[height, width, 3]`, values 0–255 (or whatever scale a model wants, see {@link scale}). */
export interface Rgb {
  readonly width: number;
  readonly height: number;
  readonly data: Float32Array;
}

/** A rectangle in pixels. */
export interface Box {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** The folder of `@vladmandic/face-api`, whose `demo/` holds sample photos and `model/` the weights. */
export const FACE_API_DIR = path.dirname(require.resolve('@vladmandic/face-api/package.json'));

/** A sample photo shipped in face-api's `demo/` folder (1920 pixels wide JPEGs of several faces). */
export function samplePhotoPath(name: 'sample1.jpg' | 'sample2.jpg' | 'sample3.jpg' | 'sample4.jpg' | 'sample5.jpg' | 'sample6.jpg'): string {
  return path.join(FACE_API_DIR, 'demo', name);
}

/**
 * The faces of `sample1.jpg` (1920×1280) as face-api's own SSD MobileNetV1 detector finds them, offline on
 * tfjs-wasm: `node scripts/find-faces.cjs` printed
 * `box x=1476 y=200 w=203 h=241 score=0.989 expression=happy 1.000 age=30.0 gender=female 0.788` for the
 * right-hand face (and happy 0.951 / sad 0.986 for the other two). The right-hand face is the one explained:
 * face-api itself is certain of its expression.
 */
export const SAMPLE1_FACE: Box = { x: 1476, y: 200, width: 203, height: 241 };

/** Decodes a JPEG file with jpeg-js into RGB, 0–255. */
export function decodeJpeg(file: string): Rgb {
  const img = jpeg.decode(fs.readFileSync(file), { useTArray: true, formatAsRGBA: false, maxMemoryUsageInMB: 256 });
  return { width: img.width, height: img.height, data: Float32Array.from(img.data) };
}

/** The square of side `max(width, height)` centred on `box`, clipped to the image. */
export function squareAround(img: Rgb, box: Box): Box {
  const side = Math.min(Math.max(box.width, box.height), img.width, img.height);
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  const x = Math.round(Math.min(Math.max(cx - side / 2, 0), img.width - side));
  const y = Math.round(Math.min(Math.max(cy - side / 2, 0), img.height - side));
  return { x, y, width: side, height: side };
}

/** The pixels of `box`. */
export function crop(img: Rgb, box: Box): Rgb {
  const out = new Float32Array(box.width * box.height * 3);
  for (let y = 0; y < box.height; y++) {
    const from = ((box.y + y) * img.width + box.x) * 3;
    out.set(img.data.subarray(from, from + box.width * 3), y * box.width * 3);
  }
  return { width: box.width, height: box.height, data: out };
}

/**
 * Resizes by area averaging (each output pixel the mean of the source area it covers, fractional edges
 * weighted): a good downscale, computed in JavaScript so every backend gets the same input bits.
 */
export function resize(img: Rgb, width: number, height: number): Rgb {
  const out = new Float32Array(width * height * 3);
  const sx = img.width / width;
  const sy = img.height / height;
  for (let oy = 0; oy < height; oy++) {
    const y0 = oy * sy;
    const y1 = y0 + sy;
    for (let ox = 0; ox < width; ox++) {
      const x0 = ox * sx;
      const x1 = x0 + sx;
      let r = 0;
      let g = 0;
      let b = 0;
      let total = 0;
      for (let y = Math.floor(y0); y < Math.min(Math.ceil(y1), img.height); y++) {
        const wy = Math.min(y + 1, y1) - Math.max(y, y0);
        for (let x = Math.floor(x0); x < Math.min(Math.ceil(x1), img.width); x++) {
          const w = wy * (Math.min(x + 1, x1) - Math.max(x, x0));
          const i = (y * img.width + x) * 3;
          r += w * (img.data[i] as number);
          g += w * (img.data[i + 1] as number);
          b += w * (img.data[i + 2] as number);
          total += w;
        }
      }
      const o = (oy * width + ox) * 3;
      out[o] = r / total;
      out[o + 1] = g / total;
      out[o + 2] = b / total;
    }
  }
  return { width, height, data: out };
}

/** A `width`×`height` canvas of one grey `level` with `img` pasted at (`x`, `y`). */
export function pasteOnGrey(img: Rgb, width: number, height: number, x: number, y: number, level: number): Rgb {
  const out = new Float32Array(width * height * 3).fill(level);
  for (let row = 0; row < img.height; row++) {
    out.set(img.data.subarray(row * img.width * 3, (row + 1) * img.width * 3), ((y + row) * width + x) * 3);
  }
  return { width, height, data: out };
}

/** `img` with every value multiplied by `factor` (e.g. 1/255 for models that take 0–1). */
export function scale(img: Rgb, factor: number): Rgb {
  return { width: img.width, height: img.height, data: img.data.map((v) => v * factor) };
}

/** A box blur of radius `r` (a (2r+1)² mean, edges clamped): a baseline that keeps colours but drops detail. */
export function blur(img: Rgb, r: number): Rgb {
  const pass = (src: Float32Array, dx: number, dy: number): Float32Array => {
    const out = new Float32Array(src.length);
    for (let y = 0; y < img.height; y++) {
      for (let x = 0; x < img.width; x++) {
        for (let c = 0; c < 3; c++) {
          let s = 0;
          for (let k = -r; k <= r; k++) {
            const xx = Math.min(Math.max(x + k * dx, 0), img.width - 1);
            const yy = Math.min(Math.max(y + k * dy, 0), img.height - 1);
            s += src[(yy * img.width + xx) * 3 + c] as number;
          }
          out[(y * img.width + x) * 3 + c] = s / (2 * r + 1);
        }
      }
    }
    return out;
  };
  return { width: img.width, height: img.height, data: pass(pass(img.data, 1, 0), 0, 1) };
}

/**
 * Where {@link photoOnGrey} pastes the photo: a quarter of the 224×224 canvas, off centre (right half, upper
 * middle), on the grid of 56×56 occlusion windows so that each window is all photo or all grey.
 */
export const PASTED: Box = { x: 112, y: 56, width: 112, height: 112 };

/**
 * The localisation input of the 224×224 models (nsfwjs): a crop of `photo` around `face` (twice the face's
 * side, so head, hair and shoulders), resized to 112×112 and pasted at {@link PASTED} on a grey canvas,
 * values 0–1 (nsfwjs divides pixels by 255). The grey (0.5) carries a faint fixed noise (uniform ±`amplitude`,
 * about one 8-bit level, seeded): on a perfectly flat canvas whole feature maps hold one value per channel and
 * the gradient there hangs on rounding — tfjs-wasm and tfjs-cpu Saliency on MobileNetV2Mid differ by 12% of
 * its largest value on the flat canvas, by 0.4% with this noise (2·10⁻⁴ with ±0.02, 1·10⁻⁴ with ±0.002).
 */
export function photoOnGrey(photo: Rgb, face: Box, amplitude = 0.005): Rgb {
  const sq = squareAround(photo, face);
  const side = 2 * sq.width;
  const centre = { x: sq.x + sq.width / 2, y: sq.y + 0.75 * sq.height }; // a quarter side below the face's centre
  const around = squareAround(photo, { x: centre.x - side / 2, y: centre.y - side / 2, width: side, height: side });
  const patch = scale(resize(crop(photo, around), PASTED.width, PASTED.height), 1 / 255);
  const canvas = pasteOnGrey(patch, 224, 224, PASTED.x, PASTED.y, 0.5);
  let seed = 1;
  const random = (): number => (seed = (seed * 16807) % 2147483647) / 2147483647; // Park–Miller
  for (let y = 0; y < 224; y++) {
    for (let x = 0; x < 224; x++) {
      const outside = x < PASTED.x || x >= PASTED.x + PASTED.width || y < PASTED.y || y >= PASTED.y + PASTED.height;
      for (let c = 0; c < 3; c++) {
        const noise = (random() - 0.5) * 2 * amplitude;
        if (outside) canvas.data[(y * 224 + x) * 3 + c] = 0.5 + noise;
      }
    }
  }
  return canvas;
}
