import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TEXT_METHOD_NAMES } from '../src/names.js';
import { TEXT_METHODS, splitList } from '../src/text.js';
import { run } from './run.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const tinyGpt = path.join(here, '../../text/fixtures/tiny-gpt');
const FRANCE = 'the capital of france is';

interface TextJson {
  method: string;
  inputTokens: string[];
  outputTokens: string[];
  seqAttr: number[];
  tokenAttr: number[][] | null;
  outputProbs: number[] | null;
}

interface CaptumCase {
  id: string;
  expected: { inputTokens: string[]; outputTokens: string[]; seqAttr: number[]; tokenAttr: number[][] | null };
  reference: { targetProbs: number[] };
  tolerance: { atol: number; rtol: number };
}

const cases = (JSON.parse(fs.readFileSync(path.join(tinyGpt, 'captum-cases.json'), 'utf8')) as { cases: CaptumCase[] }).cases;
const captum = (id: string): CaptumCase => cases.find((c) => c.id === id) as CaptumCase;
const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'attribution-text-'));

function close(got: readonly number[], want: readonly number[], { atol, rtol }: { atol: number; rtol: number }, what: string): void {
  expect(got, what).toHaveLength(want.length);
  got.forEach((g, i) => expect(Math.abs(g - (want[i] as number)), `${what}[${i}]: ${g} vs ${want[i]}`).toBeLessThanOrEqual(atol + rtol * Math.abs(want[i] as number)));
}

/** Runs explain-text with `--out -` and returns the parsed JSON. */
async function explainJson(...args: string[]): Promise<TextJson> {
  const r = await run('explain-text', tinyGpt, ...args, '--out', '-');
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.out) as TextJson;
}

/** Matches a Captum reference case: tokens, sequence and token attributions. */
function matchesCaptum(got: TextJson, id: string): void {
  const c = captum(id);
  expect(got.inputTokens).toEqual(c.expected.inputTokens);
  expect(got.outputTokens).toEqual(c.expected.outputTokens);
  close(got.seqAttr, c.expected.seqAttr, c.tolerance, `${id} seqAttr`);
  (c.expected.tokenAttr ?? []).forEach((row, k) => close(got.tokenAttr?.[k] ?? [], row, c.tolerance, `${id} tokenAttr[${k}]`));
  close(got.outputProbs ?? [], c.reference.targetProbs, { atol: 1e-4, rtol: 1e-4 }, `${id} outputProbs`);
}

describe('the method names the help lists without loading @attribution/text', () => {
  it('are the methods explain-text runs', () => {
    expect([...TEXT_METHOD_NAMES]).toEqual(Object.keys(TEXT_METHODS));
  });
});

describe('attribution explain-text', () => {
  it('runs every method, writing the JSON, the HTML page and the plots', async () => {
    const dir = tmp();
    const runs: [string, string[], boolean][] = [
      ['feature-ablation', [], true],
      ['shapley-values', [], true],
      ['shapley-value-sampling', ['--options', '{"nSamples":20,"seed":1}'], true],
      ['kernel-shap', ['--options', '{"nSamples":20,"seed":1}'], false],
      ['lime', ['--options', '{"nSamples":20,"seed":1}'], false],
      ['layer-integrated-gradients', ['--options', '{"nSteps":8}'], true],
    ];
    for (const [method, extra, hasTokenAttr] of runs) {
      const out = path.join(dir, `${method}.json`);
      const html = path.join(dir, `${method}.html`);
      const plot = path.join(dir, `${method}.svg`);
      const seqPlot = path.join(dir, `${method}-seq.svg`);
      const r = await run('explain-text', tinyGpt, '--method', method, '--prompt', FRANCE, '--target', 'paris', '--skip-tokens', '[BOS]', ...extra, '--out', out, '--html', html, '--plot', plot, '--seq-plot', seqPlot);
      expect(r.err, method).toBe('');
      expect(r.code, method).toBe(0);
      expect(r.out, method).toContain(`wrote ${out}`);
      const json = JSON.parse(fs.readFileSync(out, 'utf8')) as TextJson;
      expect(Object.keys(json), method).toEqual(['method', 'inputTokens', 'outputTokens', 'seqAttr', 'tokenAttr', 'outputProbs']);
      expect(json.method).toBe(method);
      expect(json.inputTokens, method).toEqual(['the', 'capital', 'of', 'france', 'is']);
      expect(json.outputTokens, method).toEqual(['paris']);
      expect(json.seqAttr, method).toHaveLength(5);
      expect(json.seqAttr.every(Number.isFinite), method).toBe(true);
      if (hasTokenAttr) {
        expect(json.tokenAttr, method).toHaveLength(1);
        expect(json.tokenAttr?.[0], method).toHaveLength(5);
      } else expect(json.tokenAttr, method).toBeNull();
      expect(json.outputProbs?.[0], method).toBeGreaterThan(0.9);
      const page = fs.readFileSync(html, 'utf8');
      expect(page, method).toMatch(/<html|<table|<div/i);
      expect(page, method).toContain('paris');
      expect(fs.readFileSync(plot, 'utf8'), method).toMatch(/^(<\?xml[^>]*>\s*)?<svg/);
      expect(fs.readFileSync(seqPlot, 'utf8'), method).toMatch(/^(<\?xml[^>]*>\s*)?<svg/);
    }
  });

  it("equals Captum's ShapleyValues, FeatureAblation and LayerIntegratedGradients on the fixture", async () => {
    matchesCaptum(await explainJson('--method', 'shapley-values', '--prompt', FRANCE, '--target', 'paris', '--skip-tokens', '[BOS]'), 'fr-sv-logprob');
    matchesCaptum(await explainJson('--method', 'feature-ablation', '--prompt', FRANCE, '--target', 'paris', '--skip-tokens', '[BOS]', '--baselines', '[PAD]'), 'fr-fa-baseline-pad');
    matchesCaptum(await explainJson('--method', 'layer-integrated-gradients', '--prompt', FRANCE, '--target', 'paris', '--skip-tokens', '[BOS]', '--options', '{"nSteps":50,"method":"gausslegendre"}'), 'fr-lig');
  });

  it('generates the target greedily without --target, up to --max-new-tokens', async () => {
    const got = await explainJson('--method', 'feature-ablation', '--prompt', FRANCE, '--skip-tokens', '[BOS]');
    expect(got.outputTokens[0]).toBe('paris');
    matchesCaptum(got, 'fr-fa-generate');
    const one = await explainJson('--method', 'feature-ablation', '--prompt', FRANCE, '--skip-tokens', '[BOS]', '--max-new-tokens', '1');
    matchesCaptum(one, 'fr-fa-generate-maxnew1');
  });

  it('skips tokens from the prompt features and the target', async () => {
    const kept = await explainJson('--method', 'feature-ablation', '--prompt', FRANCE, '--target', 'paris');
    expect(kept.inputTokens).toEqual(['[BOS]', 'the', 'capital', 'of', 'france', 'is']);
    expect(kept.outputTokens).toEqual(['[BOS]', 'paris']);
    const skipped = await explainJson('--method', 'feature-ablation', '--prompt', FRANCE, '--target', 'paris', '--skip-tokens', '[BOS],of');
    expect(skipped.inputTokens).toEqual(['the', 'capital', 'france', 'is']);
    expect(skipped.outputTokens).toEqual(['paris']);
  });

  it('explains the values of a template, {} slots and {name} slots', async () => {
    matchesCaptum(await explainJson('--method', 'shapley-values', '--template', '{} plus {} is', '--values', '4,3', '--target', 'seven', '--skip-tokens', '[BOS]'), 'tpl-add-sv');
    matchesCaptum(
      await explainJson('--method', 'feature-ablation', '--template', 'the capital of {x} is', '--values', 'x=japan', '--baselines', 'x=peru', '--target', 'tokyo', '--skip-tokens', '[BOS]'),
      'tpl-capital-fa-dict',
    );
  });

  it('prints the JSON alone on stdout with --out -, the notes of other files on stderr', async () => {
    const html = path.join(tmp(), 'r.html');
    const r = await run('explain-text', tinyGpt, '--method', 'feature-ablation', '--prompt', FRANCE, '--target', 'paris', '--skip-tokens', '[BOS]', '--out', '-', '--html', html);
    expect(r.code).toBe(0);
    expect(r.err).toBe(`wrote ${html}\n`);
    matchesCaptum(JSON.parse(r.out) as TextJson, 'fr-fa-generate-maxnew1');
  });

  it('prints a table without --out, and the probabilities with --attr-target prob', async () => {
    const r = await run('explain-text', tinyGpt, '--method', 'feature-ablation', '--prompt', '2 plus 3 is', '--target', 'five', '--skip-tokens', '[BOS]', '--attr-target', 'prob');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('FeatureAblation of the probability of "five" given "2 plus 3 is"');
    expect(r.out).toMatch(/^input\s+sequence\s+five$/m);
    expect(r.out).toMatch(/^plus\s+-?\d+\.\d{4}\s+-?\d+\.\d{4}$/m);
  });

  it('averages --num-trials (or numTrials in --options)', async () => {
    const a = await explainJson('--method', 'shapley-value-sampling', '--prompt', FRANCE, '--target', 'paris', '--skip-tokens', '[BOS]', '--num-trials', '2', '--options', '{"nSamples":5}');
    const b = await explainJson('--method', 'shapley-value-sampling', '--prompt', FRANCE, '--target', 'paris', '--skip-tokens', '[BOS]', '--options', '{"nSamples":5,"numTrials":2}');
    expect(a.seqAttr).toHaveLength(5);
    expect(b.seqAttr).toHaveLength(5);
  });

  it('refuses wrong flags with one typed line', async () => {
    const refused = async (args: string[], message: RegExp, code = 1): Promise<void> => {
      const r = await run('explain-text', tinyGpt, ...args);
      expect(r.code, args.join(' ')).toBe(code);
      expect(r.err, args.join(' ')).toMatch(message);
    };
    await refused(['--method', 'feature-ablaton', '--prompt', FRANCE], /^attribution: --method: expected one of feature-ablation, shapley-values, shapley-value-sampling, kernel-shap, lime, layer-integrated-gradients, got 'feature-ablaton'\. Did you mean feature-ablation\?\n$/);
    await refused(['--method', 'integrated-gradients', '--prompt', FRANCE], /--method: expected one of .*, got 'integrated-gradients'/);
    await refused(['--method', 'toString', '--prompt', FRANCE], /--method: expected one of .*, got 'toString'/);
    await refused(['--method', 'layer-integrated-gradients', '--prompt', FRANCE, '--attr-target', 'prob'], /^attribution: --attr-target: expected log_prob for layer-integrated-gradients/);
    await refused(['--method', 'feature-ablation'], /^attribution: --prompt: expected the prompt to explain: --prompt "<text>", or --template .*, got none\.\n$/);
    await refused(['--method', 'feature-ablation', '--prompt', FRANCE, '--template', '{} is', '--values', 'x'], /^attribution: --prompt: expected either --prompt or --template/);
    await refused(['--method', 'feature-ablation', '--template', '{} is'], /^attribution: --values: expected the template's values/);
    await refused(['--method', 'feature-ablation', '--prompt', FRANCE, '--values', 'x'], /^attribution: --values: expected no values without --template/);
    await refused(['--method', 'feature-ablation', '--template', '{x} is', '--values', 'paris'], /^attribution: --values: expected name=value pairs/);
    await refused(['--method', 'layer-integrated-gradients', '--template', '{} is', '--values', 'x'], /^attribution: --template: expected a --prompt/);
    await refused(['--method', 'feature-ablation', '--prompt', FRANCE, '--options', '{nSamples:20'], /^attribution: --options: expected a JSON object such as \{"nSteps":20\}, got '\{nSamples:20' \(.*\)\.\n$/);
    await refused(['--method', 'feature-ablation', '--prompt', FRANCE, '--options', '[1]'], /^attribution: --options: expected a JSON object, got '\[1\]'/);
    await refused(['--method', 'feature-ablation', '--prompt', FRANCE, '--options', '{"numTrials":0}'], /^attribution: --options: expected numTrials a positive integer, got 0/);
    await refused(['--method', 'feature-ablation', '--prompt', FRANCE, '--num-trials', '2', '--options', '{"numTrials":2}'], /^attribution: --num-trials: expected either --num-trials or numTrials/);
    await refused(['--method', 'layer-integrated-gradients', '--prompt', FRANCE, '--num-trials', '2'], /^attribution: --num-trials: expected no trials/);
    await refused(['--method', 'feature-ablation', '--prompt', FRANCE, '--target', 'paris', '--max-new-tokens', '3'], /^attribution: --max-new-tokens: expected no generation limit together with --target/);
    await refused(['--method', 'feature-ablation', '--prompt', FRANCE, '--max-new-tokens', '0'], /^attribution: --max-new-tokens: expected a positive integer, got '0'/);
    await refused(['--method', 'feature-ablation', '--prompt', FRANCE, '--layer', 'x'], /^attribution: --layer: expected no layer/);
    await refused(['--method', 'feature-ablation', '--prompt', FRANCE, '--attr-target', 'logits'], /option '--attr-target <what>' argument 'logits' is invalid/, 2);
    await refused(['--method', 'feature-ablation', '--prompt', FRANCE, '--out', path.join(tinyGpt, 'tokenizer.json')], /^attribution: --out: expected a file path outside the model and inputs, got '.*tokenizer\.json' \(the model's tokenizer\.json\)/);
    await refused(['--prompt', FRANCE], /required option '--method <name>' not specified/, 2);
  });

  it("names the flag in the library's refusals, and refuses tokens the vocabulary lacks", async () => {
    const refused = async (args: string[], message: RegExp): Promise<void> => {
      const r = await run('explain-text', tinyGpt, ...args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.err, args.join(' ')).toMatch(message);
      expect(r.err.trim().split('\n'), args.join(' ')).toHaveLength(1);
    };
    await refused(['--method', 'feature-ablation', '--template', '{} plus {} is', '--values', '4', '--target', 'seven'], /^attribution: --values: expected one value per \{\} slot of the template/);
    await refused(['--method', 'feature-ablation', '--template', '{a} plus {b} is', '--values', 'a=4,b=3', '--baselines', 'a=1', '--target', 'seven'], /^attribution: --baselines: expected the keys of values \(a, b\), got missing b/);
    await refused(['--method', 'feature-ablation', '--prompt', FRANCE, '--target', 'paris', '--skip-tokens', '<s>'], /^attribution: --skip-tokens: expected tokens of the vocabulary .*, got '<s>', which the tokenizer does not have\.\n$/);
    await refused(['--method', 'feature-ablation', '--prompt', FRANCE, '--target', 'paris', '--baselines', '<unk>'], /^attribution: --baselines: expected tokens of the vocabulary .*, got '<unk>', which the tokenizer does not have/);
    await refused(['--method', 'feature-ablation', '--prompt', FRANCE, '--target', 'paris', '--baselines', '100000'], /^attribution: --baselines: expected for --prompt, a token id of the vocabulary or a token, got '100000', which is no id of the tokenizer\.\n$/);
    await refused(['--method', 'kernel-shap', '--prompt', FRANCE, '--target', 'paris', '--options', '{"nSampls":3}'], /^attribution: --options: expected only the options .*, got unknown option 'nSampls'\. Did you mean nSamples\?/);
    await refused(['--method', 'layer-integrated-gradients', '--prompt', FRANCE, '--target', 'paris', '--layer', 'no-such-layer'], /^attribution: --layer: /);
    await refused(['--method', 'feature-ablation', '--prompt', FRANCE, '--model-file', 'nothing'], /^attribution: model-dir: expected a model folder with a decoder \(onnx\/nothing\.onnx, nothing\.onnx\)/);
  });

  it('takes a token id as the baseline of a prompt', async () => {
    const byId = await explainJson('--method', 'feature-ablation', '--prompt', FRANCE, '--target', 'paris', '--skip-tokens', '[BOS]', '--baselines', '3');
    const byToken = await explainJson('--method', 'feature-ablation', '--prompt', FRANCE, '--target', 'paris', '--skip-tokens', '[BOS]', '--baselines', '[PAD]');
    expect(byId.seqAttr).toEqual(byToken.seqAttr);
  });

  it('refuses a folder without a tokenizer or a model, naming what is missing', async () => {
    const noTokenizer = tmp();
    fs.mkdirSync(path.join(noTokenizer, 'onnx'));
    fs.copyFileSync(path.join(tinyGpt, 'onnx/model.onnx'), path.join(noTokenizer, 'onnx/model.onnx'));
    fs.copyFileSync(path.join(tinyGpt, 'config.json'), path.join(noTokenizer, 'config.json'));
    let r = await run('explain-text', noTokenizer, '--method', 'feature-ablation', '--prompt', FRANCE);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^attribution: model-dir: expected a model folder with a tokenizer\.json/);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    const noModel = tmp();
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) fs.copyFileSync(path.join(tinyGpt, f), path.join(noModel, f));
    r = await run('explain-text', noModel, '--method', 'feature-ablation', '--prompt', FRANCE);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^attribution: model-dir: expected a model folder with a decoder \(onnx\/model\.onnx, /);
    expect(r.err.trim().split('\n')).toHaveLength(1);
  });

  it('splits comma lists with \\, for a comma', () => {
    expect(splitList('a,b')).toEqual(['a', 'b']);
    expect(splitList('paris\\, france,x')).toEqual(['paris, france', 'x']);
    expect(splitList('a\\\\,b')).toEqual(['a\\', 'b']);
    expect(splitList('')).toEqual(['']);
  });
});
