// The browser page of the fresh project: @attribution/onnx and @attribution/text on onnxruntime-web, models
// fetched from the page's folder. consumer.sh bundles it with Vite (no `node:` import may reach the bundle) and
// opens it in Chromium, which must show {"ok":true,…} in #out.
import * as ort from 'onnxruntime-web/wasm';
import wasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.wasm?url';
import { fromOnnx, tensor } from '@attribution/onnx';
import { FeatureAblation, IntegratedGradients } from '@attribution/primary';
import { LLMAttribution, TextTokenInput, loadTextModel } from '@attribution/text';

ort.env.wasm.wasmPaths = { wasm: wasmUrl };
ort.env.wasm.numThreads = 1;

const out = document.querySelector('#out') as HTMLElement;

async function main(): Promise<Record<string, unknown>> {
  const model = await fromOnnx(ort, new URL('breast_cancer.onnx', location.href));
  let ig: number[];
  try {
    const x = tensor(Float32Array.from({ length: 30 }, (_, i) => Math.sin(i + 1)), [1, 30]);
    const { attributions } = await new IntegratedGradients(model).attribute(x, { baselines: 0, target: 1, nSteps: 64 });
    ig = Array.from(await model.backend.data(attributions), Number);
  } finally {
    model.dispose();
  }
  const { tokenizer, lm, dispose } = await loadTextModel(ort, new URL('tiny-gpt/', location.href), { modelFile: 'model' });
  try {
    const inp = new TextTokenInput('the capital of france is', tokenizer, { skipTokens: ['[BOS]'] });
    const r = await new LLMAttribution(FeatureAblation, lm, tokenizer).attribute(inp, 'paris', { skipTokens: ['[BOS]'] });
    return { ok: true, ig, inputTokens: r.inputTokens, seqAttr: r.seqAttr };
  } finally {
    dispose();
  }
}

main().then(
  (result) => (out.textContent = JSON.stringify(result)),
  (e: unknown) => (out.textContent = JSON.stringify({ ok: false, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) })),
);
