import { ArgumentError, describeValue } from '@attribution/tensor';
import { checkFinite, checkOptionNames } from './errors.js';
import { escapeXml } from './escape.js';
import { formatFixed } from './format.js';

/**
 * One row of a text attribution report (Captum's `VisualizationDataRecord`).
 */
export interface VisualizationDataRecord {
  /** One importance per token (at least as many as tokens; extras are ignored), ideally normalised to [−1, 1]. */
  readonly wordAttributions: ArrayLike<number>;
  /** Probability of the predicted class (shown with 2 decimals). */
  readonly predProb: number;
  /** The predicted class (index or name). */
  readonly predClass: string | number;
  /** The true class. */
  readonly trueClass: string | number;
  /** The class the attributions were computed for. */
  readonly attrClass: string | number;
  /** A summary score, usually the sum of the attributions (shown with 2 decimals). */
  readonly attrScore: number;
  /** The tokens, in order. `<x>`-style special tokens are shown as `#x`. */
  readonly rawInputIds: readonly string[];
  /** The convergence delta, if any (kept for parity with Captum; not shown). */
  readonly convergenceScore?: number;
}

/** Options of {@link textHtml}. */
export interface TextHtmlOptions {
  /** Show the Negative / Neutral / Positive colour legend; default true. */
  readonly legend?: boolean;
  /** A full HTML document (`<!DOCTYPE html>…`) rather than a fragment; default true. */
  readonly standalone?: boolean;
  /** Document title (standalone only); default `Word importance`. */
  readonly title?: string;
}

/**
 * Captum's `_get_color`: the CSS background for a token importance. `a = clip(importance, −1, 1)`;
 * `a > 0` → `hsl(120, 75%, (100 − trunc(50·a))%)` (green), otherwise `hsl(0, 75%, (100 − trunc(−40·a))%)` (red;
 * white at 0).
 * @throws ArgumentError for NaN.
 */
export function tokenColor(importance: number): string {
  if (typeof importance !== 'number' || Number.isNaN(importance)) throw new ArgumentError('importance', 'a number', describeValue(importance));
  const a = Math.max(-1, Math.min(1, importance));
  return a > 0 ? `hsl(120, 75%, ${100 - Math.trunc(50 * a)}%)` : `hsl(0, 75%, ${100 - Math.trunc(-40 * a)}%)`;
}

/** Captum's `format_special_tokens`: a token that starts with `<` and ends with `>` is shown as `#` + inner text. */
export function formatSpecialToken(token: string): string {
  return token.startsWith('<') && token.endsWith('>') ? `#${token.replace(/^[<>]+|[<>]+$/g, '')}` : token;
}

const cell = (content: string): string => `<td><span style="padding-right:2em"><b>${escapeXml(content)}</b></span></td>`;

function wordImportances(argument: string, words: readonly string[], importances: ArrayLike<number>): string {
  if (importances.length === 0) return '<td></td>';
  if (words.length > importances.length) {
    throw new ArgumentError(argument, `at least one importance per token (${words.length})`, `${importances.length} importances`);
  }
  checkFinite(`${argument}.wordAttributions`, importances);
  const tags = ['<td>'];
  words.forEach((word, i) => {
    tags.push(
      `<mark style="background-color: ${tokenColor(importances[i] as number)}; opacity:1.0; line-height:1.75"><span style="color: black"> ${escapeXml(formatSpecialToken(word))} </span></mark>`,
    );
  });
  tags.push('</td>');
  return tags.join('');
}

function checkRecord(argument: string, r: unknown): VisualizationDataRecord {
  if (typeof r !== 'object' || r === null) throw new ArgumentError(argument, 'a VisualizationDataRecord', describeValue(r));
  const rec = r as Partial<Record<keyof VisualizationDataRecord, unknown>>;
  for (const key of ['predProb', 'attrScore'] as const) {
    if (typeof rec[key] !== 'number') throw new ArgumentError(`${argument}.${key}`, 'a number', describeValue(rec[key]));
  }
  for (const key of ['predClass', 'trueClass', 'attrClass'] as const) {
    if (typeof rec[key] !== 'string' && typeof rec[key] !== 'number') throw new ArgumentError(`${argument}.${key}`, 'a string or number', describeValue(rec[key]));
  }
  if (!Array.isArray(rec.rawInputIds) || !rec.rawInputIds.every((t) => typeof t === 'string')) {
    throw new ArgumentError(`${argument}.rawInputIds`, 'an array of token strings', describeValue(rec.rawInputIds));
  }
  const w = rec.wordAttributions as { length?: unknown } | null | undefined;
  if (typeof w !== 'object' || w === null || typeof w.length !== 'number') {
    throw new ArgumentError(`${argument}.wordAttributions`, 'an array of numbers', describeValue(rec.wordAttributions));
  }
  return r as VisualizationDataRecord;
}

/**
 * An HTML table of text attributions like Captum's `visualize_text`: columns True Label, Predicted Label
 * (`"<class> (<prob, 2 decimals>)"`), Attribution Label, Attribution Score (2 decimals) and Word Importance,
 * where each token is highlighted with {@link tokenColor}. Everything user-supplied is HTML-escaped. Numbers
 * are formatted as Python does (`formatFixed`).
 * @throws ArgumentError for malformed records, fewer importances than tokens, or non-finite importances.
 */
export function textHtml(records: readonly VisualizationDataRecord[], options: TextHtmlOptions = {}): string {
  checkOptionNames('textHtml options', options, ['legend', 'standalone', 'title']);
  if (!Array.isArray(records)) throw new ArgumentError('records', 'an array of VisualizationDataRecord', describeValue(records));
  const rows = [
    '<tr><th>True Label</th><th>Predicted Label</th><th>Attribution Label</th><th>Attribution Score</th><th>Word Importance</th></tr>',
  ];
  records.forEach((r: unknown, i) => {
    const rec = checkRecord(`records[${i}]`, r);
    rows.push(
      [
        '<tr>',
        cell(String(rec.trueClass)),
        cell(`${String(rec.predClass)} (${formatFixed(rec.predProb, 2)})`),
        cell(String(rec.attrClass)),
        cell(formatFixed(rec.attrScore, 2)),
        wordImportances(`records[${i}]`, rec.rawInputIds, rec.wordAttributions),
        '</tr>',
      ].join(''),
    );
  });
  const dom: string[] = [];
  if (options.legend ?? true) {
    dom.push('<div class="legend" style="border-top: 1px solid; margin-top: 5px; padding-top: 5px; display: inline-block"><b>Legend: </b>');
    for (const [value, label] of [
      [-1, 'Negative'],
      [0, 'Neutral'],
      [1, 'Positive'],
    ] as const) {
      dom.push(`<span style="display: inline-block; width: 10px; height: 10px; border: 1px solid; background-color: ${tokenColor(value)}"></span> ${label}  `);
    }
    dom.push('</div>');
  }
  dom.push(`<table style="width: 100%">${rows.join('')}</table>`);
  const fragment = dom.join('');
  if (!(options.standalone ?? true)) return fragment;
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    `<head><meta charset="utf-8"><title>${escapeXml(options.title ?? 'Word importance')}</title>`,
    '<style>body { font-family: sans-serif; } th, td { text-align: left; padding: 4px; vertical-align: top; }</style></head>',
    `<body>${fragment}</body>`,
    '</html>',
  ].join('\n');
}
