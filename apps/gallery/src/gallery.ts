import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { interpolate } from '@attribution/core';
import { LayerGradCam, LayerIntegratedGradients, layerMethods } from '@attribution/layer';
import { neuronMethods } from '@attribution/neuron';
import { deletion, insertion } from '@attribution/metrics';
import { fromOnnx, hostBackend, tensor, type OnnxModel, type OnnxTensor, type OrtModule } from '@attribution/onnx';
import { DeepLift, GuidedBackprop, GuidedGradCam, IntegratedGradients, Occlusion, Saliency, primaryMethods } from '@attribution/primary';
import { toNumbers, type TensorData } from '@attribution/tensor';
import {
  barChartSvg,
  encodePng,
  escapeXml,
  figureSvg,
  grid,
  textHtml,
  visualizeImageAttr,
  type ImageMethod,
  type Panel,
  type Sign,
} from '@attribution/visualize';

/** The repository root (this file is apps/gallery/src or apps/gallery/dist). */
export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const real = (file: string): string => path.join(root, 'packages/conformance/fixtures/real', file);
const sentiment = (file: string): string => path.join(root, 'packages/cli/examples/sentiment', file);
const readJson = <J>(file: string): J => JSON.parse(fs.readFileSync(file, 'utf8')) as J;

/** One generated file: its name in docs/images and its bytes. */
export interface GalleryFile {
  readonly name: string;
  readonly bytes: Uint8Array;
}

/** The values of a tensor of the ONNX backend. */
const values = (t: OnnxTensor): Float64Array => Float64Array.from(toNumbers(t.data as TensorData));
const text = (name: string, value: string): GalleryFile => ({ name, bytes: new TextEncoder().encode(value) });
const SCALE = 16;

/** A panel drawing `attr` (`[1, C, H, W]`) over `image` with Captum's `visualize_image_attr`. */
function panel(title: string, attr: OnnxTensor, image: OnnxTensor, method: ImageMethod, sign: Sign): Panel {
  const originalImage = grid(values(image), image.dims);
  return { title, image: visualizeImageAttr(grid(values(attr), attr.dims), { method, sign, layout: 'chw', originalImage }) };
}

/** Example `i` of a `[N, …]` host tensor, as `[1, …]`. */
function example(t: OnnxTensor, i: number): OnnxTensor {
  const per = t.dims.slice(1).reduce((a, d) => a * d, 1);
  return tensor(Float32Array.from(values(t).subarray(i * per, (i + 1) * per)), [1, ...t.dims.slice(1)]);
}

async function digitsPictures(model: OnnxModel): Promise<GalleryFile[]> {
  const samples = readJson<{ images: number[][]; labels: number[] }>(real('digits_cnn.samples.json'));
  const n = 6;
  const images = tensor(Float32Array.from(samples.images.slice(0, n).flat()), [n, 1, 8, 8]);
  const labels = samples.labels.slice(0, n);
  const ig = (await new IntegratedGradients(model).attribute(images, { target: labels, nSteps: 50 })).attributions;
  const many: Panel[] = labels.map((label, i) => panel(`${label}: IG`, example(ig, i), example(images, i), 'blended_heat_map', 'all'));

  // One digit, every kind of method.
  const k = labels.indexOf(3) >= 0 ? labels.indexOf(3) : 0;
  const x = example(images, k);
  const target = labels[k] as number;
  const layer = '/3/Relu_output_0';
  const cam = (await new LayerGradCam(model, layer).attribute(x, { target, reluAttributions: true })).attributions;
  const methods: [string, OnnxTensor, ImageMethod, Sign][] = [
    ['IntegratedGradients', example(ig, k), 'blended_heat_map', 'all'],
    ['Saliency', (await new Saliency(model).attribute(x, { target })).attributions, 'heat_map', 'absolute_value'],
    ['DeepLift', (await new DeepLift(model).attribute(x, { target })).attributions, 'blended_heat_map', 'all'],
    ['GuidedBackprop', (await new GuidedBackprop(model).attribute(x, { target })).attributions, 'heat_map', 'absolute_value'],
    ['Occlusion 2×2', (await new Occlusion(model).attribute(x, { target, slidingWindowShapes: [1, 2, 2] })).attributions, 'blended_heat_map', 'all'],
    ['LayerGradCam', (await interpolate(hostBackend, cam, [8, 8], 'bilinear')) as OnnxTensor, 'blended_heat_map', 'positive'],
    ['GuidedGradCam', (await new GuidedGradCam(model, layer).attribute(x, { target })).attributions, 'heat_map', 'absolute_value'],
  ];
  const compare: Panel[] = [
    { title: `input (${target})`, image: visualizeImageAttr(grid(values(x), x.dims), { method: 'original_image', layout: 'chw', originalImage: grid(values(x), x.dims) }) },
    ...methods.map(([title, attr, method, sign]) => panel(title, attr, x, method, sign)),
  ];

  // One attribution, every drawing method of visualize_image_attr.
  const modes: [ImageMethod, Sign][] = [
    ['original_image', 'absolute_value'],
    ['heat_map', 'all'],
    ['heat_map', 'absolute_value'],
    ['blended_heat_map', 'all'],
    ['masked_image', 'positive'],
    ['alpha_scaling', 'positive'],
  ];
  const drawn = modes.map(([method, sign]) => panel(`${method}${method === 'original_image' ? '' : `, ${sign}`}`, example(ig, k), x, method, sign));

  return [
    text('digits-ig.svg', figureSvg(many, { scale: SCALE })),
    text('digits-methods.svg', figureSvg(compare, { scale: SCALE })),
    text('visualize-modes.svg', figureSvg(drawn, { scale: SCALE })),
    { name: 'digits-ig-3.png', bytes: encodePng(visualizeImageAttr(grid(values(example(ig, k)), [1, 1, 8, 8]), { method: 'heat_map', sign: 'all', layout: 'chw' })) },
  ];
}

/** The mean deletion and insertion curves of several attributions on the digits, as an SVG line chart. */
async function curvePictures(model: OnnxModel): Promise<GalleryFile[]> {
  const samples = readJson<{ images: number[][]; labels: number[] }>(real('digits_cnn.samples.json'));
  const n = 40;
  const images = tensor(Float32Array.from(samples.images.slice(0, n).flat()), [n, 1, 8, 8]);
  const target = samples.labels.slice(0, n);
  let seed = 12345;
  const random = tensor(Float32Array.from({ length: n * 64 }, () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) - 0.5), [n, 1, 8, 8]);
  const attributions: [string, OnnxTensor, string][] = [
    ['IntegratedGradients', (await new IntegratedGradients(model).attribute(images, { target })).attributions, '#1a9850'],
    ['Saliency', (await new Saliency(model).attribute(images, { target })).attributions, '#4575b4'],
    ['random', random, '#999999'],
  ];
  const options = { target, steps: 16 };
  const series = [];
  for (const [name, attr, colour] of attributions) {
    const del = await deletion(model, images, attr, options);
    const ins = await insertion(model, images, attr, options);
    const mean = (rows: number[][]): number[] => (rows[0] as number[]).map((_, s) => rows.reduce((a, r) => a + (r[s] as number), 0) / rows.length);
    const auc = (a: number[]): number => a.reduce((s, v) => s + v, 0) / a.length;
    series.push({ name, colour, fractions: del.fractions, deletion: mean(del.scores), insertion: mean(ins.scores), delAuc: auc(del.auc), insAuc: auc(ins.auc) });
  }
  return [text('digits-deletion-insertion.svg', lineCharts(series))];
}

interface Series {
  readonly name: string;
  readonly colour: string;
  readonly fractions: number[];
  readonly deletion: number[];
  readonly insertion: number[];
  readonly delAuc: number;
  readonly insAuc: number;
}

/** Two small line charts (deletion, insertion) with a legend of areas under the curves. */
function lineCharts(series: readonly Series[]): string {
  const w = 300;
  const h = 180;
  const pad = 36;
  const all = series.flatMap((s) => [...s.deletion, ...s.insertion]);
  const lo = Math.min(...all);
  const hi = Math.max(...all);
  const y = (v: number): number => pad + (h - 2 * pad) * (1 - (v - lo) / (hi - lo));
  const x = (f: number, offset: number): number => offset + pad + (w - 2 * pad) * f;
  const chart = (key: 'deletion' | 'insertion', offset: number): string => {
    const lines = series.map((s) => `<polyline fill="none" stroke="${s.colour}" stroke-width="2" points="${s.fractions.map((f, i) => `${x(f, offset).toFixed(1)},${y(s[key][i] as number).toFixed(1)}`).join(' ')}"/>`);
    const zero = lo < 0 && hi > 0 ? `<line x1="${x(0, offset)}" x2="${x(1, offset)}" y1="${y(0).toFixed(1)}" y2="${y(0).toFixed(1)}" stroke="#ccc"/>` : '';
    return [
      `<text x="${offset + w / 2}" y="18" text-anchor="middle" font-weight="bold">${key} (mean logit of the true class)</text>`,
      `<line x1="${x(0, offset)}" x2="${x(1, offset)}" y1="${h - pad}" y2="${h - pad}" stroke="#333"/>`,
      `<text x="${x(0, offset)}" y="${h - pad + 14}" text-anchor="middle">0</text><text x="${x(1, offset)}" y="${h - pad + 14}" text-anchor="middle">1</text>`,
      `<text x="${x(0.5, offset)}" y="${h - 6}" text-anchor="middle">fraction of pixels ${key === 'deletion' ? 'removed' : 'inserted'}</text>`,
      zero,
      ...lines,
    ].join('\n');
  };
  const legend = series.map((s, i) => `<rect x="${pad}" y="${h + 8 + i * 18}" width="12" height="12" fill="${s.colour}"/><text x="${pad + 18}" y="${h + 18 + i * 18}">${escapeXml(s.name)}: deletion AUC ${s.delAuc.toFixed(2)}, insertion AUC ${s.insAuc.toFixed(2)}</text>`);
  const height = h + 16 + series.length * 18;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * w}" height="${height}" viewBox="0 0 ${2 * w} ${height}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="white"/>
${chart('deletion', 0)}
${chart('insertion', w)}
${legend.join('\n')}
</svg>
`;
}

async function breastCancerPictures(model: OnnxModel): Promise<GalleryFile[]> {
  const samples = readJson<{ featureNames: string[]; mean: number[]; std: number[]; rawRows: number[][]; classes: string[] }>(real('breast_cancer.samples.json'));
  const row = (samples.rawRows[0] as number[]).map((v, j) => (v - (samples.mean[j] as number)) / (samples.std[j] as number));
  const x = tensor(Float32Array.from(row), [1, row.length]);
  const { attributions } = await new IntegratedGradients(model).attribute(x, { target: 0 });
  const scores = Array.from(values(attributions));
  return [text('breast-cancer-ig.svg', barChartSvg(scores, samples.featureNames, { sort: 'abs', top: 12, title: `Integrated Gradients for '${samples.classes[0]}', patient 0` }))];
}

async function sentimentPictures(ort: OrtModule): Promise<GalleryFile[]> {
  const model = await fromOnnx(ort, sentiment('model.onnx'));
  try {
    const ids = readJson<{ shape: number[]; data: number[] }>(sentiment('reviews.json'));
    const tokens = readJson<string[][]>(sentiment('reviews.tokens.json'));
    const labels = readJson<string[]>(sentiment('labels.json'));
    const x = tensor(BigInt64Array.from(ids.data.map((v) => BigInt(v))), ids.shape);
    const pad = tensor(new BigInt64Array(ids.data.length), ids.shape);
    const { attributions } = await new LayerIntegratedGradients(model, '/emb/Gather_output_0').attribute(x, { baselines: pad, target: 1 });
    const { output } = await model.forward({ inputs: [x] });
    const logits = values(output as OnnxTensor);
    const seq = ids.shape[1] as number;
    const records = tokens.map((words, i) => {
      const row = values(attributions).subarray(i * seq * 16, (i + 1) * seq * 16);
      const scores = Array.from({ length: seq }, (_, s) => row.subarray(s * 16, (s + 1) * 16).reduce((a, v) => a + v, 0));
      const norm = Math.sqrt(scores.reduce((a, v) => a + v * v, 0)) || 1;
      const z = [logits[2 * i] as number, logits[2 * i + 1] as number];
      const p = 1 / (1 + Math.exp(z[0]! - z[1]!));
      const pred = p >= 0.5 ? 1 : 0;
      return {
        wordAttributions: scores.map((v) => v / norm),
        predProb: pred === 1 ? p : 1 - p,
        predClass: labels[pred] as string,
        trueClass: i === 0 ? 'positive' : 'negative',
        attrClass: labels[1] as string,
        attrScore: scores.reduce((a, v) => a + v, 0),
        rawInputIds: words,
      };
    });
    return [text('sentiment.html', textHtml(records))];
  } finally {
    model.dispose();
  }
}

/** How the picture of one primary method is made: its options on the digits and how it is drawn. */
interface MethodPicture {
  /** The panel title (the class name, shortened where needed). */
  readonly title: string;
  /** Options of `attribute`, besides the target. */
  readonly options: Record<string, unknown>;
  readonly method: ImageMethod;
  readonly sign: Sign;
}

/** The digits drawn on every method page: indices into digits_cnn.samples.json (a 2, a 9 and a 3). */
export const METHOD_DIGITS = [0, 2, 5] as const;
/** The layer of GuidedGradCam on the digits model: the ReLU after the second convolution. */
const DIGITS_LAYER = '/3/Relu_output_0';

/** An int32 feature mask `[1, 1, 8, 8]` grouping the pixels of the digits in `size`×`size` blocks. */
function blockMask(size: number): OnnxTensor {
  const per = 8 / size;
  return tensor(Int32Array.from({ length: 64 }, (_, p) => Math.floor(Math.floor(p / 8) / size) * per + Math.floor((p % 8) / size)), [1, 1, 8, 8]);
}

/** Every method of the primary registry on three test digits: `methods/<name>.svg`. Random methods use fixed seeds. */
async function methodPictures(model: OnnxModel): Promise<GalleryFile[]> {
  const samples = readJson<{ images: number[][]; labels: number[] }>(real('digits_cnn.samples.json'));
  const x = tensor(Float32Array.from(METHOD_DIGITS.flatMap((i) => samples.images[i] as number[])), [METHOD_DIGITS.length, 1, 8, 8]);
  const target = METHOD_DIGITS.map((i) => samples.labels[i] as number);
  // Ten other test digits as the reference distribution of DeepLiftShap and GradientShap.
  const references = tensor(Float32Array.from(samples.images.slice(30, 40).flat()), [10, 1, 8, 8]);
  const blocks2 = blockMask(2);
  const pictures: Record<string, MethodPicture> = {
    'integrated-gradients': { title: 'IntegratedGradients', options: { baselines: 0, nSteps: 50 }, method: 'blended_heat_map', sign: 'all' },
    saliency: { title: 'Saliency', options: {}, method: 'heat_map', sign: 'absolute_value' },
    'input-x-gradient': { title: 'InputXGradient', options: {}, method: 'blended_heat_map', sign: 'all' },
    'deep-lift': { title: 'DeepLift', options: { baselines: 0 }, method: 'blended_heat_map', sign: 'all' },
    'deep-lift-shap': { title: 'DeepLiftShap', options: { baselines: references }, method: 'blended_heat_map', sign: 'all' },
    'gradient-shap': { title: 'GradientShap', options: { baselines: references, nSamples: 50, stdevs: 0.1, seed: 1 }, method: 'blended_heat_map', sign: 'all' },
    'noise-tunnel': {
      title: 'NoiseTunnel (IG)',
      options: { baseMethod: 'integrated-gradients', ntType: 'smoothgrad_sq', nSamples: 20, stdevs: 0.2, nSteps: 20, seed: 1 },
      method: 'blended_heat_map',
      sign: 'absolute_value',
    },
    'guided-backprop': { title: 'GuidedBackprop', options: {}, method: 'heat_map', sign: 'absolute_value' },
    deconvolution: { title: 'Deconvolution', options: {}, method: 'heat_map', sign: 'absolute_value' },
    'guided-grad-cam': { title: 'GuidedGradCam', options: {}, method: 'heat_map', sign: 'absolute_value' },
    'feature-ablation': { title: 'FeatureAblation', options: { baselines: 0, perturbationsPerEval: 16 }, method: 'blended_heat_map', sign: 'all' },
    occlusion: { title: 'Occlusion 2×2', options: { baselines: 0, slidingWindowShapes: [1, 2, 2], perturbationsPerEval: 16 }, method: 'blended_heat_map', sign: 'all' },
    'shapley-value-sampling': {
      title: 'ShapleyValueSampling',
      options: { baselines: 0, featureMask: blocks2, nSamples: 25, perturbationsPerEval: 16, seed: 1 },
      method: 'blended_heat_map',
      sign: 'all',
    },
    'kernel-shap': { title: 'KernelShap', options: { baselines: 0, featureMask: blocks2, nSamples: 200, perturbationsPerEval: 50, seed: 1 }, method: 'blended_heat_map', sign: 'all' },
    lime: { title: 'Lime', options: { baselines: 0, featureMask: blocks2, nSamples: 200, perturbationsPerEval: 50, seed: 1 }, method: 'blended_heat_map', sign: 'all' },
    'feature-permutation': { title: 'FeaturePermutation', options: { perturbationsPerEval: 16, seed: 1 }, method: 'blended_heat_map', sign: 'all' },
    lrp: { title: 'LRP', options: {}, method: 'blended_heat_map', sign: 'all' },
    'shapley-values': { title: 'ShapleyValues', options: { baselines: 0, featureMask: blockMask(4), perturbationsPerEval: 4 }, method: 'blended_heat_map', sign: 'all' },
  };
  const files: GalleryFile[] = [];
  for (const [name, entry] of Object.entries(primaryMethods)) {
    const picture = pictures[name];
    if (!picture) throw new Error(`apps/gallery: no picture is defined for the primary method '${name}'.`);
    const method = entry.create(model, entry.layer ? DIGITS_LAYER : undefined);
    const { attributions } = await method.attribute([x], { ...picture.options, target });
    const attr = attributions[0] as OnnxTensor;
    const panels = target.map((label, i) => panel(`${picture.title} · ${label}`, example(attr, i), example(x, i), picture.method, picture.sign));
    files.push(text(`methods/${name}.svg`, figureSvg(panels, { scale: SCALE, gap: 40, fontSize: 11 })));
  }
  return files;
}

/** The digit drawn in the layer and neuron guides (a 3) and the input panel over it. */
function guideDigit(): { x: OnnxTensor; target: number; input: Panel; references: OnnxTensor } {
  const samples = readJson<{ images: number[][]; labels: number[] }>(real('digits_cnn.samples.json'));
  const i = METHOD_DIGITS[2];
  const x = tensor(Float32Array.from(samples.images[i] as number[]), [1, 1, 8, 8]);
  const target = samples.labels[i] as number;
  const input = { title: `input (${target})`, image: visualizeImageAttr(grid(values(x), x.dims), { method: 'original_image', layout: 'chw', originalImage: grid(values(x), x.dims) }) };
  const references = tensor(Float32Array.from(samples.images.slice(30, 40).flat()), [10, 1, 8, 8]);
  return { x, target, input, references };
}

/**
 * Every layer method on the second convolution's ReLU of the digits model (`layer-methods.svg`): the
 * attributions `[1, 32, 8, 8]` keep the input's 8×8 grid, and `visualizeImageAttr` sums them over channels.
 */
async function layerPictures(model: OnnxModel): Promise<GalleryFile[]> {
  const { x, target, input, references } = guideDigit();
  const options: Record<string, Record<string, unknown>> = {
    'layer-activation': {},
    'layer-grad-cam': { target, reluAttributions: true },
    'layer-gradient-shap': { target, baselines: references, nSamples: 20, seed: 1 },
    'layer-conductance': { target, baselines: 0, nSteps: 20 },
    'internal-influence': { target, baselines: 0, nSteps: 20 },
    'layer-deep-lift-shap': { target, baselines: references },
  };
  const panels: Panel[] = [input];
  for (const [name, entry] of Object.entries(layerMethods)) {
    let attr: OnnxTensor;
    if (name === 'layer-feature-permutation') {
      // Permutation shuffles features across a batch: the digit with the ten references, its row kept.
      const batch = tensor(Float32Array.from([...values(x), ...values(references)]), [11, 1, 8, 8]);
      const { attributions } = await entry.create(model, DIGITS_LAYER).attribute([batch], { target: Array(11).fill(target), seed: 1 } as never);
      const all = (Array.isArray(attributions) ? attributions[0] : attributions) as OnnxTensor;
      const size = all.dims.slice(1).reduce((a, b) => a * b, 1);
      attr = tensor(Float32Array.from(values(all).slice(0, size)), [1, ...all.dims.slice(1)]);
    } else {
      const { attributions } = await entry.create(model, DIGITS_LAYER).attribute([x], options[name] ?? { target, ...(entry.baselines ? { baselines: 0 } : {}) });
      attr = (Array.isArray(attributions) ? attributions[0] : attributions) as OnnxTensor;
    }
    const positive = name === 'layer-activation' || name === 'layer-grad-cam';
    panels.push(panel(entry.className, attr, x, 'blended_heat_map', positive ? 'positive' : 'all'));
  }
  return [text('layer-methods.svg', figureSvg(panels, { scale: SCALE, gap: 40, fontSize: 12, columns: 4 }))];
}

/**
 * Every neuron method attributing one unit of that layer — the most active one on the digit — to the input
 * pixels (`neuron-methods.svg`).
 */
async function neuronPictures(model: OnnxModel): Promise<GalleryFile[]> {
  const { x, target, input, references } = guideDigit();
  const { attributions: acts } = await layerMethods['layer-activation']!.create(model, DIGITS_LAYER).attribute([x], {});
  const a = (Array.isArray(acts) ? acts[0] : acts) as OnnxTensor;
  const v = values(a);
  const best = v.indexOf(Math.max(...v));
  const [, , h, w] = a.dims as [number, number, number, number];
  const unit = [Math.floor(best / (h * w)), Math.floor((best % (h * w)) / w), best % w];
  const panels: Panel[] = [input];
  for (const [name, entry] of Object.entries(neuronMethods)) {
    const options: Record<string, unknown> = { neuronSelector: unit };
    if (entry.baselines) options.baselines = name === 'neuron-gradient-shap' || name === 'neuron-deep-lift-shap' ? references : 0;
    if (entry.target) options.target = target;
    if (name === 'neuron-gradient-shap') Object.assign(options, { nSamples: 20, seed: 1 });
    const { attributions } = await entry.create(model, DIGITS_LAYER).attribute([x], options as never);
    const attr = (Array.isArray(attributions) ? attributions[0] : attributions) as OnnxTensor;
    const guided = name === 'neuron-guided-backprop' || name === 'neuron-deconvolution' || name === 'neuron-gradient';
    panels.push(panel(entry.className, attr, x, guided ? 'heat_map' : 'blended_heat_map', guided ? 'absolute_value' : 'all'));
  }
  console.log(`neuron-methods.svg: unit [${unit.join(', ')}] of ${DIGITS_LAYER}`);
  return [text('neuron-methods.svg', figureSvg(panels, { scale: SCALE, gap: 40, fontSize: 12, columns: 4 }))];
}

/** Every picture of the docs, made with this project's code from the shared models. */
export async function generateGallery(ort: OrtModule): Promise<GalleryFile[]> {
  const digits = await fromOnnx(ort, real('digits_cnn.onnx'));
  const cancer = await fromOnnx(ort, real('breast_cancer.onnx'));
  try {
    return [...(await digitsPictures(digits)), ...(await curvePictures(digits)), ...(await breastCancerPictures(cancer)), ...(await sentimentPictures(ort)), ...(await methodPictures(digits)), ...(await layerPictures(digits)), ...(await neuronPictures(digits))];
  } finally {
    digits.dispose();
    cancer.dispose();
  }
}
