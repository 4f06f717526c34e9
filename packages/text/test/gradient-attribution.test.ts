import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { closeToCaptum, fixtureDir, readFixtureJson } from './captum-cases.js';
import { afterAll, describe, expect, it } from 'vitest';
import { LayerGradientShap, LayerGradientXActivation, LayerIntegratedGradients } from '@attribution/layer';
import { HostTensor, UnsupportedOperatorError, type OrtModule } from '@attribution/onnx';
import { ArgumentError } from '@attribution/tensor';
import { HfTokenizer, LLMGradientAttribution, OnnxCausalLM, TextTemplateInput, TextTokenInput, type GradientDecoder, type LLMGradientMethodOptions, type TokenLike } from '../src/index.js';

const dir = fixtureDir;
const readJson = readFixtureJson;

interface LigCase {
  id: string;
  method: string;
  layer: { onnx: string };
  input: { type: 'TextTokenInput'; text: string; baselines: TokenLike | null; skipTokens: TokenLike[] | null; inputIds: number[] };
  target: string;
  skipTokens: TokenLike[] | null;
  targetIds: number[];
  options: { nSteps: number; method: 'gausslegendre' | 'riemann_trapezoid'; internal_batch_size?: number };
  expected: { inputTokens: string[]; outputTokens: string[]; seqAttr: number[]; tokenAttr: number[][] };
  reference: { targetLogProbs: number[]; targetProbs: number[]; baselineTargetLogProbs: number[]; modelForwardCalls: number };
  compare: string;
  tolerance: { atol: number; rtol: number };
}

const cases = (readJson('captum-cases.json') as { cases: LigCase[] }).cases.filter((c) => c.method === 'layer-integrated-gradients');
const tokenizer = new HfTokenizer(readJson('tokenizer.json') as object, readJson('tokenizer_config.json') as object);

function decoder(file: string, kind: GradientDecoder['kind'], inputNames: readonly string[], runtime: OrtModule = ort): GradientDecoder {
  return { ort: runtime, bytes: new Uint8Array(readFileSync(join(dir, 'onnx', file))), kind, inputNames };
}
const lm = decoder('model.onnx', 'no-cache', ['input_ids', 'attention_mask', 'position_ids']);
const lig = new LLMGradientAttribution(LayerIntegratedGradients, lm, tokenizer);
ortWeb.env.wasm.numThreads = 1;
const ligWeb = new LLMGradientAttribution(LayerIntegratedGradients, decoder('model.onnx', 'no-cache', ['input_ids', 'attention_mask', 'position_ids'], ortWeb as unknown as OrtModule), tokenizer);
afterAll(() => {
  lig.dispose();
  ligWeb.dispose();
});

function inputOf(c: LigCase): TextTokenInput {
  return new TextTokenInput(c.input.text, tokenizer, {
    ...(c.input.baselines !== null ? { baselines: c.input.baselines } : {}),
    ...(c.input.skipTokens ? { skipTokens: c.input.skipTokens } : {}),
  });
}

function optionsOf(c: LigCase): LLMGradientMethodOptions {
  return { nSteps: c.options.nSteps, method: c.options.method, ...(c.options.internal_batch_size ? { internalBatchSize: c.options.internal_batch_size } : {}) };
}


describe('LLMGradientAttribution matches Captum 0.8 (LayerIntegratedGradients, tiny-gpt, onnxruntime-node)', () => {
  it('finds the token embedding and covers the 5 exact cases', () => {
    expect(lig.layer).toBe('/wte/Gather_output_0');
    expect(cases.map((c) => c.layer.onnx)).toEqual(cases.map(() => lig.layer));
    expect(cases.filter((c) => c.compare === 'exact').length).toBe(5);
  });
  for (const c of cases) {
    it(c.id, async () => {
      const inp = inputOf(c);
      expect(inp.inputIds).toEqual(c.input.inputIds);
      expect(lig.targetIds(c.target, c.skipTokens ?? undefined)).toEqual(c.targetIds);
      const r = await lig.attribute(inp, c.target, { ...(c.skipTokens ? { skipTokens: c.skipTokens } : {}), methodOptions: optionsOf(c) });
      expect(r.inputTokens).toEqual(c.expected.inputTokens);
      expect(r.outputTokens).toEqual(c.expected.outputTokens);
      const tokenAttr = r.tokenAttr as number[][];
      let worst = closeToCaptum(r.seqAttr, c.expected.seqAttr, c);
      expect(tokenAttr.length).toBe(c.expected.tokenAttr.length);
      c.expected.tokenAttr.forEach((row, k) => (worst = Math.max(worst, closeToCaptum(tokenAttr[k] as number[], row, c))));
      // Captum's calls (per target token: activations at the input and at the baseline, then the path chunks),
      // and the pass that scores the unperturbed target.
      expect(r.modelCalls).toBe(c.reference.modelForwardCalls + 1);
      r.outputProbs.forEach((p, k) => expect(p).toBeCloseTo(c.reference.targetProbs[k] as number, 5));
      // Completeness: each row sums to about ℓ_k(x) − ℓ_k(x′). Within 5 % only, and for Gauss–Legendre only: Captum's
      // own rows miss it by up to 0.24 (2 %) with 50 Gauss–Legendre steps and by 0.49 (6.5 %) with 20 trapezoid
      // steps, whose weights sum to (n − 1)/n.
      if (c.options.method === 'gausslegendre') {
        tokenAttr.forEach((row, k) => {
          const sum = row.reduce((a, b) => a + b, 0);
          const gap = (c.reference.targetLogProbs[k] as number) - (c.reference.baselineTargetLogProbs[k] as number);
          expect(Math.abs(sum - gap)).toBeLessThan(5e-2 * Math.abs(gap));
        });
      }
      console.log(`${c.id}: worst |got - captum| = ${worst.toExponential(2)}`);
    });
  }
});

describe('LLMGradientAttribution matches Captum 0.8 on onnxruntime-web (wasm)', () => {
  for (const c of cases) {
    it(c.id, async () => {
      const r = await ligWeb.attribute(inputOf(c), c.target, { ...(c.skipTokens ? { skipTokens: c.skipTokens } : {}), methodOptions: optionsOf(c) });
      closeToCaptum(r.seqAttr, c.expected.seqAttr, c);
      c.expected.tokenAttr.forEach((row, k) => closeToCaptum((r.tokenAttr as number[][])[k] as number[], row, c));
    });
  }
});

describe('decoders with cache inputs (fed an empty past; the merged one runs its no-cache branch)', () => {
  const fr = cases.find((c) => c.id === 'fr-lig') as LigCase;
  const layouts = [
    { file: 'decoder_with_past_model.onnx', kind: 'with-past', layer: '/wte/Gather_output_0' },
    { file: 'decoder_model_merged.onnx', kind: 'merged', layer: 'no_past/wte/Gather_output_0' },
  ] as const;
  for (const { file, kind, layer } of layouts) {
    it(`${file} gives Captum's fr-lig numbers`, async () => {
      const llm = new LLMGradientAttribution(LayerIntegratedGradients, decoder(file, kind, []), tokenizer);
      try {
        expect(llm.layer).toBe(layer);
        const r = await llm.attribute(inputOf(fr), fr.target, { skipTokens: ['[BOS]'], methodOptions: optionsOf(fr) });
        closeToCaptum(r.seqAttr, fr.expected.seqAttr, fr);
        expect(r.outputProbs[0]).toBeCloseTo(fr.reference.targetProbs[0] as number, 5);
      } finally {
        llm.dispose();
      }
    });
  }
  it('takes an OnnxCausalLM', async () => {
    const causal = await OnnxCausalLM.load(ort, join(dir, 'onnx/decoder_model_merged.onnx'));
    const llm = new LLMGradientAttribution(LayerIntegratedGradients, causal, tokenizer);
    try {
      const r = await llm.attribute(inputOf(fr), fr.target, { skipTokens: ['[BOS]'], methodOptions: optionsOf(fr) });
      closeToCaptum(r.seqAttr, fr.expected.seqAttr, fr);
      // Without a target it generates with the decoder's cache: one call per new token, as the bare decoder's answer.
      const g = await llm.attribute(new TextTokenInput('copy : b d a =', tokenizer, { skipTokens: ['[BOS]'] }), undefined, { maxNewTokens: 3, methodOptions: { nSteps: 4 } });
      const bare = await lig.attribute(new TextTokenInput('copy : b d a =', tokenizer, { skipTokens: ['[BOS]'] }), undefined, { maxNewTokens: 3, methodOptions: { nSteps: 4 } });
      expect(g.outputTokens).toEqual(['b', 'd', 'a']);
      g.seqAttr.forEach((v, j) => expect(v).toBeCloseTo(bare.seqAttr[j] as number, 4));
    } finally {
      llm.dispose();
      causal.dispose();
    }
  });
  it('a kind that the graph contradicts', () => {
    expect(() => new LLMGradientAttribution(LayerIntegratedGradients, decoder('decoder_with_past_model.onnx', 'no-cache', []), tokenizer)).toThrow(ArgumentError);
  });
});

describe('other layer methods and generation', () => {
  const inp = new TextTokenInput('copy : b d a =', tokenizer, { skipTokens: ['[BOS]'] });
  it('LayerGradientXActivation gives one row per target token', async () => {
    const gxa = new LLMGradientAttribution(LayerGradientXActivation, lm, tokenizer);
    try {
      const r = await gxa.attribute(inp, 'b d a', { skipTokens: ['[BOS]'] });
      expect(r.tokenAttr?.length).toBe(3);
      expect(r.tokenAttr?.every((row) => row.length === 6 && row.every(Number.isFinite))).toBe(true);
    } finally {
      gxa.dispose();
    }
  });
  it('LayerGradientShap with an all-baseline reference runs', async () => {
    const shap = new LLMGradientAttribution(LayerGradientShap, lm, tokenizer);
    try {
      const r = await shap.attribute(inp, 'b d', {
        skipTokens: ['[BOS]'],
        methodOptions: { baselines: new HostTensor(new Float32Array(6), [1, 6], 'float32'), nSamples: 4, seed: 1 },
      });
      expect(r.tokenAttr?.length).toBe(2);
      expect(r.seqAttr.every(Number.isFinite)).toBe(true);
    } finally {
      shap.dispose();
    }
  });
  it('without a target, greedy generation (stopping at maxNewTokens or the EOS) is the target', async () => {
    const r = await lig.attribute(inp, undefined, { maxNewTokens: 3, methodOptions: { nSteps: 4 } });
    expect(r.outputTokens).toEqual(['b', 'd', 'a']);
    expect(r.tokenAttr?.length).toBe(3);
  });
});

describe('refuses bad input with typed errors', () => {
  const inp = new TextTokenInput('the capital of france is', tokenizer);
  it('a TextTemplateInput', async () => {
    const t = new TextTemplateInput('{} is', ['paris']);
    await expect(lig.attribute(t as unknown as TextTokenInput, 'paris')).rejects.toThrow(ArgumentError);
  });
  it('a quantized decoder (no gradient rule for its integer MatMuls): perturbation methods only', async () => {
    const q = await OnnxCausalLM.load(ort, join(dir, 'onnx/model_quantized.onnx'));
    try {
      const g = new LLMGradientAttribution(LayerIntegratedGradients, q, tokenizer);
      await expect(g.attribute(inp, 'paris', { skipTokens: ['[BOS]'] })).rejects.toThrow(UnsupportedOperatorError);
      g.dispose();
    } finally {
      q.dispose();
    }
  });
  it('an empty target', async () => {
    await expect(lig.attribute(inp, '[BOS]', { skipTokens: ['[BOS]'] })).rejects.toThrow(ArgumentError);
    await expect(lig.attribute(inp, [])).rejects.toThrow(ArgumentError);
  });
  it('a layer that does not exist', () => {
    expect(() => new LLMGradientAttribution(LayerIntegratedGradients, lm, tokenizer, { layer: '/wte/Gather_output' })).toThrow(ArgumentError);
  });
  it('a model without logits', async () => {
    const { proto } = await import('@attribution/onnx-grad');
    const m = proto.onnx.ModelProto.decode(lm.bytes);
    (m.graph as { output: { name: string }[] }).output[0]!.name = 'scores';
    const bytes = proto.onnx.ModelProto.encode(m).finish();
    expect(() => new LLMGradientAttribution(LayerIntegratedGradients, { ...lm, bytes }, tokenizer)).toThrow(ArgumentError);
  });
  it('a target option for the method, and generation options with a target', async () => {
    await expect(lig.attribute(inp, 'paris', { methodOptions: { target: 0 } })).rejects.toThrow(ArgumentError);
    await expect(lig.attribute(inp, 'paris', { maxNewTokens: 2 })).rejects.toThrow(ArgumentError);
  });
});
