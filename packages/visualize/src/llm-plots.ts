import { ArgumentError, describeValue } from '@attribution/tensor';
import { checkFinite, checkInteger, checkOptionNames } from './errors.js';
import { escapeXml } from './escape.js';
import { formatFixed, svgNumber } from './format.js';

/**
 * The fields of an LLM attribution result (Captum's `LLMAttributionResult`) that the plots read.
 */
export interface LLMAttributionLike {
  /** The input (prompt) tokens, in order. */
  readonly inputTokens: readonly string[];
  /** The output (generated or target) tokens, in order. */
  readonly outputTokens: readonly string[];
  /** One attribution per input token (to the whole output sequence). */
  readonly seqAttr: readonly number[];
  /** Per output token, one attribution per input token (`[outputTokens.length][inputTokens.length]`), or null. */
  readonly tokenAttr: readonly (readonly number[])[] | null;
  /** One probability per output token, if known. */
  readonly outputProbs?: readonly number[] | null;
}

/** Options of {@link tokenAttrSvg}. */
export interface TokenAttrSvgOptions {
  /** Width of one heat-map cell (one input token); default 72. */
  readonly cellWidth?: number;
  /** Height of one heat-map cell (one output token); default 32. */
  readonly cellHeight?: number;
  /** Font size of labels and annotations; default 12. */
  readonly fontSize?: number;
  /** Font family (CSS); default `sans-serif`. */
  readonly fontFamily?: string;
  /** Decimals of the cell annotations (Captum's `%.4f`); default 4. */
  readonly digits?: number;
  /** Draw the value in every cell; default true. */
  readonly annotate?: boolean;
  /** Width of the colour bar; default 16. */
  readonly colorBarWidth?: number;
  /** Prefix of the ids in the SVG (the colour bar's gradient), unique per page; default `token-attr`. */
  readonly idPrefix?: string;
  /** A title above the chart. */
  readonly title?: string;
}

/** Options of {@link seqAttrSvg}. */
export interface SeqAttrSvgOptions {
  /** Horizontal space per input token (the bar is 0.8 of it, as matplotlib's default); default 48. */
  readonly slotWidth?: number;
  /** Height of the plot area; default 240. */
  readonly plotHeight?: number;
  /** Fill of positive bars (CSS colour); default `#4772b3` (Captum's). */
  readonly positiveColor?: string;
  /** Fill of negative bars (CSS colour); default `#d0365b` (Captum's). */
  readonly negativeColor?: string;
  /** Font size of labels; default 12. */
  readonly fontSize?: number;
  /** Font family (CSS); default `sans-serif`. */
  readonly fontFamily?: string;
  /** A title above the chart. */
  readonly title?: string;
}

/** Options of {@link llmAttributionHtml}. */
export interface LLMAttributionHtmlOptions {
  /** Page title and heading; default `LLM attribution`. */
  readonly title?: string;
  /** Name of the attribution method, shown under the heading (e.g. `FeatureAblation`). */
  readonly method?: string;
  /** Options of the heat map ({@link tokenAttrSvg}). */
  readonly tokenAttr?: TokenAttrSvgOptions;
  /** Options of the bar chart ({@link seqAttrSvg}). */
  readonly seqAttr?: SeqAttrSvgOptions;
}

const TOKEN_OPTIONS = ['cellWidth', 'cellHeight', 'fontSize', 'fontFamily', 'digits', 'annotate', 'colorBarWidth', 'idPrefix', 'title'];
const SEQ_OPTIONS = ['slotWidth', 'plotHeight', 'positiveColor', 'negativeColor', 'fontSize', 'fontFamily', 'title'];
const HTML_OPTIONS = ['title', 'method', 'tokenAttr', 'seqAttr'];

/** Captum's heat-map colours, from −max|attr| (red) through 0 (white) to +max|attr| (blue). */
const TOKEN_ATTR_COLORS = ['#93003a', '#d0365b', '#f57789', '#ffbdc3', '#ffffff', '#a4d6e1', '#73a3ca', '#4772b3', '#00429d'];
const STOPS = TOKEN_ATTR_COLORS.map((c) => [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16)));

/** Maximum length of an input-token label (Captum's `shorten(..., width=50, placeholder="...")`). */
const LABEL_WIDTH = 50;
const ROTATION = 30; // matplotlib's rotation=-30 (clockwise on screen) is SVG's rotate(30)
const COS = Math.cos((ROTATION * Math.PI) / 180);
const SIN = Math.sin((ROTATION * Math.PI) / 180);

/** Rough width of a text in a proportional font: 0.6 em per character. */
const textWidth = (text: string, fontSize: number): number => [...text].length * fontSize * 0.6;

const hex2 = (v: number): string => v.toString(16).padStart(2, '0');

/**
 * The heat-map colour of a normalised position `t` in [0, 1] (0 = −max, 0.5 = zero, 1 = +max): the nine
 * colours evenly spaced and linearly interpolated in sRGB, rounded to bytes.
 */
function divergingColor(t: number): string {
  const pos = Math.min(1, Math.max(0, t)) * (STOPS.length - 1);
  const i = Math.min(Math.floor(pos), STOPS.length - 2);
  const f = pos - i;
  const a = STOPS[i] as number[];
  const b = STOPS[i + 1] as number[];
  return `#${a.map((v, ch) => hex2(Math.round(v + f * ((b[ch] as number) - v)))).join('')}`;
}

const NON_PRINTABLE = /^[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]$/u;

/**
 * Python's `repr(token)[1:-1]`: the token with escapes made visible (`\n`, `\t`, `\r`, `\\`, `\xhh`,
 * `\uhhhh`, `\Uhhhhhhhh` for characters Python does not print) and without the surrounding quotes.
 */
function pyReprInner(token: string): string {
  const quote = token.includes("'") && !token.includes('"') ? '"' : "'";
  let out = '';
  for (const ch of token) {
    const cp = ch.codePointAt(0) as number;
    if (ch === quote || ch === '\\') out += `\\${ch}`;
    else if (ch === '\t') out += '\\t';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${hex2(cp)}`;
    else if (cp < 0x7f || !NON_PRINTABLE.test(ch)) out += ch;
    else if (cp <= 0xff) out += `\\x${hex2(cp)}`;
    else if (cp <= 0xffff) out += `\\u${cp.toString(16).padStart(4, '0')}`;
    else out += `\\U${cp.toString(16).padStart(8, '0')}`;
  }
  return out;
}

// Python's textwrap.TextWrapper.wordsep_re, with Python's Unicode `\w` as [\p{L}\p{N}_] and `[^\d\W]` as
// [\p{L}\p{Nl}\p{No}_].
const W = '[\\p{L}\\p{N}_]';
const WP = '[\\p{L}\\p{N}_!"\'&.,?]';
const LT = '[\\p{L}\\p{Nl}\\p{No}_]';
const WS = '[\\t\\n\\v\\f\\r ]';
const NWS = '[^\\t\\n\\v\\f\\r ]';
const WORDSEP = new RegExp(
  `(${WS}+|(?<=${WP})-{2,}(?=${W})|${NWS}+?(?:-(?:(?<=${LT}{2}-)|(?<=${LT}-${LT}-))(?=${LT}-?${LT})|(?=${WS}|$)|(?<=${WP})(?=-{2,}${W})))`,
  'u',
);

const cpLength = (s: string): number => [...s].length;

/**
 * Python's `textwrap.shorten(text, width, placeholder="...")`: whitespace collapsed and stripped, then, when
 * longer than `width`, whole words (split at spaces and hyphens) dropped from the end until the rest plus
 * `...` fits; a first word longer than the width leaves only `...`.
 */
function pyShorten(text: string, width: number, placeholder = '...'): string {
  const collapsed = text.trim().split(/\s+/u).filter((w) => w !== '').join(' ');
  const chunks = collapsed.split(WORDSEP).filter((c) => c !== '').reverse();
  const line: string[] = [];
  let len = 0;
  while (chunks.length > 0 && len + cpLength(chunks[chunks.length - 1] as string) <= width) {
    const chunk = chunks.pop() as string;
    line.push(chunk);
    len += cpLength(chunk);
  }
  if (chunks.length > 0 && cpLength(chunks[chunks.length - 1] as string) > width) {
    // _handle_long_word with break_long_words and break_on_hyphens
    const chunk = [...(chunks[chunks.length - 1] as string)];
    const spaceLeft = width - len;
    let end = spaceLeft;
    if (chunk.length > spaceLeft) {
      const hyphen = chunk.slice(0, spaceLeft).lastIndexOf('-');
      if (hyphen > 0 && chunk.slice(0, hyphen).some((c) => c !== '-')) end = hyphen + 1;
    }
    line.push(chunk.slice(0, end).join(''));
    chunks[chunks.length - 1] = chunk.slice(end).join('');
    len = line.reduce((s, c) => s + cpLength(c), 0);
  }
  if (line.length > 0 && (line[line.length - 1] as string).trim() === '') len -= cpLength(line.pop() as string);
  if (line.length === 0) return '';
  const rest = chunks.filter((c) => c !== '');
  if ((rest.length === 0 || (rest.length === 1 && (rest[0] as string).trim() === '')) && len <= width) return line.join('');
  while (line.length > 0) {
    const last = line[line.length - 1] as string;
    if (last.trim() !== '' && len + cpLength(placeholder) <= width) return line.join('') + placeholder;
    len -= cpLength(last);
    line.pop();
  }
  return placeholder.trimStart();
}

/** An input-token label as Captum draws it: `shorten(repr(t)[1:-1], width=50, placeholder="...")`. */
const inputLabel = (token: string): string => pyShorten(pyReprInner(token), LABEL_WIDTH);
/** An output-token label as Captum draws it: `repr(t)[1:-1]`. */
const outputLabel = (token: string): string => pyReprInner(token);

interface CheckedResult {
  readonly inputTokens: readonly string[];
  readonly outputTokens: readonly string[];
  readonly seqAttr: ArrayLike<number>;
  readonly tokenAttr: readonly ArrayLike<number>[] | null;
  readonly outputProbs: ArrayLike<number> | null;
}

const isArrayLike = (v: unknown): v is ArrayLike<unknown> =>
  typeof v === 'object' && v !== null && typeof (v as { length?: unknown }).length === 'number';

function checkTokens(argument: string, tokens: unknown): readonly string[] {
  if (!Array.isArray(tokens) || !tokens.every((t) => typeof t === 'string')) throw new ArgumentError(argument, 'an array of token strings', describeValue(tokens));
  return tokens as string[];
}

function checkNumbers(argument: string, values: unknown, length: number, what: string): ArrayLike<number> {
  if (!isArrayLike(values)) throw new ArgumentError(argument, 'an array of numbers', describeValue(values));
  if (values.length !== length) throw new ArgumentError(argument, `${what} (${length})`, `${values.length} values`);
  for (let i = 0; i < values.length; i++) {
    if (typeof values[i] !== 'number') throw new ArgumentError(argument, 'numbers only', `${describeValue(values[i])} at index ${i}`);
  }
  checkFinite(argument, values as ArrayLike<number>);
  return values as ArrayLike<number>;
}

/** Validates the shapes of an {@link LLMAttributionLike} (Captum's setter assertions) and that every value is finite. */
function checkResult(result: unknown): CheckedResult {
  if (typeof result !== 'object' || result === null) throw new ArgumentError('result', 'an LLM attribution result', describeValue(result));
  const r = result as Partial<Record<keyof LLMAttributionLike, unknown>>;
  const inputTokens = checkTokens('result.inputTokens', r.inputTokens);
  const outputTokens = checkTokens('result.outputTokens', r.outputTokens);
  const seqAttr = checkNumbers('result.seqAttr', r.seqAttr, inputTokens.length, 'one value per input token');
  let tokenAttr: ArrayLike<number>[] | null = null;
  if (r.tokenAttr !== null && r.tokenAttr !== undefined) {
    if (!isArrayLike(r.tokenAttr)) throw new ArgumentError('result.tokenAttr', 'null or an array of rows', describeValue(r.tokenAttr));
    if (r.tokenAttr.length !== outputTokens.length) {
      throw new ArgumentError('result.tokenAttr', `one row per output token (${outputTokens.length})`, `${r.tokenAttr.length} rows`);
    }
    tokenAttr = Array.from(r.tokenAttr, (row, i) => checkNumbers(`result.tokenAttr[${i}]`, row, inputTokens.length, 'one value per input token'));
  }
  const outputProbs =
    r.outputProbs === null || r.outputProbs === undefined
      ? null
      : checkNumbers('result.outputProbs', r.outputProbs, outputTokens.length, 'one probability per output token');
  return { inputTokens, outputTokens, seqAttr, tokenAttr, outputProbs };
}

function checkSize(argument: string, value: unknown, fallback: number, min: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw new ArgumentError(argument, `a number ≥ ${min}`, describeValue(v));
  return v;
}

function checkString(argument: string, value: unknown, fallback: string): string {
  const v = value ?? fallback;
  if (typeof v !== 'string') throw new ArgumentError(argument, 'a string', describeValue(v));
  return v;
}

/** Decimals needed to print multiples of `step` exactly (at most 12). */
function stepDecimals(step: number): number {
  for (let d = 0; d < 12; d++) {
    const scaled = step * 10 ** d;
    if (Math.abs(scaled - Math.round(scaled)) < 1e-9 * Math.max(1, scaled)) return d;
  }
  return 12;
}

/** About five round tick values (steps 1, 2, 2.5 or 5 × 10ᵏ) within `[lo, hi]` (`lo < hi`), with their decimals. */
function niceTicks(lo: number, hi: number): { ticks: number[]; decimals: number } {
  const raw = (hi - lo) / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].find((s) => s * mag >= raw * (1 - 1e-9)) ?? 10) * mag;
  const ticks: number[] = [];
  const eps = step * 1e-9;
  for (let k = Math.ceil((lo - eps) / step); k * step <= hi + eps; k++) ticks.push(Number((k * step).toPrecision(12)) + 0);
  return { ticks, decimals: stepDecimals(step) };
}

/**
 * Column labels above a plot, each ending at the top of its column and rising to the left (matplotlib's
 * `rotation=-30, ha="right", rotation_mode="anchor"`). Returns how far they reach above the anchor line and to
 * the left of the plot.
 */
function topLabelExtent(labels: readonly string[], slot: number, fontSize: number): { up: number; left: number } {
  let up = 0.8 * fontSize * COS;
  let left = 0;
  labels.forEach((label, j) => {
    const w = textWidth(label, fontSize);
    up = Math.max(up, w * SIN + 0.8 * fontSize * COS);
    left = Math.max(left, w * COS + 0.2 * fontSize * SIN - (j + 0.5) * slot);
  });
  return { up, left };
}

function topLabels(labels: readonly string[], x0: number, slot: number, y: number, font: string): string[] {
  const n = svgNumber;
  return labels.map((label, j) => {
    const x = x0 + (j + 0.5) * slot;
    return `<text class="input-label" x="${n(x)}" y="${n(y)}" text-anchor="end" transform="rotate(${ROTATION} ${n(x)} ${n(y)})" ${font}>${escapeXml(label)}</text>`;
  });
}

const svgOpen = (width: number, height: number, kind: string): string[] => [
  `<svg xmlns="http://www.w3.org/2000/svg" class="${kind}" width="${svgNumber(width)}" height="${svgNumber(height)}" viewBox="0 0 ${svgNumber(width)} ${svgNumber(height)}">`,
  '<rect width="100%" height="100%" fill="white"/>',
];

/**
 * Captum's `LLMAttributionResult.plot_token_attr` as a standalone SVG: a heat map with one row per output token
 * and one column per input token. Colours run from `#93003a` (−m, red) through white (0) to `#00429d` (+m, blue)
 * over the nine colours `#93003a, #d0365b, #f57789, #ffbdc3, #ffffff, #a4d6e1, #73a3ca, #4772b3, #00429d`,
 * linearly interpolated, with m = max |value| of the matrix (all white when m = 0). Every cell shows its value
 * (`%.4f`), in black when its normalised position (v + m) / 2m is strictly between 0.2 and 0.8, else in white.
 * Input labels (on top, rotated as matplotlib's −30°, ending at their column) and output labels (on the left)
 * are the tokens' Python `repr` without quotes; input labels are shortened to 50 characters with `...`
 * (Python's `textwrap.shorten`). A colour bar labelled "Token Attribution" is on the right. Text is XML-escaped.
 * @throws ArgumentError when `result.tokenAttr` is null, for mismatched lengths, empty or non-finite data, or
 * invalid options.
 */
export function tokenAttrSvg(result: LLMAttributionLike, options: TokenAttrSvgOptions = {}): string {
  checkOptionNames('tokenAttrSvg options', options, TOKEN_OPTIONS);
  const r = checkResult(result);
  if (r.tokenAttr === null) {
    throw new ArgumentError(
      'result.tokenAttr',
      'a token attribution matrix [outputTokens][inputTokens]',
      'null',
      'No token-level attribution was computed; use seqAttrSvg for the sequence-level plot.',
    );
  }
  if (r.outputTokens.length === 0 || r.inputTokens.length === 0) {
    throw new ArgumentError('result.tokenAttr', 'at least one output and one input token', `${r.outputTokens.length} × ${r.inputTokens.length}`);
  }
  const data = r.tokenAttr;
  const cw = checkSize('cellWidth', options.cellWidth, 72, 1);
  const ch = checkSize('cellHeight', options.cellHeight, 32, 1);
  const fontSize = checkSize('fontSize', options.fontSize, 12, 1);
  const fontFamily = checkString('fontFamily', options.fontFamily, 'sans-serif');
  const digits = checkInteger('digits', options.digits ?? 4, 0, 20);
  const cbw = checkSize('colorBarWidth', options.colorBarWidth, 16, 1);
  const idPrefix = checkString('idPrefix', options.idPrefix, 'token-attr');
  const title = checkString('title', options.title, '');
  const annotate = options.annotate ?? true;

  const rows = r.outputTokens.length;
  const cols = r.inputTokens.length;
  let m = 0;
  for (const row of data) for (let j = 0; j < row.length; j++) m = Math.max(m, Math.abs(row[j] as number));
  const norm = (v: number): number => (m === 0 ? 0.5 : (v + m) / (2 * m));

  const inLabels = r.inputTokens.map(inputLabel);
  const outLabels = r.outputTokens.map(outputLabel);
  const { ticks, decimals } = m === 0 ? { ticks: [0], decimals: 0 } : niceTicks(-m, m);
  const tickLabels = ticks.map((t) => formatFixed(t, decimals));

  const padding = 8;
  const gap = 6;
  const tick = 4;
  const titleBand = title ? Math.ceil(fontSize * 2) : 0;
  const extent = topLabelExtent(inLabels, cw, fontSize);
  const rowLabelWidth = Math.max(...outLabels.map((l) => textWidth(l, fontSize)));
  const plotLeft = padding + Math.max(rowLabelWidth + tick + gap, extent.left);
  const plotTop = padding + titleBand + extent.up + tick + gap;
  const plotW = cols * cw;
  const plotH = rows * ch;
  const cbLabel = 'Token Attribution';
  const cbH = Math.max(plotH, textWidth(cbLabel, fontSize) + 2 * fontSize);
  const cbX = plotLeft + plotW + 2 * gap + padding;
  const tickLabelWidth = Math.max(...tickLabels.map((l) => textWidth(l, fontSize)));
  const cbLabelX = cbX + cbw + tick + gap + tickLabelWidth + gap;
  const width = cbLabelX + fontSize * 1.2 + padding;
  const height = plotTop + Math.max(plotH, cbH) + padding;

  const n = svgNumber;
  const font = `font-family="${escapeXml(fontFamily)}" font-size="${n(fontSize)}"`;
  const parts = svgOpen(width, height, 'token-attr');
  if (title) parts.push(`<text class="title" x="${n(width / 2)}" y="${n(padding + fontSize * 1.2)}" text-anchor="middle" ${font} font-weight="bold">${escapeXml(title)}</text>`);
  const gradientId = `${idPrefix}-colorbar`;
  parts.push(
    `<defs><linearGradient id="${escapeXml(gradientId)}" x1="0" y1="1" x2="0" y2="0">${TOKEN_ATTR_COLORS.map((c, i) => `<stop offset="${n(i / (TOKEN_ATTR_COLORS.length - 1))}" stop-color="${c}"/>`).join('')}</linearGradient></defs>`,
  );
  for (let i = 0; i < rows; i++) {
    const row = data[i] as ArrayLike<number>;
    for (let j = 0; j < cols; j++) {
      const v = row[j] as number;
      const t = norm(v);
      const x = plotLeft + j * cw;
      const y = plotTop + i * ch;
      const text = formatFixed(v, digits);
      parts.push(
        `<g class="cell" data-row="${i}" data-col="${j}">`,
        `<title>${escapeXml(outLabels[i] as string)} ← ${escapeXml(inLabels[j] as string)}: ${text}</title>`,
        `<rect x="${n(x)}" y="${n(y)}" width="${n(cw)}" height="${n(ch)}" fill="${divergingColor(t)}"/>`,
      );
      if (annotate) {
        const color = t > 0.2 && t < 0.8 ? 'black' : 'white';
        parts.push(`<text class="annotation" x="${n(x + cw / 2)}" y="${n(y + ch / 2)}" text-anchor="middle" dominant-baseline="middle" fill="${color}" ${font}>${text}</text>`);
      }
      parts.push('</g>');
    }
  }
  parts.push(`<rect class="frame" x="${n(plotLeft)}" y="${n(plotTop)}" width="${n(plotW)}" height="${n(plotH)}" fill="none" stroke="black" stroke-width="1"/>`);
  for (let j = 0; j < cols; j++) {
    const x = plotLeft + (j + 0.5) * cw;
    parts.push(`<line class="tick" x1="${n(x)}" y1="${n(plotTop)}" x2="${n(x)}" y2="${n(plotTop - tick)}" stroke="black"/>`);
  }
  parts.push(...topLabels(inLabels, plotLeft, cw, plotTop - tick - gap, font));
  outLabels.forEach((label, i) => {
    const y = plotTop + (i + 0.5) * ch;
    parts.push(
      `<line class="tick" x1="${n(plotLeft)}" y1="${n(y)}" x2="${n(plotLeft - tick)}" y2="${n(y)}" stroke="black"/>`,
      `<text class="output-label" x="${n(plotLeft - tick - gap)}" y="${n(y)}" text-anchor="end" dominant-baseline="middle" ${font}>${escapeXml(label)}</text>`,
    );
  });
  // colour bar: −m at the bottom, +m at the top
  parts.push(`<g class="colorbar">`, `<rect x="${n(cbX)}" y="${n(plotTop)}" width="${n(cbw)}" height="${n(cbH)}" fill="url(#${escapeXml(gradientId)})" stroke="black" stroke-width="1"/>`);
  ticks.forEach((v, k) => {
    const y = plotTop + (1 - norm(v)) * cbH;
    parts.push(
      `<line x1="${n(cbX + cbw)}" y1="${n(y)}" x2="${n(cbX + cbw + tick)}" y2="${n(y)}" stroke="black"/>`,
      `<text x="${n(cbX + cbw + tick + gap / 2)}" y="${n(y)}" dominant-baseline="middle" ${font}>${tickLabels[k] as string}</text>`,
    );
  });
  const cbMid = plotTop + cbH / 2;
  parts.push(`<text class="colorbar-label" x="${n(cbLabelX)}" y="${n(cbMid)}" text-anchor="middle" transform="rotate(90 ${n(cbLabelX)} ${n(cbMid)})" ${font}>${cbLabel}</text>`, '</g>');
  parts.push('</svg>');
  return parts.join('\n');
}

/**
 * Captum's `LLMAttributionResult.plot_seq_attr` as a standalone SVG: one vertical bar per input token from the
 * zero line, positive values in `#4772b3` (blue) and negative ones in `#d0365b` (red), not normalised. Token
 * labels are on top (Python `repr` without quotes, shortened to 50 characters with `...`, rotated as
 * matplotlib's −30°); the y axis has round ticks and the label "Sequence Attribution". Text is XML-escaped.
 * @throws ArgumentError for mismatched lengths, no input tokens, non-finite values, or invalid options.
 */
export function seqAttrSvg(result: LLMAttributionLike, options: SeqAttrSvgOptions = {}): string {
  checkOptionNames('seqAttrSvg options', options, SEQ_OPTIONS);
  const r = checkResult(result);
  if (r.inputTokens.length === 0) throw new ArgumentError('result.inputTokens', 'at least one input token', 'none');
  const slot = checkSize('slotWidth', options.slotWidth, 48, 1);
  const plotH = checkSize('plotHeight', options.plotHeight, 240, 10);
  const fontSize = checkSize('fontSize', options.fontSize, 12, 1);
  const fontFamily = checkString('fontFamily', options.fontFamily, 'sans-serif');
  const positiveColor = checkString('positiveColor', options.positiveColor, '#4772b3');
  const negativeColor = checkString('negativeColor', options.negativeColor, '#d0365b');
  const title = checkString('title', options.title, '');

  const values = Array.from(r.seqAttr);
  const labels = r.inputTokens.map(inputLabel);
  const lo = Math.min(0, ...values);
  let hi = Math.max(0, ...values);
  if (lo === hi) hi = 1; // all zeros: the zero line at the bottom
  // matplotlib's 5% margins, except on the zero side (bars stick to 0)
  const yMin = lo < 0 ? lo - 0.05 * (hi - lo) : 0;
  const yMax = hi > 0 ? hi + 0.05 * (hi - lo) : 0;
  const { ticks, decimals } = niceTicks(yMin, yMax);
  const tickLabels = ticks.map((t) => formatFixed(t, decimals));

  const padding = 8;
  const gap = 6;
  const tick = 4;
  const titleBand = title ? Math.ceil(fontSize * 2) : 0;
  const extent = topLabelExtent(labels, slot, fontSize);
  const tickLabelWidth = Math.max(...tickLabels.map((l) => textWidth(l, fontSize)));
  const yLabelX = padding + fontSize;
  const plotLeft = Math.max(yLabelX + gap + tickLabelWidth + gap + tick, padding + extent.left);
  const plotTop = padding + titleBand + extent.up + tick + gap;
  const plotW = values.length * slot;
  const yLabel = 'Sequence Attribution';
  const plotHeight = Math.max(plotH, textWidth(yLabel, fontSize) + 2 * fontSize);
  const width = plotLeft + plotW + padding + fontSize;
  const height = plotTop + plotHeight + padding;
  const yOf = (v: number): number => plotTop + ((yMax - v) / (yMax - yMin)) * plotHeight;
  const y0 = yOf(0);

  const n = svgNumber;
  const font = `font-family="${escapeXml(fontFamily)}" font-size="${n(fontSize)}"`;
  const parts = svgOpen(width, height, 'seq-attr');
  if (title) parts.push(`<text class="title" x="${n(width / 2)}" y="${n(padding + fontSize * 1.2)}" text-anchor="middle" ${font} font-weight="bold">${escapeXml(title)}</text>`);
  values.forEach((v, j) => {
    const positive = v >= 0;
    const yv = yOf(v);
    const x = plotLeft + (j + 0.1) * slot;
    parts.push(
      `<g class="bar ${positive ? 'positive' : 'negative'}" data-index="${j}">`,
      `<title>${escapeXml(labels[j] as string)}: ${formatFixed(v, 4)}</title>`,
      `<rect x="${n(x)}" y="${n(Math.min(y0, yv))}" width="${n(0.8 * slot)}" height="${n(Math.abs(yv - y0))}" fill="${escapeXml(positive ? positiveColor : negativeColor)}"/>`,
      '</g>',
    );
  });
  parts.push(
    `<line class="zero" x1="${n(plotLeft)}" y1="${n(y0)}" x2="${n(plotLeft + plotW)}" y2="${n(y0)}" stroke="black" stroke-width="1"/>`,
    `<rect class="frame" x="${n(plotLeft)}" y="${n(plotTop)}" width="${n(plotW)}" height="${n(plotHeight)}" fill="none" stroke="black" stroke-width="1"/>`,
  );
  for (let j = 0; j < values.length; j++) {
    const x = plotLeft + (j + 0.5) * slot;
    parts.push(`<line class="tick" x1="${n(x)}" y1="${n(plotTop)}" x2="${n(x)}" y2="${n(plotTop - tick)}" stroke="black"/>`);
  }
  parts.push(...topLabels(labels, plotLeft, slot, plotTop - tick - gap, font));
  ticks.forEach((v, k) => {
    const y = yOf(v);
    parts.push(
      `<line class="tick" x1="${n(plotLeft)}" y1="${n(y)}" x2="${n(plotLeft - tick)}" y2="${n(y)}" stroke="black"/>`,
      `<text class="y-tick" x="${n(plotLeft - tick - gap / 2)}" y="${n(y)}" text-anchor="end" dominant-baseline="middle" ${font}>${tickLabels[k] as string}</text>`,
    );
  });
  const yMid = plotTop + plotHeight / 2;
  parts.push(`<text class="y-label" x="${n(yLabelX)}" y="${n(yMid)}" text-anchor="middle" transform="rotate(-90 ${n(yLabelX)} ${n(yMid)})" ${font}>${yLabel}</text>`);
  parts.push('</svg>');
  return parts.join('\n');
}

/**
 * A standalone HTML page (`<!DOCTYPE html>`) of an LLM attribution: the title, the method name (when given), a
 * table of the output tokens (with their probabilities, 4 decimals, when `outputProbs` is given), the token ×
 * token heat map ({@link tokenAttrSvg}) when `tokenAttr` is not null, and the sequence bar chart
 * ({@link seqAttrSvg}). Text is HTML-escaped; the SVGs are inlined.
 * @throws ArgumentError for malformed results or invalid options.
 */
export function llmAttributionHtml(result: LLMAttributionLike, options: LLMAttributionHtmlOptions = {}): string {
  checkOptionNames('llmAttributionHtml options', options, HTML_OPTIONS);
  const r = checkResult(result);
  const title = checkString('title', options.title, 'LLM attribution');
  const method = checkString('method', options.method, '');
  const body: string[] = [`<h1>${escapeXml(title)}</h1>`];
  if (method) body.push(`<p class="method">Method: <b>${escapeXml(method)}</b></p>`);
  if (r.outputTokens.length > 0) {
    const probs = r.outputProbs;
    const head = probs ? '<tr><th>#</th><th>Output token</th><th>Probability</th></tr>' : '<tr><th>#</th><th>Output token</th></tr>';
    const rows = r.outputTokens.map(
      (t, i) => `<tr><td>${i}</td><td><code>${escapeXml(outputLabel(t))}</code></td>${probs ? `<td>${formatFixed(probs[i] as number, 4)}</td>` : ''}</tr>`,
    );
    body.push(`<table class="output-tokens">${head}${rows.join('')}</table>`);
  }
  if (r.tokenAttr !== null && r.outputTokens.length > 0 && r.inputTokens.length > 0) {
    body.push('<h2>Token attribution</h2>', `<figure class="token-attr">${tokenAttrSvg(result, options.tokenAttr)}</figure>`);
  }
  body.push('<h2>Sequence attribution</h2>', `<figure class="seq-attr">${seqAttrSvg(result, options.seqAttr)}</figure>`);
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    `<head><meta charset="utf-8"><title>${escapeXml(title)}</title>`,
    '<style>body { font-family: sans-serif; } th, td { text-align: left; padding: 2px 8px; } figure { margin: 1em 0; overflow-x: auto; }</style></head>',
    `<body>\n${body.join('\n')}\n</body>`,
    '</html>',
  ].join('\n');
}
