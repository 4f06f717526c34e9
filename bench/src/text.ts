import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import type { OrtModule } from '@attribution/onnx';
import { LayerIntegratedGradients } from '@attribution/layer';
import { FeatureAblation } from '@attribution/primary';
import { LLMAttribution, LLMGradientAttribution, TextTokenInput, loadTextModel } from '@attribution/text';
import { peakRssMb, round, type BenchRecord } from './record.js';
import { median } from './stats.js';

const FOLDER = fileURLToPath(new URL('../../packages/text/fixtures/tiny-gpt', import.meta.url));

/** 31 words of the fixture's vocabulary (no unknown word): with [BOS], a 32-token prompt. */
const PROMPT = 'the capital of france is paris the capital of japan is tokyo hot is the opposite of cold 2 plus 3 is five copy : b d a = b d';
const TARGET = 'a the capital of peru is lima copy';

/**
 * Captum's LLMAttribution with FeatureAblation on the fixture decoder (tiny-gpt, onnxruntime-node): a 32-token
 * prompt (31 features), an 8-token target. Each perturbed prompt is scored in one teacher-forced pass over
 * prompt + target (every position's keys and values computed once, what a key/value cache gives) against
 * Captum's uncached path (one pass per target token over the whole prefix), with one prompt per model call and
 * with 16.
 */
export async function textAttribution(runs: number): Promise<BenchRecord[]> {
  const m = await loadTextModel(ort as unknown as OrtModule, FOLDER);
  const records: BenchRecord[] = [];
  try {
    const inp = new TextTokenInput(PROMPT, m.tokenizer, { skipTokens: ['[BOS]'] });
    if (inp.inputIds.length !== 32 || inp.inputIds.includes(0)) throw new Error(`the bench prompt has ${inp.inputIds.length} tokens (not 32) or unknown words`);
    const llm = new LLMAttribution(FeatureAblation, m.lm, m.tokenizer);
    const target = llm.targetIds(TARGET, ['[BOS]']);
    if (target.length !== 8) throw new Error(`the bench target has ${target.length} tokens, not 8`);
    for (const batchSize of [1, 16]) {
      const time = async (useCachedOutputs: boolean): Promise<{ ms: number; calls: number }> => {
        const times: number[] = [];
        let calls = 0;
        for (let i = 0; i < runs + 1; i++) {
          const t = performance.now();
          const r = await llm.attribute(inp, target, { batchSize, useCachedOutputs });
          if (i > 0) times.push(performance.now() - t);
          calls = r.modelCalls;
        }
        return { ms: median(times), calls };
      };
      // Interleaved per batch size so both paths see the same machine.
      const cached = await time(true);
      const uncached = await time(false);
      records.push({
        suite: 'text',
        backend: 'onnxruntime-node',
        model: 'tiny-gpt (2 layers, width 64), prompt 32 tokens, target 8',
        method: 'LLMAttribution FeatureAblation',
        options: { batchSize, useCachedOutputs: true, modelCalls: cached.calls, uncachedModelCalls: uncached.calls },
        medianMs: round(cached.ms),
        reference: 'the same attribution recomputing every prefix (useCachedOutputs: false)',
        referenceMs: round(uncached.ms),
        ratio: round(cached.ms / uncached.ms, 3),
        target: '≤ 0.33 (cache at least 3× faster)',
        peakRssMb: peakRssMb(),
        runs,
      });
      const r = records[records.length - 1] as BenchRecord;
      console.log(`text FA batch ${batchSize}: cached ${r.medianMs} ms (${cached.calls} calls), uncached ${r.referenceMs} ms (${uncached.calls} calls), ratio ${r.ratio}`);
    }
    // LayerIntegratedGradients on the token embedding, 50 Gauss-Legendre steps: per target token one forward and
    // backward pass over 50 interpolated rows (and two plain passes for the layer's input and baseline values).
    const lig = new LLMGradientAttribution(LayerIntegratedGradients, m.lm, m.tokenizer);
    try {
      const times: number[] = [];
      let calls = 0;
      for (let i = 0; i < Math.max(2, Math.min(runs, 3)) + 1; i++) {
        const t = performance.now();
        const r = await lig.attribute(inp, target, { methodOptions: { nSteps: 50 } });
        if (i > 0) times.push(performance.now() - t);
        calls = r.modelCalls;
      }
      const fa = records[records.length - 1] as BenchRecord;
      records.push({
        suite: 'text',
        backend: 'onnxruntime-node',
        model: 'tiny-gpt (2 layers, width 64), prompt 32 tokens, target 8',
        method: 'LLMGradientAttribution LayerIntegratedGradients',
        options: { nSteps: 50, method: 'gausslegendre', modelCalls: calls },
        medianMs: round(median(times)),
        reference: 'FeatureAblation of the same prompt and target (batch 16, one pass per prompt)',
        referenceMs: fa.medianMs,
        ratio: round(median(times) / fa.medianMs, 2),
        peakRssMb: peakRssMb(),
        runs: times.length,
      });
      console.log(`text LayerIG 50 steps: ${round(median(times))} ms (${calls} model calls)`);
    } finally {
      lig.dispose();
    }
  } finally {
    m.dispose();
  }
  return records;
}
