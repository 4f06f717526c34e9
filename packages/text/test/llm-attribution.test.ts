import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { closeToCaptum, fixtureDir, readFixtureJson } from './captum-cases.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FeatureAblation, KernelShap, Lime, ShapleyValueSampling, ShapleyValues } from '@attribution/primary';
import type { OrtModule } from '@attribution/onnx';
import { ArgumentError } from '@attribution/tensor';
import { HfTokenizer, LLMAttribution, prettyTokens, OnnxCausalLM, TextTemplateInput, TextTokenInput, type InterpretableInput, type TemplateValues, type TokenLike } from '../src/index.js';

const dir = fixtureDir;
const readJson = readFixtureJson;

interface CaptumCase {
  id: string;
  method: string;
  input: {
    type: 'TextTokenInput' | 'TextTemplateInput';
    text?: string;
    baselines?: TokenLike | TemplateValues | null;
    skipTokens?: TokenLike[] | null;
    inputIds?: number[];
    template?: string;
    values?: TemplateValues;
    mask?: number[] | Record<string, number> | null;
  };
  target: string | { ids: number[] } | null;
  skipTokens: TokenLike[] | null;
  targetIds: number[];
  options: { attrTarget: 'log_prob' | 'prob'; numTrials: number; genArgs: { max_new_tokens?: number } | null; n_samples?: number };
  expected: { inputTokens: string[]; outputTokens: string[]; seqAttr: number[]; tokenAttr: number[][] | null };
  reference: { targetProbs: number[]; completeness?: { fInput: number; fBaseline: number } };
  compare: string;
  tolerance: { atol: number; rtol: number; against?: string; completenessAtol?: number };
}

const allCases = (readJson('captum-cases.json') as { cases: CaptumCase[] }).cases;
const cases = allCases.filter(
  (c) => c.compare === 'exact' && (c.method === 'feature-ablation' || c.method === 'shapley-values'),
);
const tokenizer = new HfTokenizer(readJson('tokenizer.json') as object, readJson('tokenizer_config.json') as object);
let lm: OnnxCausalLM;
let lmWeb: OnnxCausalLM;
ortWeb.env.wasm.numThreads = 1;

beforeAll(async () => {
  lm = await OnnxCausalLM.load(ort, join(dir, 'onnx/model.onnx'), { config: readJson('config.json') as Record<string, unknown> });
  lmWeb = await OnnxCausalLM.load(ortWeb as unknown as OrtModule, join(dir, 'onnx/model.onnx'));
});
afterAll(() => {
  lm.dispose();
  lmWeb.dispose();
});

function inputOf(c: CaptumCase): InterpretableInput {
  const i = c.input;
  if (i.type === 'TextTokenInput') {
    return new TextTokenInput(i.text as string, tokenizer, {
      ...(i.baselines !== undefined && i.baselines !== null ? { baselines: i.baselines as TokenLike } : {}),
      ...(i.skipTokens ? { skipTokens: i.skipTokens } : {}),
    });
  }
  return new TextTemplateInput(i.template as string, i.values as TemplateValues, {
    ...(i.baselines ? { baselines: i.baselines as TemplateValues } : {}),
    ...(i.mask ? { mask: i.mask } : {}),
  });
}


describe.each(['onnxruntime-node', 'onnxruntime-web'])('LLMAttribution matches Captum 0.8 (tiny-gpt, %s)', (runtime) => {
  it('covers every exact FeatureAblation and ShapleyValues case', () => {
    expect(cases.length).toBe(23);
  });
  for (const c of cases) {
    it(c.id, async () => {
      const method = c.method === 'feature-ablation' ? FeatureAblation : ShapleyValues;
      const llm = new LLMAttribution(method, runtime === 'onnxruntime-node' ? lm : lmWeb, tokenizer, { attrTarget: c.options.attrTarget });
      const target = c.target === null ? undefined : typeof c.target === 'string' ? c.target : c.target.ids;
      const inp = inputOf(c);
      if (c.input.inputIds && inp instanceof TextTokenInput) expect(inp.inputIds).toEqual(c.input.inputIds);
      const maxNew = c.options.genArgs?.max_new_tokens;
      const r = await llm.attribute(inp, target, {
        ...(c.skipTokens ? { skipTokens: c.skipTokens } : {}),
        ...(maxNew !== undefined ? { maxNewTokens: maxNew } : {}),
        numTrials: c.options.numTrials,
      });
      if (target !== undefined) expect(llm.targetIds(target, c.skipTokens ?? undefined)).toEqual(c.targetIds);
      expect(r.inputTokens).toEqual(c.expected.inputTokens);
      expect(r.outputTokens).toEqual(c.expected.outputTokens);
      closeToCaptum(r.seqAttr, c.expected.seqAttr, c);
      const want = c.expected.tokenAttr as number[][];
      expect(r.tokenAttr?.length).toBe(want.length);
      want.forEach((row, k) => closeToCaptum(r.tokenAttr?.[k] as number[], row, c));
      r.outputProbs.forEach((p, k) => expect(p).toBeCloseTo(c.reference.targetProbs[k] as number, 5));
    });
  }
});

const SAMPLING = { 'shapley-value-sampling': ShapleyValueSampling, 'kernel-shap': KernelShap, lime: Lime } as const;

describe('sampling methods against Captum (tiny-gpt)', () => {
  const sampling = allCases.filter((c) => c.method in SAMPLING);
  it('covers the seven sampling cases', () => expect(sampling.length).toBe(7));
  for (const c of sampling) {
    it(`${c.id} (${c.compare})`, async () => {
      const llm = new LLMAttribution(SAMPLING[c.method as keyof typeof SAMPLING], lm, tokenizer, { attrTarget: c.options.attrTarget });
      const r = await llm.attribute(inputOf(c), c.target as string, {
        skipTokens: c.skipTokens ?? [],
        numTrials: c.options.numTrials,
        methodOptions: { seed: 7, ...(c.options.n_samples ? { nSamples: c.options.n_samples } : {}) },
      });
      expect(r.inputTokens).toEqual(c.expected.inputTokens);
      expect(r.outputTokens).toEqual(c.expected.outputTokens);
      expect(r.seqAttr.length).toBe(c.expected.seqAttr.length);
      expect(r.seqAttr.every(Number.isFinite)).toBe(true);
      if (c.expected.tokenAttr === null) expect(r.tokenAttr).toBeNull();
      else expect(r.tokenAttr?.map((row) => row.length)).toEqual(c.expected.tokenAttr.map((row) => row.length));
      if (c.compare === 'sampling') {
        // Within the fixture's sampling tolerance of the exact Shapley values (the case named by `against`).
        const exact = allCases.find((x) => x.id === c.tolerance.against) as CaptumCase;
        closeToCaptum(r.seqAttr, exact.expected.seqAttr, c);
        (exact.expected.tokenAttr as number[][]).forEach((row, k) => closeToCaptum(r.tokenAttr?.[k] as number[], row, c));
      }
      if (c.reference.completeness) {
        // KernelShap's all-present and all-absent samples pin the sum to F(all) - F(none).
        const sum = r.seqAttr.reduce((a, b) => a + b, 0);
        expect(Math.abs(sum - (c.reference.completeness.fInput - c.reference.completeness.fBaseline))).toBeLessThan(c.tolerance.completenessAtol as number);
      }
      if (c.method === 'shapley-value-sampling') {
        // Efficiency: the sequence row sums to F(all) - F(none) for every sample.
        const sum = r.seqAttr.reduce((a, b) => a + b, 0);
        expect(sum).toBeCloseTo(sumOf(c.expected.seqAttr), 3);
      }
    });
  }
});

function sumOf(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

describe('scoring paths and batching', () => {
  const inp = (): TextTokenInput => new TextTokenInput('copy : b d a =', tokenizer, { skipTokens: ['[BOS]'] });
  it('the uncached path (one call per target token) gives the one-pass numbers with T times the calls', async () => {
    const llm = new LLMAttribution(FeatureAblation, lm, tokenizer);
    const one = await llm.attribute(inp(), 'b d a', { skipTokens: ['[BOS]'], batchSize: 1 });
    const unc = await llm.attribute(inp(), 'b d a', { skipTokens: ['[BOS]'], batchSize: 1, useCachedOutputs: false });
    // 1 + 6 distinct prompts (the original scored once).
    expect(one.modelCalls).toBe(7);
    expect(unc.modelCalls).toBe(21);
    unc.seqAttr.forEach((v, j) => expect(v).toBeCloseTo(one.seqAttr[j] as number, 4));
  });
  it('batched prompts (left-padded templates) give the unbatched numbers in fewer calls', async () => {
    const llm = new LLMAttribution(FeatureAblation, lm, tokenizer);
    // Removing a value shortens the prompt: the batch holds prompts of 6 and 7 tokens.
    const t = new TextTemplateInput('copy : {} {} {} =', ['c', 'e', 'g']);
    const a = await llm.attribute(t, 'c e g', { skipTokens: ['[BOS]'], batchSize: 1 });
    const b = await llm.attribute(t, 'c e g', { skipTokens: ['[BOS]'], batchSize: 8 });
    expect(a.modelCalls).toBe(4);
    expect(b.modelCalls).toBe(2);
    expect(Math.max(...a.seqAttr.map(Math.abs))).toBeGreaterThan(1);
    b.seqAttr.forEach((v, j) => expect(v).toBeCloseTo(a.seqAttr[j] as number, 4));
  });
});

describe('method options', () => {
  it('numTrials with a seed: trial t draws with seed + t, and the result is their mean', async () => {
    const llm = new LLMAttribution(ShapleyValueSampling, lm, tokenizer);
    const inp = new TextTokenInput('copy : b d a =', tokenizer, { skipTokens: ['[BOS]'] });
    const run = (seed: number, numTrials = 1): ReturnType<typeof llm.attribute> =>
      llm.attribute(inp, 'b d a', { skipTokens: ['[BOS]'], numTrials, methodOptions: { seed, nSamples: 3 } });
    const [a, b, both] = await Promise.all([run(7), run(8), run(7, 2)]);
    expect(a.seqAttr).not.toEqual(b.seqAttr);
    both.seqAttr.forEach((v, j) => expect(v).toBeCloseTo(((a.seqAttr[j] as number) + (b.seqAttr[j] as number)) / 2, 5));
  });

  it('perturbationsPerEval > 1 gives the numbers of one prompt per evaluation', async () => {
    const llm = new LLMAttribution(FeatureAblation, lm, tokenizer);
    const inp = new TextTokenInput('copy : b d a =', tokenizer, { skipTokens: ['[BOS]'] });
    const one = await llm.attribute(inp, 'b d a', { skipTokens: ['[BOS]'], methodOptions: { perturbationsPerEval: 1 } });
    const three = await llm.attribute(inp, 'b d a', { skipTokens: ['[BOS]'], methodOptions: { perturbationsPerEval: 3 }, batchSize: 2 });
    expect(three.tokenAttr).toEqual(one.tokenAttr);
    expect(three.seqAttr).toEqual(one.seqAttr);
  });
});

describe('inputs', () => {
  it('TextTokenInput: Captum default baseline 0, skipTokens by string, token strings as baselines', () => {
    const a = new TextTokenInput('the capital of france is', tokenizer);
    expect(a.baselineId).toBe(0);
    expect(a.values).toEqual(['[BOS]', 'the', 'capital', 'of', 'france', 'is']);
    const b = new TextTokenInput('the capital of france is', tokenizer, { skipTokens: ['[BOS]'], baselines: '[PAD]' });
    expect(b.nFeatures).toBe(5);
    expect(b.toModelInput([1, 0, 1, 0.5, 1])).toEqual([1, 4, 3, 6, 3, 7]);
    expect(() => new TextTokenInput('hello', tokenizer, { baselines: -1 })).toThrow(ArgumentError);
    expect(() => new TextTokenInput('the', tokenizer, { skipTokens: ['[BOS]', 'the'] })).toThrow(ArgumentError);
  });

  it('TextTemplateInput: slots, baselines, mask grouping (ascending ids)', () => {
    const t = new TextTemplateInput('{} plus {} is', ['4', '3']);
    expect(t.toModelInput([0, 1])).toBe(' plus 3 is');
    const m = new TextTemplateInput('copy : {a} {b} {c} = {{x}}', { a: 'c', b: 'e', c: 'g' }, { baselines: { a: 'a', b: 'a', c: 'a' }, mask: { a: 7, b: 7, c: 3 } });
    expect(m.nFeatures).toBe(2);
    expect(m.featureOf).toEqual([1, 1, 0]);
    expect(m.toModelInput([1, 0])).toBe('copy : a a g = {x}');
    expect(m.formatAttr([[10, 20]])).toEqual([[20, 20, 10]]);
  });

  it('typed errors when slots and values disagree', () => {
    expect(() => new TextTemplateInput('{} plus {} is', ['4'])).toThrow(ArgumentError);
    expect(() => new TextTemplateInput('{} is', ['4', '3'])).toThrow(ArgumentError);
    expect(() => new TextTemplateInput('{x} is', { y: '4' })).toThrow(ArgumentError);
    expect(() => new TextTemplateInput('{x} is', ['4'])).toThrow(ArgumentError);
    expect(() => new TextTemplateInput('{} is', { x: '4' })).toThrow(ArgumentError);
    expect(() => new TextTemplateInput('{} is', ['4'], { baselines: ['a', 'b'] })).toThrow(ArgumentError);
    expect(() => new TextTemplateInput('{x} is', { x: '4' }, { baselines: ['a'] })).toThrow(ArgumentError);
    expect(() => new TextTemplateInput('{x} is', { x: '4' }, { mask: { y: 1 } })).toThrow(ArgumentError);
    expect(() => new TextTemplateInput('{x is', { x: '4' })).toThrow(ArgumentError);
  });

  it('typed errors for an empty target and a bad attrTarget', async () => {
    const llm = new LLMAttribution(FeatureAblation, lm, tokenizer);
    expect(() => llm.targetIds('', ['[BOS]'])).toThrow(ArgumentError);
    await expect(llm.attribute(new TextTokenInput('the capital of france is', tokenizer), [])).rejects.toThrow(ArgumentError);
    expect(() => new LLMAttribution(FeatureAblation, lm, tokenizer, { attrTarget: 'logit' as 'prob' })).toThrow(ArgumentError);
    await expect(llm.attribute(new TextTokenInput('the capital of france is', tokenizer), 'paris', { maxNewTokens: 2 })).rejects.toThrow(ArgumentError);
  });
});

describe('tokenizer (@huggingface/tokenizers on the fixture tokenizer.json)', () => {
  it('encodes with and without [BOS], decodes, converts', () => {
    expect(tokenizer.encode('The capital of France is')).toEqual([1, 4, 5, 6, 13, 7]);
    expect(tokenizer.encode('paris', { addSpecialTokens: false })).toEqual([14]);
    expect(tokenizer.convertTokensToIds(['[PAD]', 'no-such-token'])).toEqual([3, 0]);
    expect(tokenizer.convertIdsToTokens([1, 14])).toEqual(['[BOS]', 'paris']);
    expect(tokenizer.decode([1, 14], { skipSpecialTokens: true })).toBe('paris');
    expect(tokenizer.eosTokenId).toBe(2);
  });
});

describe('pretty output tokens (Captum shows decoded text, not vocabulary strings)', () => {
  // A byte-level BPE vocabulary as GPT-2's: Ġ is a space, Ċ a newline, 'Ã' + '©' the two bytes of 'é'.
  const bpe = new HfTokenizer({
    version: '1.0',
    added_tokens: [{ id: 0, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, vocab: { '<|endoftext|>': 0, the: 1, 'Ġparis': 2, Ċ: 3, Ã: 4, '©': 5, 'Ġ': 6 }, merges: [] },
  });
  it('strips the space marker, writes newlines as \\n, keeps special tokens, joins split characters', () => {
    expect(bpe.convertIdsToTokens([2, 3])).toEqual(['Ġparis', 'Ċ']);
    expect(prettyTokens(bpe, [1, 2, 3, 0])).toEqual(['the', 'paris', '\\n', '<|endoftext|>']);
    expect(prettyTokens(bpe, [2, 4, 5, 6])).toEqual(['paris', 'é', 'é [OVERLAP]', '']);
  });
  it('the fixture\'s word-level tokens read as their vocabulary strings', () => {
    expect(prettyTokens(tokenizer, [14, 2])).toEqual(['paris', '[EOS]']);
  });
});
