import { ArgumentError, describeValue } from '@attribution/tensor';
import { checkChoice, checkFinite, checkInteger, checkOptionNames } from './errors.js';
import { escapeXml } from './escape.js';
import { formatFixed, svgNumber } from './format.js';

/** Order of the bars: `'abs'` by decreasing |attribution| (ties keep input order), `'none'` input order. */
export type BarSort = 'abs' | 'none';

/** Options of {@link barChartSvg}. */
export interface BarChartOptions {
  /** Bar order; default `'none'`. */
  readonly sort?: BarSort;
  /** Keep only the first `top` bars after sorting; default all. */
  readonly top?: number;
  /** Width of the bar area (from the most negative to the most positive value); default 320. */
  readonly plotWidth?: number;
  /** Height of one bar; default 18. */
  readonly barHeight?: number;
  /** Space between bars; default 6. */
  readonly barGap?: number;
  /** Fill of bars for positive values (CSS colour); default `#1a9850`. */
  readonly positiveColor?: string;
  /** Fill of bars for negative values (CSS colour); default `#d73027`. */
  readonly negativeColor?: string;
  /** Font size of names and values; default 12. */
  readonly fontSize?: number;
  /** Font family (CSS); default `sans-serif`. */
  readonly fontFamily?: string;
  /** A title above the chart. */
  readonly title?: string;
  /** Decimals of the value labels (formatted like Python's `'{:.Nf}'`); default 2. */
  readonly digits?: number;
  /** Custom value-label formatter (overrides `digits`). */
  readonly formatValue?: (value: number) => string;
}

const OPTION_NAMES = [
  'sort',
  'top',
  'plotWidth',
  'barHeight',
  'barGap',
  'positiveColor',
  'negativeColor',
  'fontSize',
  'fontFamily',
  'title',
  'digits',
  'formatValue',
];

/** Rough width of a text in a proportional font: 0.6 em per character. */
const textWidth = (text: string, fontSize: number): number => [...text].length * fontSize * 0.6;

/**
 * A standalone SVG horizontal bar chart of feature attributions (tabular data): one row per feature with its
 * name on the left, a bar from the zero axis (green for positive, red for negative) and the value at the bar's
 * end. Names, title and values are XML-escaped.
 * @param attributions - one finite number per feature.
 * @param featureNames - one name per feature.
 * @throws ArgumentError for mismatched lengths, empty input, non-finite values, or invalid options.
 */
export function barChartSvg(attributions: ArrayLike<number>, featureNames: readonly string[], options: BarChartOptions = {}): string {
  checkOptionNames('barChartSvg options', options, OPTION_NAMES);
  if (attributions === null || typeof attributions !== 'object' || typeof attributions.length !== 'number') {
    throw new ArgumentError('attributions', 'an array of numbers', describeValue(attributions));
  }
  if (!Array.isArray(featureNames) || !featureNames.every((n) => typeof n === 'string')) {
    throw new ArgumentError('featureNames', 'an array of strings', describeValue(featureNames));
  }
  if (attributions.length !== featureNames.length) {
    throw new ArgumentError('featureNames', `one name per attribution (${attributions.length})`, `${featureNames.length} names`);
  }
  if (attributions.length === 0) throw new ArgumentError('attributions', 'at least one value', 'none');
  checkFinite('attributions', attributions);
  const sort = checkChoice('sort', options.sort ?? 'none', ['abs', 'none'] as const);
  const top = options.top === undefined ? attributions.length : checkInteger('top', options.top, 1);
  const plotWidth = checkInteger('plotWidth', options.plotWidth ?? 320, 10);
  const barHeight = checkInteger('barHeight', options.barHeight ?? 18, 1);
  const barGap = checkInteger('barGap', options.barGap ?? 6, 0);
  const fontSize = checkInteger('fontSize', options.fontSize ?? 12, 1);
  const digits = checkInteger('digits', options.digits ?? 2, 0, 20);
  const fontFamily = options.fontFamily ?? 'sans-serif';
  const positiveColor = options.positiveColor ?? '#1a9850';
  const negativeColor = options.negativeColor ?? '#d73027';
  const format = options.formatValue ?? ((v: number) => formatFixed(v, digits));

  let rows = Array.from({ length: attributions.length }, (_, i) => ({ name: featureNames[i] as string, value: attributions[i] as number }));
  if (sort === 'abs') rows = rows.map((r, i) => ({ r, i })).sort((a, b) => Math.abs(b.r.value) - Math.abs(a.r.value) || a.i - b.i).map((e) => e.r);
  rows = rows.slice(0, top);
  const labels = rows.map((r) => String(format(r.value)));

  const padding = 8;
  const labelPad = 6;
  const nameWidth = Math.max(...rows.map((r) => textWidth(r.name, fontSize)));
  const hasNeg = rows.some((r) => r.value < 0);
  const hasPos = rows.some((r) => r.value >= 0);
  const valueWidth = Math.max(...labels.map((l) => textWidth(l, fontSize))) + labelPad;
  const titleBand = options.title ? Math.ceil(fontSize * 2) : 0;
  const plotLeft = padding + nameWidth + labelPad + (hasNeg ? valueWidth : 0);
  const width = plotLeft + plotWidth + (hasPos ? valueWidth : 0) + padding;
  const plotTop = padding + titleBand;
  const height = plotTop + rows.length * barHeight + (rows.length - 1) * barGap + padding;

  const lo = Math.min(0, ...rows.map((r) => r.value));
  let hi = Math.max(0, ...rows.map((r) => r.value));
  if (lo === hi) hi = 1; // all zeros: axis on the left
  const xOf = (v: number): number => plotLeft + ((v - lo) / (hi - lo)) * plotWidth;
  const x0 = xOf(0);
  const font = `font-family="${escapeXml(fontFamily)}" font-size="${fontSize}"`;
  const n = svgNumber;

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${n(width)}" height="${n(height)}" viewBox="0 0 ${n(width)} ${n(height)}">`,
    `<rect width="100%" height="100%" fill="white"/>`,
  ];
  if (options.title) {
    parts.push(`<text class="title" x="${n(width / 2)}" y="${n(padding + fontSize * 1.2)}" text-anchor="middle" ${font} font-weight="bold">${escapeXml(options.title)}</text>`);
  }
  rows.forEach((r, i) => {
    const y = plotTop + i * (barHeight + barGap);
    const mid = y + barHeight / 2;
    const xv = xOf(r.value);
    const left = Math.min(x0, xv);
    const label = labels[i] as string;
    const positive = r.value >= 0;
    parts.push(
      `<g class="bar ${positive ? 'positive' : 'negative'}">`,
      `<title>${escapeXml(r.name)}: ${escapeXml(label)}</title>`,
      `<text class="name" x="${n(padding + nameWidth)}" y="${n(mid)}" dominant-baseline="middle" text-anchor="end" ${font}>${escapeXml(r.name)}</text>`,
      `<rect x="${n(left)}" y="${n(y)}" width="${n(Math.abs(xv - x0))}" height="${n(barHeight)}" fill="${escapeXml(positive ? positiveColor : negativeColor)}"/>`,
      `<text class="value" x="${n(positive ? xv + labelPad : xv - labelPad)}" y="${n(mid)}" dominant-baseline="middle" text-anchor="${positive ? 'start' : 'end'}" ${font}>${escapeXml(label)}</text>`,
      '</g>',
    );
  });
  parts.push(`<line class="axis" x1="${n(x0)}" y1="${n(plotTop - 2)}" x2="${n(x0)}" y2="${n(height - padding + 2)}" stroke="black" stroke-width="1"/>`);
  parts.push('</svg>');
  return parts.join('\n');
}
