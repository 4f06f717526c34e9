import { ArgumentError, ShapeError, formatShape } from '@attribution/tensor';
import { type Colormap, type ColormapName, getColormap } from './colormaps.js';
import { checkChoice, checkNumber, checkOptionNames } from './errors.js';
import { checkFiniteGrid, type Grid } from './grid.js';
import { type Layout, type Planes, toPlanes } from './layout.js';
import { normalizeAttr, reduceChannels, type Sign, SIGNS } from './normalize.js';
import { createRgbaImage, type RgbaImage } from './rgba-image.js';

/**
 * How to draw an image attribution (Captum's `ImageVisualizationMethod`):
 * - `'heat_map'`: the normalised attribution through the sign's colour map;
 * - `'blended_heat_map'`: the heat map at opacity `alphaOverlay` over the image's channel mean in grey;
 * - `'original_image'`: the image only;
 * - `'masked_image'`: the image multiplied by the normalised attribution (not with sign `'all'`);
 * - `'alpha_scaling'`: the image with alpha = normalised attribution (not with sign `'all'`).
 */
export type ImageMethod = 'heat_map' | 'blended_heat_map' | 'original_image' | 'masked_image' | 'alpha_scaling';

/** Every {@link ImageMethod}, in Captum's order. */
export const IMAGE_METHODS: readonly ImageMethod[] = ['heat_map', 'blended_heat_map', 'original_image', 'masked_image', 'alpha_scaling'];

/**
 * How the original image's values are read: `'unit'` values in [0, 1] (scaled by 255), `'byte'` values in
 * [0, 255], `'auto'` (Captum's rule) `'unit'` when the maximum is ≤ 1, else `'byte'`.
 */
export type ImageScale = 'auto' | 'unit' | 'byte';

/** Every {@link ImageScale}. */
export const IMAGE_SCALES: readonly ImageScale[] = ['auto', 'unit', 'byte'];

/** Options of {@link visualizeImageAttr}. */
export interface ImageAttrOptions {
  /** Drawing method; default `'heat_map'`. */
  readonly method?: ImageMethod;
  /** Which attributions to show; default `'absolute_value'`. */
  readonly sign?: Sign;
  /**
   * Channel position of a rank-3/4 attribution: `'chw'` (`(C, H, W)`, `(N, C, H, W)`) or `'hwc'`. Required
   * for those ranks (never guessed); a rank-2 `(H, W)` attribution needs none.
   */
  readonly layout?: Layout;
  /** The original image, `(H, W)` or `(H, W, C)`/`(C, H, W)` (± a batch axis) with 1 or 3 channels. */
  readonly originalImage?: Grid;
  /** Channel position of a rank-3/4 `originalImage`; default `layout`. */
  readonly imageLayout?: Layout;
  /** Value range of `originalImage`; default `'auto'` (Captum's rule, see {@link ImageScale}). */
  readonly imageScale?: ImageScale;
  /** Percentage of the attribution mass saturated at full colour; default 2. */
  readonly outlierPerc?: number;
  /** Colour map for the heat map; default by sign: `'RdWhGn'`, `'Greens'`, `'Reds'`, `'Blues'`. */
  readonly cmap?: ColormapName | Colormap;
  /** Opacity of the heat map in `'blended_heat_map'`; default 0.5. In [0, 1]. */
  readonly alphaOverlay?: number;
  /** Which example of a rank-4 batch to draw; required when the batch has more than one. */
  readonly batchIndex?: number;
}

const OPTION_NAMES = [
  'method',
  'sign',
  'layout',
  'originalImage',
  'imageLayout',
  'imageScale',
  'outlierPerc',
  'cmap',
  'alphaOverlay',
  'batchIndex',
] as const;

/**
 * Captum's default colour map and value range for a sign: `'all'` → `'RdWhGn'` on [−1, 1]; `'positive'` →
 * `'Greens'`, `'negative'` → `'Reds'`, `'absolute_value'` → `'Blues'`, each on [0, 1].
 */
export function defaultColormap(sign: Sign): { readonly cmap: ColormapName; readonly vmin: number; readonly vmax: number } {
  switch (checkChoice('sign', sign, SIGNS)) {
    case 'all':
      return { cmap: 'RdWhGn', vmin: -1, vmax: 1 };
    case 'positive':
      return { cmap: 'Greens', vmin: 0, vmax: 1 };
    case 'negative':
      return { cmap: 'Reds', vmin: 0, vmax: 1 };
    case 'absolute_value':
      return { cmap: 'Blues', vmin: 0, vmax: 1 };
  }
}

/** Truncates toward zero and clips to [0, 255] (Captum's `_prepare_image` on one value). */
function toByte(v: number): number {
  const t = Math.trunc(v);
  return t < 0 ? 0 : t > 255 ? 255 : t;
}

/** The original image as Captum holds it after its [0, 1] → [0, 255] conversion. */
function prepareOriginal(planes: Planes, scale: ImageScale): Float64Array {
  let max = -Infinity;
  for (const v of planes.data) if (v > max) max = v;
  const unit = scale === 'unit' || (scale === 'auto' && max <= 1);
  return unit ? planes.data.map((v) => toByte(v * 255)) : planes.data;
}

/**
 * Draws an image attribution the way Captum's `visualize_image_attr` does, as an RGBA raster with one pixel
 * per attribution element.
 *
 * Steps: the attribution is rearranged to `(H, W, C)` per `layout`, summed over channels, normalised for the
 * sign with the cumulative-sum outlier threshold ({@link normalizeAttr}), then drawn per `method`. An original
 * image whose maximum is ≤ 1 is converted to `trunc(x · 255)` clipped to [0, 255] (`imageScale: 'auto'`);
 * otherwise its values are taken as 0–255 and truncated/clipped where shown.
 *
 * Pixels: `heat_map` = `cmap((norm − vmin) / (vmax − vmin))` via matplotlib's table indexing;
 * `blended_heat_map` = `round(α · heat + (1 − α) · grey)` with `α = alphaOverlay · heatAlpha/255` and `grey`
 * the channel mean autoscaled to [min, max] through matplotlib's `gray` table; `masked_image` =
 * `clip(trunc(image · norm))`; `alpha_scaling` = image RGB with alpha `clip(trunc(norm · 255))`;
 * `original_image` = the image. Every method but `alpha_scaling` is opaque. One-channel images are drawn grey.
 *
 * @throws ArgumentError (or its subclass `ShapeError`) for: an unknown method/sign/layout (the valid names are
 *   listed), a missing `layout` for a rank-3/4 array, non-finite values, a missing original image for a method
 *   that needs one, an image whose height/width differ from the attribution's or whose channel count is not
 *   1 or 3, sign `'all'` with `masked_image`/`alpha_scaling`, and a zero normalisation threshold.
 */
export function visualizeImageAttr(attribution: Grid, options: ImageAttrOptions = {}): RgbaImage {
  checkOptionNames('visualizeImageAttr options', options, OPTION_NAMES);
  const method = checkChoice('method', options.method ?? 'heat_map', IMAGE_METHODS);
  const sign = checkChoice('sign', options.sign ?? 'absolute_value', SIGNS);
  const imageScale = checkChoice('imageScale', options.imageScale ?? 'auto', IMAGE_SCALES);
  const alphaOverlay = checkNumber('alphaOverlay', options.alphaOverlay ?? 0.5, 0, 1);
  const attr = toPlanes('attribution', checkFiniteGrid('attribution', attribution), options.layout, 'layout', options.batchIndex);

  let original: Float64Array | undefined;
  let imageChannels = 0;
  if (options.originalImage !== undefined) {
    const planes = toPlanes(
      'originalImage',
      checkFiniteGrid('originalImage', options.originalImage),
      options.imageLayout ?? options.layout,
      options.imageLayout === undefined ? 'imageLayout (or layout)' : 'imageLayout',
      options.batchIndex,
    );
    if (planes.height !== attr.height || planes.width !== attr.width) {
      throw new ShapeError(
        'originalImage',
        `an image of the attribution's height × width ${attr.height} × ${attr.width}`,
        `${planes.height} × ${planes.width} (shape ${formatShape(options.originalImage.shape)})`,
      );
    }
    if (planes.channels !== 1 && planes.channels !== 3) {
      throw new ShapeError(
        'originalImage',
        'an image with 1 (grey) or 3 (RGB) channels',
        `${planes.channels} channels`,
        planes.channels === 4 ? 'Drop the alpha channel first, e.g. with rgbaToGrid(imageData).' : undefined,
      );
    }
    original = prepareOriginal(planes, imageScale);
    imageChannels = planes.channels;
  } else if (method !== 'heat_map') {
    throw new ArgumentError('originalImage', `the original image for method '${method}'`, 'undefined', "Only 'heat_map' draws without it.");
  }
  if (sign === 'all' && (method === 'masked_image' || method === 'alpha_scaling')) {
    throw new ArgumentError(
      'sign',
      `'positive', 'negative' or 'absolute_value' for method '${method}'`,
      "'all'",
      'Signed attributions cannot be shown as a mask or as alpha.',
    );
  }

  const { width, height } = attr;
  const out = createRgbaImage(width, height);
  const px = out.data;
  const pixels = width * height;
  /** The original image's pixel `p` as display bytes (grey replicated). */
  const rgbOf = (p: number, scale = 1): [number, number, number] => {
    const src = original as Float64Array;
    if (imageChannels === 1) {
      const g = toByte((src[p] as number) * scale);
      return [g, g, g];
    }
    return [toByte((src[3 * p] as number) * scale), toByte((src[3 * p + 1] as number) * scale), toByte((src[3 * p + 2] as number) * scale)];
  };

  if (method === 'original_image') {
    for (let p = 0; p < pixels; p++) {
      px.set(rgbOf(p), 4 * p);
      px[4 * p + 3] = 255;
    }
    return out;
  }

  const norm = normalizeAttr(reduceChannels(attr), { sign, outlierPerc: options.outlierPerc ?? 2 });
  if (method === 'masked_image') {
    for (let p = 0; p < pixels; p++) {
      px.set(rgbOf(p, norm[p] as number), 4 * p);
      px[4 * p + 3] = 255;
    }
    return out;
  }
  if (method === 'alpha_scaling') {
    for (let p = 0; p < pixels; p++) {
      px.set(rgbOf(p), 4 * p);
      px[4 * p + 3] = toByte((norm[p] as number) * 255);
    }
    return out;
  }

  const defaults = defaultColormap(sign);
  const cmap = getColormap(options.cmap ?? defaults.cmap);
  const { vmin, vmax } = defaults;
  if (method === 'heat_map') {
    for (let p = 0; p < pixels; p++) px.set(cmap(((norm[p] as number) - vmin) / (vmax - vmin)), 4 * p);
    return out;
  }

  // blended_heat_map: grey channel mean, autoscaled like matplotlib's imshow(..., cmap='gray').
  const src = original as Float64Array;
  const mean = new Float64Array(pixels);
  let lo = Infinity;
  let hi = -Infinity;
  for (let p = 0; p < pixels; p++) {
    let s = 0;
    for (let c = 0; c < imageChannels; c++) s += src[p * imageChannels + c] as number;
    const m = s / imageChannels;
    mean[p] = m;
    if (m < lo) lo = m;
    if (m > hi) hi = m;
  }
  const gray = getColormap('gray');
  for (let p = 0; p < pixels; p++) {
    const g = (gray(hi === lo ? 0 : ((mean[p] as number) - lo) / (hi - lo)) as readonly number[])[0] as number;
    const heat = cmap(((norm[p] as number) - vmin) / (vmax - vmin));
    const a = alphaOverlay * (heat[3] / 255);
    for (let c = 0; c < 3; c++) px[4 * p + c] = Math.round(a * (heat[c] as number) + (1 - a) * g);
    px[4 * p + 3] = 255;
  }
  return out;
}

/** Options of {@link visualizeImageAttrMultiple}: those of {@link visualizeImageAttr} but method and sign. */
export type ImageAttrMultipleOptions = Omit<ImageAttrOptions, 'method' | 'sign'>;

/**
 * Captum's `visualize_image_attr_multiple`: one image per `(methods[i], signs[i])` pair. Lay them out with
 * {@link figureSvg} (with titles) or {@link figure}.
 * @throws ArgumentError when the lists differ in length or are empty, or as {@link visualizeImageAttr}.
 */
export function visualizeImageAttrMultiple(
  attribution: Grid,
  methods: readonly ImageMethod[],
  signs: readonly Sign[],
  options: ImageAttrMultipleOptions = {},
): RgbaImage[] {
  if (!Array.isArray(methods) || !Array.isArray(signs) || methods.length !== signs.length || methods.length === 0) {
    throw new ArgumentError('methods, signs', 'two non-empty lists of equal length', `${String(methods?.length)} methods and ${String(signs?.length)} signs`);
  }
  if (options !== undefined && typeof options === 'object' && options !== null && ('method' in options || 'sign' in options)) {
    throw new ArgumentError('options', 'no method or sign (they come from the lists)', 'a method or sign option');
  }
  return methods.map((method, i) => visualizeImageAttr(attribution, { ...options, method, sign: signs[i] as Sign }));
}
