/**
 * @packageDocumentation
 * Captum-style visualisation of attributions, with no DOM or Node-only API: image attributions as RGBA
 * rasters (`visualizeImageAttr`: heat maps, blended heat maps, masks, alpha scaling, with matplotlib's colour
 * maps), PNG encoding and canvas helpers, side-by-side figures (raster or titled SVG), SVG bar charts for
 * tabular attributions and HTML word highlighting for text (`textHtml`, like Captum's `visualize_text`).
 */
export { barChartSvg, type BarChartOptions, type BarSort } from './bar-chart.js';
export { drawToCanvas, toImageData, type Canvas2DContextLike, type CanvasLike, type DrawOptions } from './canvas.js';
export {
  COLORMAP_NAMES,
  getColormap,
  linearSegmentedColormap,
  lutIndex,
  type ColorSpec,
  type Colormap,
  type ColormapName,
  type LookupColormap,
  type Rgba,
} from './colormaps.js';
export { drawOver, flatten } from './composite.js';
export { UnsupportedEnvironmentError } from './errors.js';
export { escapeXml } from './escape.js';
export { figure, figureSvg, type FigureOptions, type FigureSvgOptions, type Panel } from './figure.js';
export { formatFixed } from './format.js';
export { fromTensor, grid, rgbaToGrid, type Grid } from './grid.js';
export {
  IMAGE_METHODS,
  IMAGE_SCALES,
  defaultColormap,
  visualizeImageAttr,
  visualizeImageAttrMultiple,
  type ImageAttrMultipleOptions,
  type ImageAttrOptions,
  type ImageMethod,
  type ImageScale,
} from './image.js';
export {
  llmAttributionHtml,
  seqAttrSvg,
  tokenAttrSvg,
  type LLMAttributionHtmlOptions,
  type LLMAttributionLike,
  type SeqAttrSvgOptions,
  type TokenAttrSvgOptions,
} from './llm-plots.js';
export { LAYOUTS, type Layout, type Planes } from './layout.js';
export { cumulativeSumThreshold, normalizeAttr, reduceChannels, SIGNS, type NormalizeOptions, type Sign } from './normalize.js';
export { encodePng, pngDataUri } from './png.js';
export { createRgbaImage, type RgbaImage } from './rgba-image.js';
export { formatSpecialToken, textHtml, tokenColor, type TextHtmlOptions, type VisualizationDataRecord } from './text.js';
