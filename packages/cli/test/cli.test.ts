import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { run } from './run.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.join(here, '../../conformance/fixtures');
const digits = path.join(fixtures, 'real/digits_cnn.onnx');
const example = (name: string): string => path.join(here, '../examples', name);


describe('attribution CLI', () => {
  it('demo prints the seed example', async () => {
    const r = await run('demo');
    expect(r.code).toBe(0);
    expect(r.out).toContain('IG Attributions: [0.1125, -0.0341, -0.1563, 0.1409, 0.1620]');
  });

  it('explain writes JSON with --out, reading .npy and .json inputs alike', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attribution-cli-'));
    const outs: Record<string, { method: string; attributions: { name: string; shape: number[]; data: number[] }[]; delta?: number[] }> = {};
    for (const file of ['digit-3.npy', 'digit-3.json']) {
      const out = path.join(dir, `${file}.result.json`);
      const r = await run('explain', digits, '--method', 'integrated-gradients', '--input', example(file), '--target', '3', '--options', '{"nSteps":20,"returnConvergenceDelta":true}', '--out', out);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      outs[file] = JSON.parse(fs.readFileSync(out, 'utf8'));
    }
    const a = outs['digit-3.npy']!;
    expect(a.method).toBe('integrated-gradients');
    expect(a.attributions[0]!.name).toBe('x');
    expect(a.attributions[0]!.shape).toEqual([1, 1, 8, 8]);
    expect(a.delta).toHaveLength(1);
    expect(outs['digit-3.json']!.attributions[0]!.data).toEqual(a.attributions[0]!.data);
  });

  it('explain prints a summary without --out, per example targets included', async () => {
    const r = await run('explain', digits, '--method', 'saliency', '--input', example('digits-3-7.npy'), '--target', '3,7');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Saliency on 'logits', target \[3,7\]/);
    expect(r.out).toMatch(/x \[2, 1, 8, 8\]: sum/);
  });

  it('runs every primary method by name, with feature masks for the perturbation methods', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attribution-cli-'));
    const mask = path.join(dir, 'mask.json');
    fs.writeFileSync(mask, JSON.stringify({ shape: [1, 1, 8, 8], dtype: 'int32', data: Array.from({ length: 64 }, (_, i) => Math.floor(i / 16)) }));
    const refs = path.join(dir, 'refs.json');
    fs.writeFileSync(refs, JSON.stringify({ shape: [2, 1, 8, 8], dtype: 'float32', data: Array.from({ length: 128 }, (_, i) => (i % 7) / 10) }));
    const runs: [string, string[]][] = [
      ['deep-lift', []],
      ['deep-lift-shap', ['--baseline', refs]],
      ['gradient-shap', ['--baseline', refs, '--options', '{"nSamples":4,"seed":1}']],
      ['guided-backprop', []],
      ['deconvolution', []],
      ['noise-tunnel', ['--options', '{"baseMethod":"integrated-gradients","nSamples":2,"nSteps":5,"stdevs":0.1,"seed":1}']],
      ['feature-ablation', ['--feature-mask', mask]],
      ['occlusion', ['--options', '{"slidingWindowShapes":[1,4,4],"strides":[1,2,2]}']],
      ['shapley-values', ['--feature-mask', mask]],
      ['shapley-value-sampling', ['--feature-mask', mask, '--options', '{"nSamples":3,"seed":1}']],
      ['kernel-shap', ['--feature-mask', mask, '--options', '{"nSamples":16,"seed":1}']],
      ['lime', ['--feature-mask', mask, '--options', '{"nSamples":16,"seed":1}']],
    ];
    for (const [method, extra] of runs) {
      const r = await run('explain', digits, '--method', method, '--input', example('digit-3.npy'), '--target', '3', ...extra);
      expect(r.err, method).toBe('');
      expect(r.code, method).toBe(0);
      expect(r.out).toMatch(/x \[1, 1, 8, 8\]: sum/);
    }
    const fp = await run('explain', digits, '--method', 'feature-permutation', '--input', example('digits-3-7.npy'), '--target', '3,7', '--feature-mask', mask, '--options', '{"seed":2}');
    expect(fp.code).toBe(0);
  });

  it('runs every layer and neuron method and guided-grad-cam with --layer and --neuron', async () => {
    const layer = '/2/Conv_output_0';
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attribution-cli-'));
    const refs = path.join(dir, 'refs.json');
    fs.writeFileSync(refs, JSON.stringify({ shape: [2, 1, 8, 8], dtype: 'float32', data: Array.from({ length: 128 }, (_, i) => (i % 5) / 10) }));
    const runs: [string, string[], RegExp][] = [
      ['layer-activation', [], /\/2\/Conv_output_0 \[1, 32, 8, 8\]: sum/],
      ['layer-gradient-x-activation', ['--target', '3'], /\/2\/Conv_output_0 \[1, 32, 8, 8\]: sum/],
      ['layer-conductance', ['--target', '3', '--options', '{"nSteps":5}'], /\[1, 32, 8, 8\]/],
      ['internal-influence', ['--target', '3', '--options', '{"nSteps":5}'], /\[1, 32, 8, 8\]/],
      ['layer-integrated-gradients', ['--target', '3', '--options', '{"nSteps":5,"returnConvergenceDelta":true}'], /delta/],
      ['layer-grad-cam', ['--target', '3', '--options', '{"reluAttributions":true}'], /LayerGradCam on 'logits', target 3, layer '\/2\/Conv_output_0'[^]*\[1, 1, 8, 8\]/],
      ['layer-deep-lift', ['--target', '3'], /\[1, 32, 8, 8\]/],
      ['layer-feature-ablation', ['--target', '3'], /\[1, 32, 8, 8\]/],
      ['layer-gradient-shap', ['--target', '3', '--baseline', refs, '--options', '{"nSamples":3,"seed":1}'], /\[1, 32, 8, 8\]/],
      ['neuron-gradient', ['--neuron', '4,2,2'], /NeuronGradient on neuron \[4,2,2\] of '\/2\/Conv_output_0'[^]*x \[1, 1, 8, 8\]: sum/],
      ['neuron-integrated-gradients', ['--neuron', '0:4,2,2', '--options', '{"nSteps":5}'], /neuron \{"block":\[\[0,4\],2,2\]\}/],
      ['neuron-conductance', ['--neuron', '4,2,2', '--target', '3', '--options', '{"nSteps":5}'], /x \[1, 1, 8, 8\]/],
      ['neuron-deep-lift', ['--neuron', '4,2,2'], /x \[1, 1, 8, 8\]/],
      ['neuron-feature-ablation', ['--neuron', '4,2,2'], /x \[1, 1, 8, 8\]/],
      ['neuron-gradient-shap', ['--neuron', '4,2,2', '--baseline', refs, '--options', '{"nSamples":3,"seed":1}'], /x \[1, 1, 8, 8\]/],
      ['neuron-guided-backprop', ['--neuron', '4,2,2'], /x \[1, 1, 8, 8\]/],
      ['neuron-deconvolution', ['--neuron', '4,2,2'], /x \[1, 1, 8, 8\]/],
      ['guided-grad-cam', ['--target', '3'], /GuidedGradCam[^]*x \[1, 1, 8, 8\]/],
    ];
    for (const [method, extra, pattern] of runs) {
      const r = await run('explain', digits, '--method', method, '--input', example('digit-3.npy'), '--layer', layer, ...extra);
      expect(r.err, method).toBe('');
      expect(r.code, method).toBe(0);
      expect(r.out, method).toMatch(pattern);
    }
    const out = path.join(dir, 'cam.json');
    expect((await run('explain', digits, '--method', 'layer-grad-cam', '--layer', layer, '--input', example('digit-3.npy'), '--target', '3', '--out', out)).code).toBe(0);
    const json = JSON.parse(fs.readFileSync(out, 'utf8')) as { layer: string; attributions: { name: string; shape: number[] }[] };
    expect(json.layer).toBe(layer);
    expect(json.attributions[0]).toMatchObject({ name: layer, shape: [1, 1, 8, 8] });
  });

  it('lime with returnInputShape false prints the interpretable features', async () => {
    const r = await run('explain', digits, '--method', 'lime', '--input', example('digit-3.npy'), '--target', '3', '--options', '{"nSamples":16,"seed":1,"returnInputShape":false}');
    expect(r.err).toBe('');
    expect(r.out).toMatch(/interpretable features \[1, 64\]/);
  });

  it('writes a PNG heat map, an SVG bar chart and text HTML', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attribution-cli-'));
    const png = path.join(dir, 'ig.png');
    const heat = await run('explain', digits, '--method', 'integrated-gradients', '--input', example('digits-3-7.npy'), '--target', '3,7', '--heatmap', png, '--heatmap-method', 'blended_heat_map', '--sign', 'all');
    expect(heat.err).toBe('');
    expect(heat.out).toContain(`wrote ${png}`);
    const bytes = fs.readFileSync(png);
    expect(bytes.subarray(1, 4).toString()).toBe('PNG');
    // Two 8×8 panels scaled ×20, 8 px gaps and padding: 8 + 160 + 8 + 160 + 8 wide.
    expect(bytes.readUInt32BE(16)).toBe(344);
    expect(bytes.readUInt32BE(20)).toBe(176);
    const cam = await run('explain', digits, '--method', 'layer-grad-cam', '--layer', '/4/MaxPool_output_0', '--input', example('digit-3.npy'), '--target', '3', '--heatmap', path.join(dir, 'cam.png'));
    expect(cam.err).toBe(''); // the 4×4 map is resized to the 8×8 input
    const svg = path.join(dir, 'bc.svg');
    const bc = path.join(here, '../examples/breast-cancer');
    const plot = await run('explain', path.join(fixtures, 'real/breast_cancer.onnx'), '--method', 'integrated-gradients', '--input', path.join(bc, 'patients.json'), '--target', '0', '--plot', svg, '--feature-names', path.join(bc, 'feature-names.json'), '--example', '1');
    expect(plot.err).toBe('');
    const chart = fs.readFileSync(svg, 'utf8');
    expect(chart.startsWith('<svg')).toBe(true);
    expect((chart.match(/<g class="bar /g) ?? []).length).toBe(20);
    expect(chart).toContain('worst');
    const html = path.join(dir, 'reviews.html');
    const s = path.join(here, '../examples/sentiment');
    const text = await run('explain', path.join(s, 'model.onnx'), '--method', 'layer-integrated-gradients', '--layer', '/emb/Gather_output_0', '--input', path.join(s, 'reviews.json'), '--baseline', path.join(s, 'pad.json'), '--target', '1', '--html', html, '--tokens', path.join(s, 'reviews.tokens.json'), '--class-names', path.join(s, 'labels.json'));
    expect(text.err).toBe('');
    const page = fs.readFileSync(html, 'utf8');
    expect(page).toContain('brilliant');
    expect(page).toMatch(/positive \(1\.00\)/);
    const missing = await run('explain', path.join(s, 'model.onnx'), '--method', 'layer-integrated-gradients', '--layer', '/emb/Gather_output_0', '--input', path.join(s, 'reviews.json'), '--target', '1', '--html', html);
    expect(missing.err).toMatch(/--tokens: expected a JSON file of tokens/);
    const badSign = await run('explain', digits, '--method', 'saliency', '--input', example('digit-3.npy'), '--target', '3', '--heatmap', png, '--sign', 'both');
    expect(badSign.err).toMatch(/--sign: expected one of positive, absolute_value, negative, all, got 'both'/);
  });

  it('inspect lists inputs, outputs and gradient coverage', async () => {
    const r = await run('inspect', path.join(fixtures, 'real/mobilenet_v2_64.onnx'));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/x {2}float \[batch, 3, 64, 64\]/);
    expect(r.out).toMatch(/Conv +52 {2}yes/);
    expect(r.out).toMatch(/gradients of 'output' with respect to x: every operator on the way has a rule/);
    // ReLU6 is no layer Captum's LRP has a rule for: every one is named, not only the last
    expect(r.out).toMatch(/lrp \(Captum's default rules\) refuses: Clip \(35 nodes, first '\/features\/features.0\/features.0.2\/Clip'\)/);
    const layers = await run('inspect', digits, '--layers');
    expect(layers.out).toMatch(/lrp: every layer on the way has a default rule/);
    expect(layers.out).toMatch(/layers \(tensors to pass as --layer\):\n {2}\/0\/Conv_output_0 {2}Conv \[batch, 16, 8, 8\]/);
  });

  it('fails with one clear line and a non-zero code', async () => {
    const cases: [string[], RegExp][] = [
      [['explain', digits, '--method', 'integrated-gradient', '--input', example('digit-3.npy')], /--method: .*Did you mean integrated-gradients\?/],
      [['explain', digits, '--method', 'saliency'], /--input: expected at least one input file/],
      [['explain', digits, '--method', 'saliency', '--input', example('digit-3.npy'), '--target', 'three'], /--target: expected an integer/],
      [['explain', digits, '--method', 'saliency', '--input', example('digit-3.npy'), '--baseline', '0'], /--baseline: expected no baseline/],
      [['explain', digits, '--method', 'integrated-gradients', '--input', example('digit-3.npy'), '--target', '12'], /target: expected an index in \[-10, 10\)/],
      [['explain', digits, '--method', 'saliency', '--input', 'missing.npy'], /--input #1: expected a readable .npy or .json file/],
      [['explain', digits, '--method', 'saliency', '--input', example('digit-3.npy'), '--options', '{nSteps:2}'], /--options: expected a JSON object/],
      [['explain', example('digit-3.npy'), '--method', 'saliency', '--input', example('digit-3.npy')], /not an ONNX model/],
      [['explain', digits, '--method', 'saliency', '--input', example('digit-3.npy'), '--output', 'probs'], /output: expected one of the model outputs: 'logits'/],
      [['inspect', 'missing.onnx'], /model: expected a readable ONNX file/],
      [['explain', digits, '--method', 'layer-grad-cam', '--input', example('digit-3.npy'), '--target', '3'], /--layer: expected a layer/],
      [['explain', digits, '--method', 'layer-grad-cam', '--input', example('digit-3.npy'), '--target', '3', '--layer', 'conv9'], /layer: expected one of the tensors computed by the model \(or a node name\): '\/0\/Conv_output_0'/],
      [['explain', digits, '--method', 'saliency', '--input', example('digit-3.npy'), '--layer', '/0/Conv_output_0'], /--layer: expected no layer/],
      [['explain', digits, '--method', 'neuron-gradient', '--input', example('digit-3.npy'), '--layer', '/0/Conv_output_0'], /--neuron: expected the neuron's index/],
      [['explain', digits, '--method', 'neuron-gradient', '--input', example('digit-3.npy'), '--layer', '/0/Conv_output_0', '--neuron', '16,0,0'], /neuronSelector: expected index 0 in \[-16, 16\)/],
      [['explain', digits, '--method', 'neuron-gradient', '--input', example('digit-3.npy'), '--layer', '/0/Conv_output_0', '--neuron', 'a'], /--neuron: expected comma-separated integers/],
      [['explain', digits, '--method', 'neuron-gradient', '--input', example('digit-3.npy'), '--layer', '/0/Conv_output_0', '--neuron', '1', '--target', '3'], /--target: expected no target/],
    ];
    for (const [argv, pattern] of cases) {
      const r = await run(...argv);
      expect(r.code, argv.join(' ')).toBe(1);
      expect(r.err).toMatch(pattern);
      expect(r.err.trim().split('\n')).toHaveLength(1);
    }
    const usage = await run('explain', digits);
    expect(usage.code).toBe(2);
    expect(usage.err).toMatch(/required option '--method <name>'/);
  });
});
