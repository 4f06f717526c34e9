import { ArgumentError, describeValue } from '@attribution/tensor';
import type { TextTokenizer } from './tokenizer.js';

/**
 * A prompt described as `nFeatures` on/off features (Captum's `InterpretableInput`). The wrapped method
 * perturbs a `[1, nFeatures]` tensor of ones (1 = present, the method's baseline 0 = absent).
 */
export interface InterpretableInput {
  /** Number of on/off features. */
  readonly nFeatures: number;
  /** One display string per user-visible feature (tokens, or template values). */
  readonly values: readonly string[];
  /**
   * The prompt for one row of the interpretable tensor (`null`: the original prompt): token ids, or a string
   * that the caller tokenizes (with special tokens).
   */
  toModelInput(row: ArrayLike<number> | null): readonly number[] | string;
  /** Maps rows of attributions over the `nFeatures` features to rows over {@link values}. */
  formatAttr(rows: readonly (readonly number[])[]): number[][];
}

/** A token given as an id or as a vocabulary string. */
export type TokenLike = number | string;

function tokenIds(tokenizer: TextTokenizer, tokens: readonly TokenLike[], argument: string): number[] {
  if (tokens.length === 0) return [];
  // As Captum: the type of the first element decides.
  if (typeof tokens[0] === 'string') {
    if (!tokens.every((t) => typeof t === 'string')) throw new ArgumentError(argument, 'token strings only (the first element is a string)', describeValue(tokens));
    return tokenizer.convertTokensToIds(tokens as readonly string[]);
  }
  if (!tokens.every((t) => Number.isSafeInteger(t) && (t as number) >= 0)) throw new ArgumentError(argument, 'non-negative integer token ids only', describeValue(tokens));
  return [...(tokens as readonly number[])];
}

/** Resolves `skipTokens` (ids or token strings, the first element's type decides) to a set of ids. */
export function skipTokenIds(tokenizer: TextTokenizer, skipTokens: readonly TokenLike[] | undefined, argument = 'skipTokens'): Set<number> {
  if (skipTokens === undefined || skipTokens === null) return new Set();
  if (!Array.isArray(skipTokens)) throw new ArgumentError(argument, 'an array of token ids or token strings', describeValue(skipTokens));
  return new Set(tokenIds(tokenizer, skipTokens, argument));
}

/** Options of {@link TextTokenInput}. */
export interface TextTokenInputOptions {
  /**
   * The replacement of an absent token: an id, used as is, or a token string mapped through the vocabulary
   * (an unknown string gives the unknown id). Default 0, as Captum (the unknown token in Llama-style and in
   * the fixture's vocabularies; `!` in GPT-2's).
   */
  readonly baselines?: TokenLike;
  /** Tokens (ids or strings) that are never features: every occurrence keeps its id and gets no attribution. */
  readonly skipTokens?: readonly TokenLike[];
}

/**
 * The prompt's tokens are the features (Captum's `TextTokenInput`): the text is encoded with the tokenizer's
 * special tokens, and an absent token (any entry ≠ 1) is replaced by the baseline id; the length never changes.
 */
export class TextTokenInput implements InterpretableInput {
  /** All token ids of the prompt, special tokens included. */
  readonly inputIds: readonly number[];
  /** Positions of {@link inputIds} that are features. */
  readonly positions: readonly number[];
  /** The replacement id of absent tokens. */
  readonly baselineId: number;
  readonly values: readonly string[];

  constructor(text: string, tokenizer: TextTokenizer, options: TextTokenInputOptions = {}) {
    if (typeof text !== 'string') throw new ArgumentError('text', 'a string', describeValue(text));
    const ids = tokenizer.encode(text);
    if (ids.length === 0) throw new ArgumentError('text', 'a prompt that tokenizes to at least one token', JSON.stringify(text));
    this.inputIds = ids;
    const skip = skipTokenIds(tokenizer, options.skipTokens);
    this.positions = ids.map((_, i) => i).filter((i) => !skip.has(ids[i] as number));
    if (this.positions.length === 0) throw new ArgumentError('skipTokens', 'to leave at least one prompt token as a feature', `every token of ${JSON.stringify(text)} skipped`);
    const b = options.baselines ?? 0;
    if (typeof b === 'number') {
      if (!Number.isSafeInteger(b) || b < 0) throw new ArgumentError('baselines', 'a non-negative integer token id or a token string', String(b));
      this.baselineId = b;
    } else if (typeof b === 'string') this.baselineId = tokenizer.convertTokensToIds([b])[0] as number;
    else throw new ArgumentError('baselines', 'a token id or a token string', describeValue(b));
    this.values = tokenizer.convertIdsToTokens(this.positions.map((p) => ids[p] as number));
  }

  get nFeatures(): number {
    return this.positions.length;
  }

  toModelInput(row: ArrayLike<number> | null): readonly number[] {
    if (row === null) return this.inputIds;
    const ids = [...this.inputIds];
    this.positions.forEach((p, j) => {
      if (row[j] !== 1) ids[p] = this.baselineId;
    });
    return ids;
  }

  formatAttr(rows: readonly (readonly number[])[]): number[][] {
    return rows.map((r) => [...r]);
  }
}

/** Values of a template: a list for `{}` slots, a record (its key order is the feature order) for `{name}` slots. */
export type TemplateValues = readonly string[] | Readonly<Record<string, string>>;

/** Options of {@link TextTemplateInput}. */
export interface TextTemplateInputOptions {
  /** What an absent value becomes: same kind as the values (list or record); default the empty string for every value. */
  readonly baselines?: TemplateValues;
  /**
   * Integer group ids, same kind as the values: values with equal ids are one feature. Features are numbered
   * by ascending id (Python's set order for small non-negative ids, which Captum uses).
   */
  readonly mask?: readonly number[] | Readonly<Record<string, number>>;
}

type Piece = { readonly text: string } | { readonly slot: number };

/**
 * Template segments are the features (Captum's `TextTemplateInput`): `template` holds `{}` slots (values a
 * list) or `{name}` slots (values a record); `{{` and `}}` are literal braces. An absent feature (entry = 0)
 * puts its values' baselines in their slots; the prompt is the filled string, tokenized by the caller.
 */
export class TextTemplateInput implements InterpretableInput {
  readonly template: string;
  readonly values: readonly string[];
  /** Record keys in feature order (`undefined` for list values). */
  readonly keys: readonly string[] | undefined;
  readonly baselines: readonly string[];
  /** The feature of each value. */
  readonly featureOf: readonly number[];
  readonly nFeatures: number;
  private readonly pieces: readonly Piece[];

  constructor(template: string, values: TemplateValues, options: TextTemplateInputOptions = {}) {
    if (typeof template !== 'string') throw new ArgumentError('template', 'a string with {} or {name} slots', describeValue(template));
    if (values === null || typeof values !== 'object') throw new ArgumentError('values', 'an array of strings or a record of strings', describeValue(values));
    const isList = Array.isArray(values);
    const keys = isList ? undefined : Object.keys(values);
    const vals = isList ? [...(values as readonly string[])] : (keys as string[]).map((k) => (values as Record<string, string>)[k] as string);
    vals.forEach((v, i) => {
      if (typeof v !== 'string') throw new ArgumentError(`values[${keys ? JSON.stringify(keys[i]) : i}]`, 'a string', describeValue(v));
    });
    if (vals.length === 0) throw new ArgumentError('values', 'at least one value', 'none');
    this.template = template;
    this.values = vals;
    this.keys = keys;
    this.pieces = parseTemplate(template, keys, vals.length);
    this.baselines = sameKind(options.baselines, 'baselines', isList, keys, vals.length, (v) => typeof v === 'string', 'a string') ?? vals.map(() => '');
    const mask = sameKind(options.mask, 'mask', isList, keys, vals.length, (v) => Number.isSafeInteger(v), 'an integer');
    if (mask) {
      const distinct = [...new Set(mask)].sort((a, b) => a - b);
      this.featureOf = mask.map((m) => distinct.indexOf(m));
      this.nFeatures = distinct.length;
    } else {
      this.featureOf = vals.map((_, i) => i);
      this.nFeatures = vals.length;
    }
  }

  toModelInput(row: ArrayLike<number> | null): string {
    const filled = this.values.map((v, i) => (row === null || row[this.featureOf[i] as number] !== 0 ? v : (this.baselines[i] as string)));
    return this.pieces.map((p) => ('text' in p ? p.text : (filled[p.slot] as string))).join('');
  }

  formatAttr(rows: readonly (readonly number[])[]): number[][] {
    return rows.map((r) => this.featureOf.map((f) => r[f] as number));
  }
}

function sameKind<V>(
  given: readonly V[] | Readonly<Record<string, V>> | undefined,
  argument: string,
  isList: boolean,
  keys: readonly string[] | undefined,
  count: number,
  check: (v: unknown) => boolean,
  what: string,
): V[] | undefined {
  if (given === undefined || given === null) return undefined;
  if (typeof given !== 'object') throw new ArgumentError(argument, isList ? `an array of ${count}` : 'a record with the keys of values', describeValue(given));
  let list: V[];
  if (isList) {
    if (!Array.isArray(given)) throw new ArgumentError(argument, `an array like values (${count} entries)`, 'a record');
    if (given.length !== count) throw new ArgumentError(argument, `one entry per value (${count})`, `${given.length} entries`);
    list = [...(given as readonly V[])];
  } else {
    if (Array.isArray(given)) throw new ArgumentError(argument, 'a record like values', 'an array');
    const rec = given as Readonly<Record<string, V>>;
    const missing = (keys as string[]).filter((k) => !(k in rec));
    const extra = Object.keys(rec).filter((k) => !(keys as string[]).includes(k));
    if (missing.length || extra.length) {
      throw new ArgumentError(argument, `the keys of values (${(keys as string[]).join(', ')})`, `${missing.length ? `missing ${missing.join(', ')}` : ''}${missing.length && extra.length ? '; ' : ''}${extra.length ? `extra ${extra.join(', ')}` : ''}`);
    }
    list = (keys as string[]).map((k) => rec[k] as V);
  }
  list.forEach((v, i) => {
    if (!check(v)) throw new ArgumentError(`${argument}[${keys ? JSON.stringify(keys[i]) : i}]`, what, describeValue(v));
  });
  return list;
}

/** Splits a template into literal text and slots, checking that slots and values agree. */
function parseTemplate(template: string, keys: readonly string[] | undefined, count: number): Piece[] {
  const pieces: Piece[] = [];
  let text = '';
  let positional = 0;
  const used = new Set<string>();
  for (let i = 0; i < template.length; i++) {
    const c = template[i] as string;
    if (c === '{' && template[i + 1] === '{') {
      text += '{';
      i++;
    } else if (c === '}' && template[i + 1] === '}') {
      text += '}';
      i++;
    } else if (c === '{') {
      const end = template.indexOf('}', i);
      if (end < 0) throw new ArgumentError('template', 'balanced braces (write a literal brace as {{ or }})', JSON.stringify(template));
      const name = template.slice(i + 1, end);
      if (text) pieces.push({ text });
      text = '';
      if (name === '') {
        if (keys) throw new ArgumentError('template', 'named {name} slots, since values is a record', `an empty {} slot in ${JSON.stringify(template)}`);
        if (positional >= count) throw new ArgumentError('values', `one value per {} slot of the template (at least ${positional + 1})`, `${count} values`);
        pieces.push({ slot: positional++ });
      } else {
        if (!keys) throw new ArgumentError('template', '{} slots, since values is an array', `a named slot {${name}}`);
        const k = keys.indexOf(name);
        if (k < 0) throw new ArgumentError('values', `a value for every slot of the template (${name} is missing)`, `keys ${keys.join(', ')}`);
        used.add(name);
        pieces.push({ slot: k });
      }
      i = end;
    } else if (c === '}') {
      throw new ArgumentError('template', 'balanced braces (write a literal brace as {{ or }})', JSON.stringify(template));
    } else text += c;
  }
  if (text) pieces.push({ text });
  if (!keys && positional !== count) throw new ArgumentError('values', `one value per {} slot of the template (${positional})`, `${count} values`);
  if (keys) {
    const unused = keys.filter((k) => !used.has(k));
    if (unused.length) throw new ArgumentError('values', 'only keys that name a slot of the template', `unused ${unused.join(', ')}`);
  }
  return pieces;
}
