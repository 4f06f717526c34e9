import { readFile } from 'node:fs/promises';
import { interpolate } from '@attribution/core';
import { hostBackend, type HostTensor, type OnnxModel } from '@attribution/onnx';
import { ArgumentError, toNumbers } from '@attribution/tensor';
import {
  IMAGE_METHODS,
  LAYOUTS,
  SIGNS,
  barChartSvg,
  encodePng,
  figure,
  grid,
  textHtml,
  visualizeImageAttr,
  type ImageMethod,
  type Layout,
  type Sign,
} from '@attribution/visualize';
import { writeAtomic } from './output.js';

/** The picture options of `attribution explain`. */
export interface PictureOptions {
  heatmap?: string;
  heatmapMethod?: string;
  sign?: string;
  layout?: string;
  plot?: string;
  featureNames?: string;
  html?: string;
  tokens?: string;
  trueLabel?: string;
  classNames?: string;
  example?: string;
}

const choice = <C extends string>(argument: string, value: string | undefined, choices: readonly C[], fallback: C): C => {
  if (value === undefined) return fallback;
  if (!choices.includes(value as C)) throw new ArgumentError(argument, `one of ${choices.join(', ')}`, `'${value}'`);
  return value as C;
};

async function readJson(file: string, argument: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as unknown;
  } catch (e) {
    throw new ArgumentError(argument, 'a readable JSON file', `'${file}' (${(e as Error).message})`);
  }
}

/** Values of example `i` of a tensor `[N, …]`. */
function rowOf(t: HostTensor, i: number): number[] {
  const per = t.dims.slice(1).reduce((a, d) => a * d, 1);
  return Array.from(toNumbers(t.data).subarray(i * per, (i + 1) * per));
}

function exampleIndex(text: string | undefined, n: number): number {
  if (text === undefined) return 0;
  const k = Number(text);
  if (!Number.isInteger(k) || k < 0 || k >= n) throw new ArgumentError('--example', `an example index in [0, ${n})`, `'${text}'`);
  return k;
}

/**
 * `--heatmap`: the attribution of the first input drawn with Captum's `visualize_image_attr` (one panel per
 * example, side by side), as PNG. Layer maps at a lower resolution (Grad-CAM) are first resized to the input.
 */
export async function writeHeatmap(file: string, input: HostTensor, attribution: HostTensor, o: PictureOptions): Promise<void> {
  const method = choice<ImageMethod>('--heatmap-method', o.heatmapMethod, IMAGE_METHODS, 'heat_map');
  const sign = choice<Sign>('--sign', o.sign, SIGNS, 'absolute_value');
  const layout = choice<Layout>('--layout', o.layout, LAYOUTS, 'chw');
  const inputShape = input.dims;
  if (inputShape.length !== 4) throw new ArgumentError('--heatmap', 'an image input of shape [N, C, H, W] or [N, H, W, C]', `an input of shape [${inputShape.join(', ')}]`);
  const spatial = layout === 'chw' ? inputShape.slice(2) : inputShape.slice(1, 3);
  let attr = attribution;
  const attrSpatial = layout === 'chw' ? attr.dims.slice(2) : attr.dims.slice(1, 3);
  if (attr.dims.length === 4 && attrSpatial.join() !== spatial.join()) {
    attr = (await interpolate(hostBackend, attr, spatial, 'bilinear', layout === 'chw' ? 1 : -1)) as HostTensor;
  }
  if (attr.dims.length !== 4 || (layout === 'chw' ? attr.dims.slice(2) : attr.dims.slice(1, 3)).join() !== spatial.join()) {
    throw new ArgumentError('--heatmap', `attributions of shape [N, C, ${spatial.join(', ')}] (${layout})`, `[${attr.dims.join(', ')}]`);
  }
  const n = inputShape[0] as number;
  const image = grid(toNumbers(input.data), inputShape);
  const map = grid(toNumbers(attr.data), attr.dims);
  const panels = Array.from({ length: n }, (_, i) => ({
    image: visualizeImageAttr(map, { method, sign, layout, batchIndex: i, ...(method === 'heat_map' ? {} : { originalImage: image }) }),
  }));
  const size = Math.max(...spatial);
  writeAtomic(file, encodePng(figure(panels, { scale: Math.max(1, Math.ceil(160 / size)) })), { argument: '--heatmap' });
}

/** `--plot`: one example's attributions (all inputs, flattened) as an SVG bar chart of the 20 largest. */
export async function writePlot(file: string, attributions: readonly HostTensor[], inputNames: readonly string[], o: PictureOptions): Promise<void> {
  const n = attributions[0]?.dims[0] ?? 0;
  const k = exampleIndex(o.example, n);
  const values = attributions.flatMap((a) => rowOf(a, k));
  let names: string[];
  if (o.featureNames) {
    const json = await readJson(o.featureNames, '--feature-names');
    if (!Array.isArray(json) || !json.every((s) => typeof s === 'string') || json.length !== values.length) {
      throw new ArgumentError('--feature-names', `a JSON array of ${values.length} strings (one per feature)`, `'${o.featureNames}'`);
    }
    names = json as string[];
  } else {
    names = attributions.flatMap((a, t) => rowOf(a, k).map((_, j) => `${inputNames[t] ?? `input ${t}`}[${j}]`));
  }
  writeAtomic(file, barChartSvg(values, names, { sort: 'abs', top: 20, title: `example ${k}` }), { argument: '--plot' });
}

/**
 * `--html`: Captum's text visualisation — every example's tokens coloured by their attribution (summed over
 * trailing dimensions such as the embedding, divided by its L2 norm), with predicted, true and explained labels.
 */
export async function writeHtml(file: string, model: OnnxModel, inputs: readonly HostTensor[], attribution: HostTensor, target: unknown, o: PictureOptions): Promise<void> {
  if (!o.tokens) throw new ArgumentError('--tokens', 'a JSON file of tokens (an array of strings, or one array per example) for --html', 'none');
  const n = attribution.dims[0] as number;
  const seq = attribution.dims[1] ?? 1;
  const json = await readJson(o.tokens, '--tokens');
  const perExample = Array.isArray(json) && json.every((t) => Array.isArray(t)) ? (json as unknown[][]) : Array.from({ length: n }, () => json as unknown[]);
  if (perExample.length !== n || !perExample.every((t) => Array.isArray(t) && t.length === seq && t.every((s) => typeof s === 'string'))) {
    throw new ArgumentError('--tokens', `${seq} strings (one per position of the attribution [${attribution.dims.join(', ')}]), or one such array per example`, `'${o.tokens}'`);
  }
  let names: readonly string[] | undefined;
  if (o.classNames) {
    const list = await readJson(o.classNames, '--class-names');
    if (!Array.isArray(list) || !list.every((s) => typeof s === 'string')) throw new ArgumentError('--class-names', 'a JSON array of class names', `'${o.classNames}'`);
    names = list as string[];
  }
  const label = (k: number): string | number => names?.[k] ?? k;
  const { output } = await model.forward({ inputs: [...inputs] });
  const logits = toNumbers((output as HostTensor).data);
  const classes = logits.length / n;
  const records = Array.from({ length: n }, (_, i) => {
    const row = rowOf(attribution, i);
    const per = row.length / seq;
    const tokenScores = Array.from({ length: seq }, (_, s) => row.slice(s * per, (s + 1) * per).reduce((a, v) => a + v, 0));
    const norm = Math.sqrt(tokenScores.reduce((a, v) => a + v * v, 0)) || 1;
    const z = Array.from(logits.subarray(i * classes, (i + 1) * classes));
    const max = z.reduce((a, v) => Math.max(a, v), -Infinity);
    const exp = z.map((v) => Math.exp(v - max));
    const total = exp.reduce((a, v) => a + v, 0);
    const pred = z.indexOf(max);
    const attrClass = Array.isArray(target) ? (target[i] as number) : typeof target === 'number' ? target : pred;
    return {
      wordAttributions: tokenScores.map((v) => v / norm),
      predProb: (exp[pred] as number) / total,
      predClass: label(pred),
      trueClass: o.trueLabel ?? '—',
      attrClass: label(attrClass),
      attrScore: tokenScores.reduce((a, v) => a + v, 0),
      rawInputIds: perExample[i] as string[],
    };
  });
  writeAtomic(file, textHtml(records), { argument: '--html' });
}
