import { ArgumentError, describeValue } from '@attribution/tensor';
import { drawOver } from './composite.js';
import { checkInteger, checkOptionNames } from './errors.js';
import { escapeXml } from './escape.js';
import { svgNumber } from './format.js';
import { pngDataUri } from './png.js';
import { checkRgbaImage, createRgbaImage, type RgbaImage } from './rgba-image.js';

/** One panel of a figure: an image and an optional title (titles are drawn by {@link figureSvg} only). */
export interface Panel {
  /** The panel's image. */
  readonly image: RgbaImage;
  /** Text above the panel (SVG figures only). */
  readonly title?: string;
}

/** Options of {@link figure}. */
export interface FigureOptions {
  /** Pixels between panels; default 8. */
  readonly gap?: number;
  /** Pixels around the panels; default 8. */
  readonly padding?: number;
  /** Integer nearest-neighbour magnification of every panel; default 1. */
  readonly scale?: number;
  /** Background RGBA bytes; default opaque white (matplotlib's figure colour). */
  readonly background?: readonly [number, number, number, number];
}

/** Options of {@link figureSvg}. */
export interface FigureSvgOptions {
  /** Gap between panels, in SVG pixels; default 8. */
  readonly gap?: number;
  /** Space around the panels; default 8. */
  readonly padding?: number;
  /** Display magnification of the images (pixels stay crisp, `image-rendering: pixelated`); default 1. */
  readonly scale?: number;
  /** Title font size; default 12. */
  readonly fontSize?: number;
  /** Title font family (CSS); default `sans-serif`. */
  readonly fontFamily?: string;
  /** Background fill (CSS colour), or `'none'` for transparent; default `white`. */
  readonly background?: string;
  /** Panels per row: more panels wrap onto further rows (`gap` apart); default all in one row. */
  readonly columns?: number;
}

function checkPanels(panels: unknown): Panel[] {
  if (!Array.isArray(panels) || panels.length === 0) throw new ArgumentError('panels', 'a non-empty list of { image, title? }', describeValue(panels));
  return panels.map((p: unknown, i) => {
    if (typeof p !== 'object' || p === null) throw new ArgumentError(`panels[${i}]`, 'an object { image, title? }', describeValue(p));
    const { image, title } = p as { image?: unknown; title?: unknown };
    if (title !== undefined && typeof title !== 'string') throw new ArgumentError(`panels[${i}].title`, 'a string', describeValue(title));
    return { image: checkRgbaImage(`panels[${i}].image`, image), ...(title === undefined ? {} : { title }) };
  });
}

function checkSize(argument: string, value: unknown, fallback: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new ArgumentError(argument, 'a non-negative number', describeValue(v));
  return v;
}

/** Nearest-neighbour magnification by an integer factor. */
function magnify(image: RgbaImage, k: number): RgbaImage {
  if (k === 1) return image;
  const out = createRgbaImage(image.width * k, image.height * k);
  for (let y = 0; y < out.height; y++) {
    for (let x = 0; x < out.width; x++) {
      const si = 4 * (Math.floor(y / k) * image.width + Math.floor(x / k));
      out.data.set(image.data.subarray(si, si + 4), 4 * (y * out.width + x));
    }
  }
  return out;
}

/**
 * Lays images out side by side, top-aligned, on a background, as one raster (e.g. for {@link encodePng}).
 * Panels are composited "source-over", so `alpha_scaling` images show over the background as in matplotlib.
 * Titles are ignored: a raster needs a font to draw text, so use {@link figureSvg} for titled figures.
 */
export function figure(panels: readonly Panel[], options: FigureOptions = {}): RgbaImage {
  checkOptionNames('figure options', options, ['gap', 'padding', 'scale', 'background']);
  const list = checkPanels(panels);
  const gap = checkInteger('gap', options.gap ?? 8, 0);
  const padding = checkInteger('padding', options.padding ?? 8, 0);
  const scale = checkInteger('scale', options.scale ?? 1, 1, 64);
  const background = options.background ?? [255, 255, 255, 255];
  if (!Array.isArray(background) || background.length !== 4 || !background.every((v) => Number.isInteger(v) && v >= 0 && v <= 255)) {
    throw new ArgumentError('background', 'four bytes [r, g, b, a]', describeValue(background));
  }
  const images = list.map((p) => magnify(p.image, scale));
  const width = 2 * padding + images.reduce((s, im) => s + im.width, 0) + gap * (images.length - 1);
  const height = 2 * padding + Math.max(...images.map((im) => im.height));
  const out = createRgbaImage(width, height, background as [number, number, number, number]);
  let x = padding;
  for (const im of images) {
    drawOver(out, im, x, padding);
    x += im.width + gap;
  }
  return out;
}

/**
 * A standalone SVG document with the images side by side (each embedded as a PNG data URI), top-aligned,
 * with each title centred above its panel — the equivalent of Captum's `visualize_image_attr_multiple`
 * figure. Titles are XML-escaped.
 */
export function figureSvg(panels: readonly Panel[], options: FigureSvgOptions = {}): string {
  checkOptionNames('figureSvg options', options, ['gap', 'padding', 'scale', 'fontSize', 'fontFamily', 'background', 'columns']);
  const list = checkPanels(panels);
  const gap = checkSize('gap', options.gap, 8);
  const padding = checkSize('padding', options.padding, 8);
  const scale = checkSize('scale', options.scale, 1);
  if (scale === 0) throw new ArgumentError('scale', 'a positive number', '0');
  const fontSize = checkSize('fontSize', options.fontSize, 12);
  const fontFamily = options.fontFamily ?? 'sans-serif';
  const background = options.background ?? 'white';
  const columns = checkInteger('columns', options.columns ?? list.length, 1);
  const titled = list.some((p) => p.title !== undefined && p.title !== '');
  const titleBand = titled ? Math.ceil(fontSize * 1.5) : 0;
  const rows: Panel[][] = [];
  for (let i = 0; i < list.length; i += columns) rows.push(list.slice(i, i + columns));
  const rowWidth = (row: readonly Panel[]): number => row.reduce((s, p) => s + p.image.width * scale, 0) + gap * (row.length - 1);
  const rowHeight = (row: readonly Panel[]): number => titleBand + Math.max(...row.map((p) => p.image.height * scale));
  const width = 2 * padding + Math.max(...rows.map(rowWidth));
  const height = 2 * padding + rows.reduce((s, r) => s + rowHeight(r), 0) + gap * (rows.length - 1);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${svgNumber(width)}" height="${svgNumber(height)}" viewBox="0 0 ${svgNumber(width)} ${svgNumber(height)}">`,
  ];
  if (background !== 'none') parts.push(`<rect width="100%" height="100%" fill="${escapeXml(background)}"/>`);
  let y = padding;
  let i = 0;
  for (const row of rows) {
    let x = padding;
    for (const p of row) {
      const w = p.image.width * scale;
      const h = p.image.height * scale;
      parts.push(`<g class="panel" id="panel-${i++}">`);
      if (p.title) {
        parts.push(
          `<text x="${svgNumber(x + w / 2)}" y="${svgNumber(y + fontSize)}" text-anchor="middle" font-family="${escapeXml(fontFamily)}" font-size="${svgNumber(fontSize)}">${escapeXml(p.title)}</text>`,
        );
      }
      parts.push(
        `<image x="${svgNumber(x)}" y="${svgNumber(y + titleBand)}" width="${svgNumber(w)}" height="${svgNumber(h)}" preserveAspectRatio="none" style="image-rendering: pixelated" xlink:href="${pngDataUri(p.image)}"/>`,
      );
      parts.push('</g>');
      x += w + gap;
    }
    y += rowHeight(row) + gap;
  }
  parts.push('</svg>');
  return parts.join('\n');
}
