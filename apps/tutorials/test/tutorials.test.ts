import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main as image } from '../src/image-classification.js';
import { main as tabular } from '../src/tabular.js';
import { main as text, type ExplainedText } from '../src/text-classification.js';
import { docsOutDir, files } from '../src/data.js';

// Each tutorial runs end to end into a temporary folder; the checks are the claims its docs page makes.
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'attribution-tutorials-'));
afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

// Every file a tutorial writes is also committed in docs/public/tutorials, where its page shows it. SVG and
// HTML must match up to the numbers in them (another CPU may round differently); PNGs must exist.
const NUMBER = /-?\d+(?:\.\d+)?(?:e-?\d+)?/g;
const written = (names: readonly string[]): void => {
  for (const name of names) {
    expect(fs.statSync(path.join(out, name)).size, name).toBeGreaterThan(100);
    const committed = path.join(docsOutDir, name);
    expect(fs.existsSync(committed), `${name} is committed in docs/public/tutorials (node apps/tutorials/dist/<script>.js writes it)`).toBe(true);
    if (!name.endsWith('.png')) {
      const shape = (file: string): string => fs.readFileSync(file, 'utf8').replace(NUMBER, '#');
      expect(shape(path.join(out, name)), name).toBe(shape(committed));
    }
  }
};

describe('tutorials', () => {
  it('offer the models they use for download, as committed in the repository', () => {
    const downloads: Record<string, string> = {
      'digits_cnn.onnx': files.digitsModel,
      'digits_cnn.samples.json': files.digitsSamples,
      'sentiment.onnx': files.sentimentModel,
      'sentiment.vocab.json': files.sentimentVocab,
      'tiny_bert.onnx': files.bertModel,
      'breast_cancer.onnx': files.cancerModel,
      'breast_cancer.samples.json': files.cancerSamples,
    };
    for (const [name, source] of Object.entries(downloads)) expect(fs.readFileSync(path.join(docsOutDir, name)).equals(fs.readFileSync(source)), name).toBe(true);
  });

  it('image classification: digits CNN', async () => {
    const r = await image(out);
    expect(r.predicted).toBe(3);
    expect(r.probability).toBeGreaterThan(0.99);
    // Completeness: Σ IG ≈ F(x) − F(baseline), for both baselines.
    expect(Math.abs(r.ig.delta)).toBeLessThan(0.01 * Math.abs(r.ig.logitChange));
    expect(r.ig.sum).toBeCloseTo(r.ig.logitChange, 1);
    expect(Math.abs(r.igMeanBaseline.delta)).toBeLessThan(0.01 * Math.abs(r.igMeanBaseline.logitChange));
    // IG explains the logit's response to removed pixels best, and its ranking beats a random one.
    expect(r.infidelity.IntegratedGradients).toBeLessThan(r.infidelity.Saliency!);
    expect(r.deletionAuc.IntegratedGradients).toBeLessThan(r.deletionAuc.Saliency!);
    expect(r.deletionAuc.Occlusion).toBeLessThan(r.deletionAuc.random!);
    expect(r.files).toHaveLength(7);
    written(r.files);
  });

  it('text classification: sentiment classifier and tiny BERT', async () => {
    const r = await text(out);
    const [brilliant, notGood, boring, notBad] = r.reviews as [ExplainedText, ExplainedText, ExplainedText, ExplainedText];
    expect(r.reviews.map((e) => e.predicted)).toEqual(['positive', 'negative', 'positive', 'positive']);
    const top = (e: ExplainedText): string => e.tokens[e.tokenAttributions.indexOf(Math.max(...e.tokenAttributions))]!;
    const bottom = (e: ExplainedText): string => e.tokens[e.tokenAttributions.indexOf(Math.min(...e.tokenAttributions))]!;
    expect(top(brilliant)).toBe('brilliant');
    expect(bottom(notGood)).toBe('not');
    expect(top(boring)).toBe('boring'); // the model's mistake: "boring" in 6th place only followed "not very" in training
    expect(top(notBad)).toBe('not');
    for (const e of [...r.reviews, ...r.transformer]) {
      expect(Math.abs(e.delta)).toBeLessThan(1e-4);
      // Padding embeds exactly like the all-padding baseline: no attribution.
      e.tokens.forEach((w, t) => {
        if (w === '<pad>' || w === '[PAD]') expect(e.tokenAttributions[t]).toBe(0);
      });
    }
    written(r.files);
    expect(fs.readFileSync(path.join(out, 'sentiment.html'), 'utf8')).toContain('brilliant');
  });

  it('tabular: breast-cancer MLP', async () => {
    const r = await tabular(out);
    expect(r.patient).toEqual({ predicted: 'malignant', probability: expect.closeTo(0.883, 2), truth: 'malignant' });
    expect(r.accuracy).toBe(0.95);
    // Shapley methods are efficient: the attributions add up to F(x) − F(baseline).
    expect(r.sums.KernelShap).toBeCloseTo(r.logit - r.baselineLogit, 2);
    expect(r.sums.ShapleyValueSampling).toBeCloseTo(r.logit - r.baselineLogit, 2);
    expect(r.agreement).toBeGreaterThan(0.95);
    expect(r.top.KernelShap!.slice(0, 2)).toEqual(['worst symmetry', 'worst smoothness']);
    expect(r.top.ShapleyValueSampling!.slice(0, 2)).toEqual(['worst symmetry', 'worst smoothness']);
    expect(Object.keys(r.groups)).toEqual(['size', 'texture', 'smoothness', 'shape', 'symmetry', 'fractal dimension']);
    expect(r.globalTop.slice(0, 2)).toEqual(['worst radius', 'worst concave points']);
    expect(r.files).toHaveLength(4);
    written(r.files);
  });
});
