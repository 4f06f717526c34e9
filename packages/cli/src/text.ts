import fs from 'node:fs';
import path from 'node:path';
import { LayerIntegratedGradients } from '@attribution/layer';
import { FeatureAblation, KernelShap, Lime, ShapleyValueSampling, ShapleyValues } from '@attribution/primary';
import { ArgumentError, closestName } from '@attribution/tensor';
import {
  LLMAttribution,
  LLMGradientAttribution,
  TextTemplateInput,
  TextTokenInput,
  loadTextModel,
  type InterpretableInput,
  type MethodFactory,
  type TemplateValues,
  type TextModel,
} from '@attribution/text';
import { llmAttributionHtml, seqAttrSvg, tokenAttrSvg } from '@attribution/visualize';
import { loadRuntime } from './methods.js';
import { checkDistinctOutputs, checkOutputFile, checkOutputFormat, writeAtomic, type ReadPath } from './output.js';
import { parseOptions } from './read.js';

/** The flags of `attribution explain-text`. */
export interface ExplainTextFlags {
  method: string;
  prompt?: string;
  target?: string;
  template?: string;
  values?: string;
  baselines?: string;
  skipTokens?: string;
  attrTarget?: 'log_prob' | 'prob';
  maxNewTokens?: string;
  numTrials?: string;
  layer?: string;
  options?: string;
  out?: string;
  html?: string;
  plot?: string;
  seqPlot?: string;
  modelFile?: string;
  quantized?: boolean;
  runtime: string;
}

/** A method of `explain-text`: a perturbation method wrapped by LLMAttribution, or LayerIntegratedGradients by LLMGradientAttribution. */
interface TextMethod {
  readonly className: string;
  /** The class of `@attribution/primary` (perturbation methods); undefined for the gradient method. */
  readonly factory?: MethodFactory;
}

/** The methods of `explain-text`, by their kebab-case names. */
export const TEXT_METHODS: Readonly<Record<string, TextMethod>> = {
  'feature-ablation': { className: 'FeatureAblation', factory: FeatureAblation },
  'shapley-values': { className: 'ShapleyValues', factory: ShapleyValues },
  'shapley-value-sampling': { className: 'ShapleyValueSampling', factory: ShapleyValueSampling },
  'kernel-shap': { className: 'KernelShap', factory: KernelShap },
  lime: { className: 'Lime', factory: Lime },
  'layer-integrated-gradients': { className: 'LayerIntegratedGradients' },
};

/** What `--out` holds (and `--out -` prints). */
export interface ExplainTextJson {
  readonly method: string;
  readonly inputTokens: readonly string[];
  readonly outputTokens: readonly string[];
  readonly seqAttr: readonly number[];
  readonly tokenAttr: readonly (readonly number[])[] | null;
  readonly outputProbs: readonly number[] | null;
}

/**
 * Splits a comma list; `\,` is a literal comma and `\\` a backslash (so values and tokens may hold commas).
 * An empty text is one empty item.
 */
export function splitList(text: string): string[] {
  const items: string[] = [];
  let item = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '\\' && (text[i + 1] === ',' || text[i + 1] === '\\')) {
      item += text[i + 1] as string;
      i++;
    } else if (c === ',') {
      items.push(item);
      item = '';
    } else item += c;
  }
  items.push(item);
  return items;
}

/** The slot names of a template (`''` for a `{}` slot); `{{` and `}}` are literal braces. */
function slotNames(template: string): string[] {
  const names: string[] = [];
  const plain = template.replaceAll('{{', '').replaceAll('}}', '');
  for (const m of plain.matchAll(/\{([^{}]*)\}/g)) names.push(m[1] as string);
  return names;
}

/** `--values` or `--baselines` of a template: a list for `{}` slots, `name=value` pairs for `{name}` slots. */
function templateValues(text: string, argument: string, named: boolean): TemplateValues {
  const items = splitList(text);
  if (!named) return items;
  const record: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new ArgumentError(argument, 'name=value pairs for the named {name} slots of --template, e.g. city=Paris,country=France', `'${item}' in '${text}'`);
    const name = item.slice(0, eq);
    if (Object.hasOwn(record, name)) throw new ArgumentError(argument, 'each slot name once', `'${name}' twice in '${text}'`);
    record[name] = item.slice(eq + 1);
  }
  return record;
}

/** A positive integer flag, or undefined when absent. */
function positiveInteger(text: string | undefined, argument: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === '' || !Number.isSafeInteger(n) || n < 1) throw new ArgumentError(argument, 'a positive integer', `'${text}'`);
  return n;
}

/** The method named by `--method`, checked against the other flags. */
function chooseTextMethod(o: ExplainTextFlags): TextMethod {
  const method = Object.hasOwn(TEXT_METHODS, o.method) ? TEXT_METHODS[o.method] : undefined;
  const names = Object.keys(TEXT_METHODS);
  if (!method) {
    const guess = closestName(o.method, names);
    throw new ArgumentError('--method', `one of ${names.join(', ')}`, `'${o.method}'`, guess ? `Did you mean ${guess}?` : undefined);
  }
  if (!method.factory && o.template !== undefined) {
    throw new ArgumentError('--template', `a --prompt: ${o.method} attributes to the prompt's tokens (a template's values have no embedding to integrate along)`, 'a template');
  }
  if (method.factory && o.layer !== undefined) throw new ArgumentError('--layer', `no layer: ${o.method} perturbs the prompt (only layer-integrated-gradients takes a layer)`, `'${o.layer}'`);
  if (!method.factory && o.attrTarget === 'prob') throw new ArgumentError('--attr-target', `log_prob for ${o.method} (Captum's LLMGradientAttribution attributes log-probabilities)`, "'prob'");
  return method;
}

/** A template's values and baselines, parsed from the flags (before the model is loaded). */
interface TemplateFlags {
  readonly values: TemplateValues;
  readonly baselines?: TemplateValues;
}

function templateFlags(o: ExplainTextFlags): TemplateFlags | undefined {
  if (o.template === undefined) return undefined;
  const named = slotNames(o.template).some((n) => n !== '');
  const values = templateValues(o.values as string, '--values', named);
  return o.baselines === undefined ? { values } : { values, baselines: templateValues(o.baselines, '--baselines', named) };
}

/** The input the flags describe: the prompt's tokens, or a template's values. */
function inputOf(o: ExplainTextFlags, template: TemplateFlags | undefined, model: TextModel, skipTokens: string[] | undefined): InterpretableInput {
  if (template) return new TextTemplateInput(o.template as string, template.values, template.baselines ? { baselines: template.baselines } : {});
  return new TextTokenInput(o.prompt as string, model.tokenizer, {
    ...(o.baselines !== undefined ? { baselines: baselineToken(o.baselines, model.tokenizer) } : {}),
    ...(skipTokens ? { skipTokens } : {}),
  });
}

/** Checks the flags that need no model: prompt or template, values, generation and trials. */
function checkPrompt(o: ExplainTextFlags): void {
  if (o.prompt !== undefined && o.template !== undefined) {
    throw new ArgumentError('--prompt', 'either --prompt or --template (with --values), not both', `both (--template '${o.template}')`);
  }
  if (o.prompt === undefined && o.template === undefined) {
    throw new ArgumentError('--prompt', 'the prompt to explain: --prompt "<text>", or --template "<text with {}>" with --values a,b', 'none');
  }
  if (o.template !== undefined && o.values === undefined) throw new ArgumentError('--values', "the template's values, a comma list (name=value pairs for {name} slots)", 'none');
  if (o.template === undefined && o.values !== undefined) throw new ArgumentError('--values', 'no values without --template (--prompt is the whole prompt)', `'${o.values}'`);
  if (o.maxNewTokens !== undefined && o.target !== undefined) {
    throw new ArgumentError('--max-new-tokens', 'no generation limit together with --target (the target is given, nothing is generated)', `'${o.maxNewTokens}'`);
  }
}

/** Every file of the model folder (and its onnx/ folder): no output may overwrite one. */
function modelReads(modelDir: string): ReadPath[] {
  const reads: ReadPath[] = [{ path: modelDir, what: 'the model folder' }];
  for (const sub of ['', 'onnx']) {
    const folder = path.join(modelDir, sub);
    let names: string[];
    try {
      names = fs.readdirSync(folder);
    } catch {
      continue;
    }
    for (const name of names) reads.push({ path: path.join(folder, name), what: `the model's ${path.join(sub, name)}` });
  }
  return reads;
}

function checkOutputs(modelDir: string, o: ExplainTextFlags): void {
  const outputs = (
    [
      ['--out', o.out === '-' ? undefined : o.out],
      ['--html', o.html],
      ['--plot', o.plot],
      ['--seq-plot', o.seqPlot],
    ] as const
  ).flatMap(([argument, file]) => (file === undefined ? [] : [{ argument, file }]));
  if (!outputs.length) return;
  const reads = modelReads(modelDir);
  for (const { argument, file } of outputs) checkOutputFile(file, argument, reads);
  checkDistinctOutputs(outputs);
  // The format comes from the file name: --heatmap out.jpg is refused rather than written as a PNG named .jpg.
  for (const { argument, file } of outputs) checkOutputFormat(file, argument);
}

/** `--options` split into the run's `numTrials` and the method's options. */
function optionsOf(o: ExplainTextFlags, method: TextMethod): { numTrials?: number; methodOptions: Record<string, unknown> } {
  const { numTrials: given, ...methodOptions } = parseOptions(o.options);
  const flag = positiveInteger(o.numTrials, '--num-trials');
  if (flag !== undefined && given !== undefined) throw new ArgumentError('--num-trials', 'either --num-trials or numTrials in --options', `both (${flag} and ${JSON.stringify(given)})`);
  let numTrials = flag;
  if (given !== undefined) {
    if (typeof given !== 'number' || !Number.isSafeInteger(given) || given < 1) throw new ArgumentError('--options', 'numTrials a positive integer', JSON.stringify(given));
    numTrials = given;
  }
  if (numTrials !== undefined && !method.factory) throw new ArgumentError(o.options !== undefined && given !== undefined ? '--options' : '--num-trials', `no trials: ${o.method} is deterministic`, String(numTrials));
  return { ...(numTrials !== undefined ? { numTrials } : {}), methodOptions };
}

const fixed = (v: number): string => (Number.isFinite(v) ? v.toFixed(4) : String(v));

/** The result as a table: a row per input feature, its sequence attribution and, where given, one column per output token. */
export function textTable(method: string, prompt: string, result: ExplainTextJson, attrTarget: string): string {
  const maxColumns = 8;
  const token = result.tokenAttr;
  const shown = token ? result.outputTokens.slice(0, maxColumns) : [];
  const header = ['input', 'sequence', ...shown];
  const rows = result.inputTokens.map((t, j) => [t, fixed(result.seqAttr[j] as number), ...shown.map((_, k) => fixed(token?.[k]?.[j] as number))]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] as string).length)));
  const line = (cells: readonly string[]): string => cells.map((s, c) => (c === 0 ? s.padEnd(widths[c] as number) : s.padStart(widths[c] as number))).join('  ').trimEnd();
  const probs = result.outputProbs;
  const lines = [
    `${method} of the ${attrTarget === 'prob' ? 'probability' : 'log-probability'} of ${JSON.stringify(result.outputTokens.join(' '))} given ${JSON.stringify(prompt)}`,
    ...(probs && probs.length ? [`output probabilities: ${result.outputTokens.map((t, k) => `${t} ${fixed(probs[k] as number)}`).join(', ')}`] : []),
    line(header),
    ...rows.map(line),
  ];
  if (token && result.outputTokens.length > maxColumns) lines.push(`(${result.outputTokens.length - maxColumns} more output tokens: --out writes them all)`);
  return `${lines.join('\n')}\n`;
}

/** The library's argument names, as the flags of `explain-text` that set them. */
const FLAG_OF: Readonly<Record<string, string>> = {
  source: 'model-dir',
  modelFile: '--model-file',
  text: '--prompt',
  template: '--template',
  values: '--values',
  baselines: '--baselines',
  skipTokens: '--skip-tokens',
  target: '--target',
  maxNewTokens: '--max-new-tokens',
  numTrials: '--num-trials',
  attrTarget: '--attr-target',
  layer: '--layer',
};

/** An ArgumentError of the library, renamed after the flag that carried the argument (`values[1]` → `--values[1]`). */
function asFlag(e: unknown): unknown {
  if (!(e instanceof ArgumentError) || e.constructor !== ArgumentError) return e;
  const m = /^([A-Za-z]+)(\[.*\])?$/.exec(e.argument);
  const flag = m ? FLAG_OF[m[1] as string] : /\.attribute options$/.test(e.argument) ? '--options' : undefined;
  if (flag === undefined) return e;
  const hint = e.message.slice(`${e.argument}: expected ${e.expected}, got ${e.received}.`.length).trim();
  return new ArgumentError(`${flag}${m?.[2] ?? ''}`, e.expected, e.received, hint || undefined, e.code);
}

/** Token strings of the vocabulary: a string the tokenizer does not know would silently stand for its unknown token. */
function vocabularyTokens(tokens: readonly string[], tokenizer: TextModel['tokenizer'], argument: string): void {
  for (const t of tokens) {
    let back: string | undefined;
    try {
      back = tokenizer.convertIdsToTokens(tokenizer.convertTokensToIds([t]))[0];
    } catch {
      back = undefined;
    }
    if (back !== t) throw new ArgumentError(argument, 'tokens of the vocabulary (as the tokenizer writes them, e.g. [BOS], <s> or Ġthe)', `'${t}', which the tokenizer does not have`);
  }
}

/** `--baselines` of a prompt: a token id (digits, as Captum's default id 0) or a token of the vocabulary. */
function baselineToken(text: string, tokenizer: TextModel['tokenizer']): string | number {
  if (/^\d+$/.test(text)) {
    const id = Number(text);
    let known: boolean;
    try {
      known = Number.isSafeInteger(id) && tokenizer.convertIdsToTokens([id]).length === 1;
    } catch {
      known = false;
    }
    if (!known) throw new ArgumentError('--baselines', 'for --prompt, a token id of the vocabulary or a token', `'${text}', which is no id of the tokenizer`);
    return id;
  }
  vocabularyTokens([text], tokenizer, '--baselines');
  return text;
}

/** `attribution explain-text`: which prompt tokens or template values drive a language model's continuation. */
export async function explainText(modelDir: string, o: ExplainTextFlags, io: { readonly out: (text: string) => void; readonly err: (text: string) => void }): Promise<void> {
  const method = chooseTextMethod(o);
  checkPrompt(o);
  const { numTrials, methodOptions } = optionsOf(o, method);
  const maxNewTokens = positiveInteger(o.maxNewTokens, '--max-new-tokens');
  const skipTokens = o.skipTokens === undefined ? undefined : splitList(o.skipTokens).filter((t) => t !== '');
  const template = templateFlags(o);
  checkOutputs(modelDir, o);
  const ort = await loadRuntime(o.runtime);
  let model: TextModel;
  try {
    model = await loadTextModel(ort, modelDir, { ...(o.modelFile !== undefined ? { modelFile: o.modelFile } : {}), ...(o.quantized ? { quantized: true } : {}) });
  } catch (e) {
    throw asFlag(e);
  }
  try {
    if (skipTokens) vocabularyTokens(skipTokens, model.tokenizer, '--skip-tokens');
    const inp = inputOf(o, template, model, skipTokens);
    const prompt = inp.toModelInput(null);
    const promptText = typeof prompt === 'string' ? prompt : (o.prompt as string);
    const common = {
      ...(skipTokens ? { skipTokens } : {}),
      ...(maxNewTokens !== undefined ? { maxNewTokens } : {}),
      methodOptions,
    };
    const result = method.factory
      ? await new LLMAttribution(method.factory, model.lm, model.tokenizer, { attrTarget: o.attrTarget ?? 'log_prob' }).attribute(inp, o.target, {
          ...common,
          ...(numTrials !== undefined ? { numTrials } : {}),
        })
      : await new LLMGradientAttribution(LayerIntegratedGradients, model.lm, model.tokenizer, o.layer !== undefined ? { layer: o.layer } : {}).attribute(inp as TextTokenInput, o.target, common);
    const json: ExplainTextJson = {
      method: o.method,
      inputTokens: result.inputTokens,
      outputTokens: result.outputTokens,
      seqAttr: result.seqAttr,
      tokenAttr: result.tokenAttr ?? null,
      outputProbs: result.outputProbs ?? null,
    };
    // With --out -, stdout is the JSON alone: the notes of written files go to stderr.
    const note = o.out === '-' ? io.err : io.out;
    const pictures: [string, string | undefined, () => string][] = [
      ['--html', o.html, () => llmAttributionHtml(result, { title: promptText, method: method.className })],
      ['--plot', o.plot, () => (json.tokenAttr ? tokenAttrSvg(result) : seqAttrSvg(result))],
      ['--seq-plot', o.seqPlot, () => seqAttrSvg(result)],
    ];
    for (const [argument, file, draw] of pictures) {
      if (file === undefined) continue;
      writeAtomic(file, draw(), { argument });
      note(`wrote ${file}\n`);
    }
    if (o.out === '-') io.out(`${JSON.stringify(json)}\n`);
    else if (o.out !== undefined) {
      writeAtomic(o.out, `${JSON.stringify(json)}\n`, { argument: '--out' });
      io.out(`wrote ${o.out}\n`);
    } else io.out(textTable(method.className, promptText, json, o.attrTarget ?? 'log_prob'));
  } catch (e) {
    throw asFlag(e);
  } finally {
    model.dispose();
  }
}
