// Tutorial: explaining a text classifier (docs/tutorials/text-classification.md).
// Run after `pnpm build`: node apps/tutorials/dist/text-classification.js [outDir]
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { LayerIntegratedGradients } from '@attribution/layer';
import { fromOnnx, tensor, type OnnxTensor } from '@attribution/onnx';
import { textHtml, type VisualizationDataRecord } from '@attribution/visualize';
import { docsOutDir, files, isMain, readJson, round } from './data.js';

/** One explained review: its tokens, prediction, per-token attributions and convergence delta. */
export interface ExplainedText {
  readonly tokens: string[];
  readonly predicted: string;
  readonly probability: number;
  readonly tokenAttributions: number[];
  readonly sum: number;
  readonly delta: number;
}

/** The numbers the tutorial shows. */
export interface TextTutorialResult {
  readonly reviews: ExplainedText[];
  readonly transformer: ExplainedText[];
  readonly files: string[];
}

const values = (t: OnnxTensor): number[] => Array.from(t.data as Float32Array);
const sum = (v: readonly number[]): number => v.reduce((a, b) => a + b, 0);

/**
 * Sums `[N, seq, dim]` layer attributions over the embedding dimension: one score per token, `[N][seq]`.
 */
function perToken(attributions: OnnxTensor): number[][] {
  const [n, seq, dim] = attributions.dims as [number, number, number];
  const v = values(attributions);
  return Array.from({ length: n }, (_, i) => Array.from({ length: seq }, (_, t) => sum(v.slice((i * seq + t) * dim, (i * seq + t + 1) * dim))));
}

/** Softmax of each row of `[N, C]` logits. */
function softmax(logits: OnnxTensor): number[][] {
  const [n, c] = logits.dims as [number, number];
  const v = values(logits);
  return Array.from({ length: n }, (_, i) => {
    const row = v.slice(i * c, (i + 1) * c);
    const e = row.map((z) => Math.exp(z - Math.max(...row)));
    return e.map((z) => z / sum(e));
  });
}

export async function main(outDir = docsOutDir): Promise<TextTutorialResult> {
  // 1. The model: a small sentiment classifier trained on template movie reviews (an embedding of 16 values
  //    per token, a tanh layer and a linear head; 100% test accuracy). Input ids int64 [N, 8], logits [N, 2].
  const { vocab, seq, labels } = readJson<{ vocab: string[]; seq: number; labels: string[] }>(files.sentimentVocab);
  const model = await fromOnnx(ort, files.sentimentModel, { labels });

  // 2. Tokenization: the model's vocabulary is 31 lowercase words and the padding token <pad> (id 0).
  //    Split on spaces, look every word up, pad to 8 tokens.
  const tokenize = (review: string): string[] => {
    const words = review.toLowerCase().split(/\s+/).filter(Boolean);
    for (const w of words) if (!vocab.includes(w)) throw new Error(`'${w}' is not in the vocabulary`);
    return [...words, ...new Array<string>(seq - words.length).fill('<pad>')];
  };
  const reviews = ['the acting was really brilliant', 'the plot was not good', 'the movie was a bit boring', 'the ending was not bad'];
  const tokens = reviews.map(tokenize);
  const ids = tensor(BigInt64Array.from(tokens.flat(), (w) => BigInt(vocab.indexOf(w))), [reviews.length, seq]);

  // 3. Prediction.
  const { output } = await model.forward({ inputs: [ids] });
  const probabilities = softmax(output as OnnxTensor);

  // 4. Layer Integrated Gradients on the embedding output /emb/Gather_output_0 [N, 8, 16], for "positive",
  //    from an all-padding review: ids are integers, so the path runs between the two embeddings.
  const padding = tensor(new BigInt64Array(seq), [1, seq]);
  const lig = new LayerIntegratedGradients(model, '/emb/Gather_output_0');
  const { attributions, delta } = await lig.attribute(ids, { baselines: padding, target: 'positive', nSteps: 50, returnConvergenceDelta: true });
  const scores = perToken(attributions as OnnxTensor);
  const deltas = values(delta!);

  const explained = tokens.map((words, i): ExplainedText => {
    const p = probabilities[i]!;
    const best = p.indexOf(Math.max(...p));
    return {
      tokens: words,
      predicted: labels[best]!,
      probability: round(p[best]!),
      tokenAttributions: scores[i]!.map((v) => round(v)),
      sum: round(sum(scores[i]!)),
      delta: deltas[i]!,
    };
  });
  for (const e of explained) {
    console.log(`${e.tokens.filter((w) => w !== '<pad>').join(' ')} → ${e.predicted} (${e.probability.toFixed(2)}); Σ ${e.sum.toFixed(3)}, delta ${e.delta.toExponential(1)}`);
    console.log('  ', e.tokens.map((w, t) => `${w} ${e.tokenAttributions[t]!.toFixed(3)}`).join(', '));
  }

  // 5. Captum's word highlighting: green for "positive", red against. The scores are normalised per review.
  const truth = ['positive', 'negative', 'negative', 'positive'];
  const records: VisualizationDataRecord[] = explained.map((e, i) => {
    const norm = Math.hypot(...scores[i]!) || 1;
    return {
      wordAttributions: scores[i]!.map((v) => v / norm),
      predProb: e.probability,
      predClass: e.predicted,
      trueClass: truth[i]!,
      attrClass: 'positive',
      attrScore: e.sum,
      rawInputIds: e.tokens,
      convergenceScore: e.delta,
    };
  });
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, 'sentiment.html'), textHtml(records, { title: 'Layer Integrated Gradients, sentiment classifier' }));
  model.dispose();

  // 6. The same on a transformer: a 2-layer BERT-style encoder (token and position embeddings, self-attention,
  //    a 3-class head on the first token). Its weights are untrained and it has no tokenizer, so the ids below
  //    are made up by hand and the attributions only show the mechanics, not what any text means.
  const bert = await fromOnnx(ort, files.bertModel);
  const bertIds = [
    [23, 53, 21, 8, 65, 51, 55, 29, 0, 0, 0, 0],
    [40, 69, 60, 15, 59, 72, 78, 4, 12, 33, 0, 0],
  ];
  const bertTokens = bertIds.map((row) => row.map((id) => (id === 0 ? '[PAD]' : `#${id}`)));
  const x = tensor(BigInt64Array.from(bertIds.flat(), BigInt), [2, 12]);
  const padIds = tensor(new BigInt64Array(12), [1, 12]);
  const text = await new LayerIntegratedGradients(bert, '/tok/Gather_output_0').attribute(x, { baselines: padIds, target: 1, returnConvergenceDelta: true });
  const bertScores = perToken(text.attributions as OnnxTensor);
  const bertDeltas = values(text.delta!);
  const bertProbabilities = softmax((await bert.forward({ inputs: [x] })).output as OnnxTensor);
  const transformer = bertTokens.map((words, i): ExplainedText => {
    const p = bertProbabilities[i]!;
    const best = p.indexOf(Math.max(...p));
    return { tokens: words, predicted: String(best), probability: round(p[best]!), tokenAttributions: bertScores[i]!.map((v) => round(v)), sum: round(sum(bertScores[i]!)), delta: bertDeltas[i]! };
  });
  fs.writeFileSync(
    path.join(outDir, 'transformer.html'),
    textHtml(
      transformer.map((e, i) => ({
        wordAttributions: bertScores[i]!.map((v) => v / (Math.hypot(...bertScores[i]!) || 1)),
        predProb: e.probability,
        predClass: e.predicted,
        trueClass: '–',
        attrClass: '1',
        attrScore: e.sum,
        rawInputIds: e.tokens,
        convergenceScore: e.delta,
      })),
      { title: 'Layer Integrated Gradients, untrained tiny BERT' },
    ),
  );
  for (const e of transformer) console.log(`transformer: ${e.tokens.map((w, t) => `${w} ${e.tokenAttributions[t]!.toFixed(3)}`).join(', ')}; Σ ${e.sum.toFixed(3)}, delta ${e.delta.toExponential(1)}`);
  bert.dispose();

  return { reviews: explained, transformer, files: ['sentiment.html', 'transformer.html'] };
}

if (isMain(import.meta.url)) await main(process.argv[2]);
