import { mkdtempSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync, cpSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrtModule } from '@attribution/onnx';
import { FeatureAblation, ShapleyValues } from '@attribution/primary';
import { ArgumentError } from '@attribution/tensor';
import { LLMAttribution, TextTemplateInput, TextTokenInput, greedyGenerate, loadTextModel, type TextModel } from '../src/index.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/tiny-gpt');
interface Case {
  id: string;
  expected: { seqAttr: number[]; tokenAttr: number[][] };
  tolerance: { atol: number; rtol: number };
}
const cases = (JSON.parse(readFileSync(join(dir, 'captum-cases.json'), 'utf8')) as { cases: Case[] }).cases;
const caseOf = (id: string): Case => cases.find((c) => c.id === id) as Case;

ortWeb.env.wasm.numThreads = 1;
const runtimes: readonly (readonly [string, OrtModule])[] = [
  ['onnxruntime-node', ortNode as unknown as OrtModule],
  ['onnxruntime-web', ortWeb as unknown as OrtModule],
];
const FILES = [
  ['model', 'no-cache'],
  ['decoder_with_past_model', 'with-past'],
  ['decoder_model_merged', 'merged'],
] as const;

function expectCase(got: { seqAttr: readonly number[]; tokenAttr: readonly (readonly number[])[] | null }, c: Case): void {
  const within = (g: readonly number[], w: readonly number[]): void => {
    expect(g.length).toBe(w.length);
    w.forEach((x, j) => expect(Math.abs((g[j] as number) - x), `${c.id}[${j}]`).toBeLessThanOrEqual(c.tolerance.atol + c.tolerance.rtol * Math.abs(x)));
  };
  within(got.seqAttr, c.expected.seqAttr);
  c.expected.tokenAttr.forEach((row, k) => within(got.tokenAttr?.[k] as number[], row));
}

for (const [runtime, ort] of runtimes) {
  describe(`tiny-gpt folder on ${runtime}`, () => {
    for (const [file, kind] of FILES) {
      describe(file, () => {
        let m: TextModel;
        beforeAll(async () => {
          m = await loadTextModel(ort, dir, { modelFile: file });
        });
        afterAll(() => m.dispose());

        it(`is a ${kind} decoder`, () => {
          expect(m.lm.kind).toBe(kind);
          expect(m.modelFile).toBe(`onnx/${file}.onnx`);
          expect(m.config.model_type).toBe('gpt2');
        });

        it('FeatureAblation on prompt tokens matches Captum (copy-fa-logprob)', async () => {
          const llm = new LLMAttribution(FeatureAblation, m.lm, m.tokenizer);
          const r = await llm.attribute(new TextTokenInput('copy : b d a =', m.tokenizer, { skipTokens: ['[BOS]'] }), 'b d a', { skipTokens: ['[BOS]'] });
          expectCase(r, caseOf('copy-fa-logprob'));
        });

        it('ShapleyValues on a left-padded batch of templates matches Captum (tpl-copy-sv)', async () => {
          const llm = new LLMAttribution(ShapleyValues, m.lm, m.tokenizer);
          const t = new TextTemplateInput('copy : {} {} {} =', ['c', 'e', 'g'], { baselines: ['a', 'a', 'a'] });
          expectCase(await llm.attribute(t, 'c e g', { skipTokens: ['[BOS]'] }), caseOf('tpl-copy-sv'));
        });

        it('greedy generation answers the facts it was trained on', async () => {
          const gen = async (text: string): Promise<string> => m.tokenizer.decode(await greedyGenerate(m.lm, m.tokenizer.encode(text), 6, m.tokenizer.eosTokenId), { skipSpecialTokens: true });
          expect(await gen('the capital of france is')).toBe('paris');
          expect(await gen('copy : c a b d =')).toBe('c a b d');
        });
      });
    }
  });
}

describe('greedy generation with a key/value cache', () => {
  it('gives the no-cache answer in one-token steps (with-past and merged) and counts its calls', async () => {
    const plain = await loadTextModel(ortNode as unknown as OrtModule, dir);
    const cached = await loadTextModel(ortNode as unknown as OrtModule, dir, { modelFile: 'decoder_model_merged' });
    try {
      expect(plain.modelFile).toBe('onnx/model.onnx');
      for (const m of [plain, cached]) {
        const llm = new LLMAttribution(FeatureAblation, m.lm, m.tokenizer);
        const r = await llm.attribute(new TextTokenInput('copy : b d a =', m.tokenizer), undefined, { maxNewTokens: 10 });
        expect(r.outputTokens).toEqual(['b', 'd', 'a', '[EOS]']);
        // 4 generation steps, the prompt (FeatureAblation's first evaluation), then its 7 ablations in one batch.
        expect(r.modelCalls).toBe(6);
      }
      // The cached step feeds one token: its logits equal the full pass's last position.
      const ids = plain.tokenizer.encode('the capital of japan is');
      const first = await cached.lm.step(ids.slice(0, -1), null);
      const next = await cached.lm.step(ids.slice(-1), first.cache);
      expect(next.cache.length).toBe(ids.length);
      const full = await plain.lm.logits([ids]);
      const V = full.vocabSize;
      const last = full.data.slice((ids.length - 1) * V, ids.length * V);
      last.forEach((v, i) => expect(next.logits[i]).toBeCloseTo(v, 4));
    } finally {
      plain.dispose();
      cached.dispose();
    }
  });
});

describe('a quantized decoder (int8 MatMulInteger weights, fixtures/quantize.py)', () => {
  for (const [runtime, ort] of runtimes) {
    it(`loads with quantized: true, answers, and attributes close to the float model (${runtime})`, async () => {
      const q = await loadTextModel(ort, dir, { quantized: true });
      try {
        expect(q.modelFile).toBe('onnx/model_quantized.onnx');
        const ids = await greedyGenerate(q.lm, q.tokenizer.encode('the capital of france is'), 4, q.tokenizer.eosTokenId);
        expect(q.tokenizer.convertIdsToTokens(ids)).toEqual(['paris', '[EOS]']);
        const llm = new LLMAttribution(FeatureAblation, q.lm, q.tokenizer);
        const r = await llm.attribute(new TextTokenInput('copy : b d a =', q.tokenizer, { skipTokens: ['[BOS]'] }), 'b d a', { skipTokens: ['[BOS]'] });
        const want = caseOf('copy-fa-logprob').expected.seqAttr;
        // Not equal (8-bit weights), but the same picture: within 10 % of the largest attribution.
        const scale = Math.max(...want.map(Math.abs));
        want.forEach((w, j) => expect(Math.abs((r.seqAttr[j] as number) - w)).toBeLessThan(0.1 * scale));
        expect(r.seqAttr).not.toEqual(want);
      } finally {
        q.dispose();
      }
    });
  }
});

describe('loadTextModel sources', () => {
  const ort = ortNode as unknown as OrtModule;
  const files = (): Record<string, Uint8Array> => {
    const out: Record<string, Uint8Array> = {};
    const walk = (d: string): void => {
      for (const f of readdirSync(d)) {
        const p = join(d, f);
        if (statSync(p).isDirectory()) walk(p);
        else out[`tiny-gpt/${relative(dir, p)}`] = new Uint8Array(readFileSync(p));
      }
    };
    walk(dir);
    return out;
  };
  const check = async (m: TextModel): Promise<void> => {
    try {
      const llm = new LLMAttribution(FeatureAblation, m.lm, m.tokenizer);
      const r = await llm.attribute(new TextTokenInput('copy : b d a =', m.tokenizer, { skipTokens: ['[BOS]'] }), 'b d a', { skipTokens: ['[BOS]'] });
      expectCase(r, caseOf('copy-fa-logprob'));
    } finally {
      m.dispose();
    }
  };

  it('a file: URL', async () => check(await loadTextModel(ort, pathToFileURL(dir))));
  it('a record of files with a leading folder name (as a browser folder upload gives them)', async () => check(await loadTextModel(ort, files())));
  it('File objects with webkitRelativePath', async () => {
    const list = Object.entries(files()).map(([name, bytes]) => {
      const f = new File([bytes.slice().buffer], name.split('/').pop() as string);
      Object.defineProperty(f, 'webkitRelativePath', { value: name });
      return f;
    });
    await check(await loadTextModel(ort, list));
  });

  describe('over HTTP (the browser path)', () => {
    let server: Server;
    let base: string;
    const requested: string[] = [];
    beforeAll(async () => {
      server = createServer((req, res) => {
        const path = decodeURIComponent(new URL(req.url as string, 'http://x').pathname);
        requested.push(path);
        try {
          const body = readFileSync(join(dir, '..', path));
          res.writeHead(200).end(body);
        } catch {
          res.writeHead(404).end();
        }
      });
      await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
      base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    });
    afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

    it('loads from a URL and picks onnx/model.onnx first', async () => {
      await check(await loadTextModel(ort, `${base}/tiny-gpt`));
      expect(requested).toContain('/tiny-gpt/onnx/model.onnx');
      expect(requested).not.toContain('/tiny-gpt/onnx/decoder_model_merged.onnx');
    });
    it('a server error is a typed error naming the URL', async () => {
      await expect(loadTextModel(ort, `${base}/%2e%2e/%00`)).rejects.toThrow(ArgumentError);
    });
  });

  describe('typed errors', () => {
    const folder = (setup: (d: string) => void): string => {
      const d = mkdtempSync(join(tmpdir(), 'attr-text-'));
      setup(d);
      return d;
    };
    it('a folder without tokenizer.json', async () => {
      const d = folder((f) => cpSync(join(dir, 'onnx'), join(f, 'onnx'), { recursive: true }));
      await expect(loadTextModel(ort, d)).rejects.toThrow(/tokenizer\.json/);
      await expect(loadTextModel(ort, d)).rejects.toBeInstanceOf(ArgumentError);
    });
    it('a folder without a model', async () => {
      const d = folder((f) => writeFileSync(join(f, 'tokenizer.json'), readFileSync(join(dir, 'tokenizer.json'))));
      await expect(loadTextModel(ort, d)).rejects.toThrow(/onnx\/model\.onnx, onnx\/decoder_model_merged\.onnx, onnx\/decoder_with_past_model\.onnx, model\.onnx/);
      await expect(loadTextModel(ort, d, { quantized: true })).rejects.toThrow(/model_quantized\.onnx/);
    });
    it('a model without logits', async () => {
      const d = folder((f) => {
        writeFileSync(join(f, 'tokenizer.json'), readFileSync(join(dir, 'tokenizer.json')));
        mkdirSync(join(f, 'onnx'));
        // Renaming the output in the protobuf's strings keeps the file valid ("logits" and "scores" have one length).
        const bytes = Buffer.from(readFileSync(join(dir, 'onnx/model.onnx')).toString('latin1').replaceAll('logits', 'scores'), 'latin1');
        writeFileSync(join(f, 'onnx/model.onnx'), bytes);
      });
      await expect(loadTextModel(ort, d)).rejects.toThrow(/`logits` output/);
    });
    it('an invalid tokenizer.json, a bad source, a bad ort', async () => {
      const d = folder((f) => writeFileSync(join(f, 'tokenizer.json'), '{ not json'));
      await expect(loadTextModel(ort, d)).rejects.toThrow(/a valid tokenizer\.json/);
      await expect(loadTextModel(ort, 42 as unknown as string)).rejects.toThrow(ArgumentError);
      await expect(loadTextModel({} as OrtModule, dir)).rejects.toThrow(/onnxruntime/);
    });
  });
});
