import { Tokenizer } from '@huggingface/tokenizers';
import { ArgumentError, describeValue } from '@attribution/tensor';

/** What the text methods need from a tokenizer (Hugging Face's `PreTrainedTokenizer` calls, in camel case). */
export interface TextTokenizer {
  /** Token ids of `text`; with the tokenizer's special tokens (a BOS, …) unless `addSpecialTokens` is false. */
  encode(text: string, options?: { readonly addSpecialTokens?: boolean }): number[];
  /** The text of `ids`; special tokens dropped when `skipSpecialTokens` is set. */
  decode(ids: readonly number[], options?: { readonly skipSpecialTokens?: boolean }): string;
  /** Vocabulary ids of token strings; an unknown string gives the unknown token's id (or throws when there is none). */
  convertTokensToIds(tokens: readonly string[]): number[];
  /** Vocabulary strings of ids. */
  convertIdsToTokens(ids: readonly number[]): string[];
  /** The end-of-sequence id, when the tokenizer has one. */
  readonly eosTokenId?: number;
}

/**
 * A {@link TextTokenizer} over a `tokenizer.json` (and its `tokenizer_config.json`) loaded with
 * `@huggingface/tokenizers`.
 */
export class HfTokenizer implements TextTokenizer {
  readonly eosTokenId?: number;
  private readonly tokenizer: Tokenizer;
  private readonly unkId?: number;

  constructor(tokenizerJson: object, tokenizerConfig: object = {}) {
    if (tokenizerJson === null || typeof tokenizerJson !== 'object' || !('model' in tokenizerJson)) {
      throw new ArgumentError('tokenizerJson', 'the parsed contents of a tokenizer.json (an object with a `model`)', describeValue(tokenizerJson));
    }
    if (tokenizerConfig === null || typeof tokenizerConfig !== 'object') {
      throw new ArgumentError('tokenizerConfig', 'the parsed contents of a tokenizer_config.json (an object)', describeValue(tokenizerConfig));
    }
    this.tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
    const config = tokenizerConfig as { eos_token?: unknown; unk_token?: unknown };
    const special = (v: unknown): string | undefined =>
      typeof v === 'string' ? v : v !== null && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string' ? (v as { content: string }).content : undefined;
    const eos = special(config.eos_token);
    const eosId = eos === undefined ? undefined : this.tokenizer.token_to_id(eos);
    if (eosId !== undefined) this.eosTokenId = eosId;
    const modelUnk = (tokenizerJson as { model: { unk_token?: unknown } }).model.unk_token;
    const unk = special(config.unk_token) ?? special(modelUnk);
    this.unkId = unk === undefined ? undefined : this.tokenizer.token_to_id(unk);
  }

  encode(text: string, options: { readonly addSpecialTokens?: boolean } = {}): number[] {
    if (typeof text !== 'string') throw new ArgumentError('text', 'a string', describeValue(text));
    return this.tokenizer.encode(text, { add_special_tokens: options.addSpecialTokens ?? true }).ids;
  }

  decode(ids: readonly number[], options: { readonly skipSpecialTokens?: boolean } = {}): string {
    return this.tokenizer.decode([...ids], { skip_special_tokens: options.skipSpecialTokens ?? false });
  }

  convertTokensToIds(tokens: readonly string[]): number[] {
    return tokens.map((t) => {
      const id = this.tokenizer.token_to_id(t);
      if (id !== undefined) return id;
      if (this.unkId !== undefined) return this.unkId;
      throw new ArgumentError('tokens', 'tokens of the vocabulary (this tokenizer has no unknown token)', JSON.stringify(t));
    });
  }

  convertIdsToTokens(ids: readonly number[]): string[] {
    return ids.map((id) => {
      const t = this.tokenizer.id_to_token(id);
      if (t === undefined) throw new ArgumentError('ids', 'ids of the vocabulary', String(id));
      return t;
    });
  }
}

/**
 * Display strings of generated ids, as Captum's "pretty" output tokens: each id decoded on its own (so GPT-2's
 * `Ġparis` reads `paris`), newlines written `\n`, surrounding whitespace stripped. A character split over
 * several byte-level tokens (each decoding to U+FFFD alone) is shown whole on its first token and with
 * ` [OVERLAP]` on the others, as Captum marks tokens that share a character.
 */
export function prettyTokens(tokenizer: TextTokenizer, ids: readonly number[]): string[] {
  const show = (text: string): string => text.replaceAll('\n', '\\n').trim();
  const out: string[] = [];
  for (let i = 0; i < ids.length; i++) {
    const alone = tokenizer.decode([ids[i] as number]);
    if (!alone.includes('\uFFFD')) {
      out.push(show(alone));
      continue;
    }
    // Up to 4 bytes make one character: find the shortest run that decodes without a replacement character.
    let j = i + 1;
    while (j < ids.length && j < i + 4 && tokenizer.decode(ids.slice(i, j + 1)).includes('\uFFFD')) j++;
    const joint = j < ids.length ? tokenizer.decode(ids.slice(i, j + 1)) : alone;
    if (j >= ids.length || joint.includes('\uFFFD')) {
      out.push(show(alone));
      continue;
    }
    out.push(show(joint));
    for (let k = i + 1; k <= j; k++) out.push(`${show(joint)} [OVERLAP]`);
    i = j;
  }
  return out;
}
