import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dump } from 'npyjs';
import { describe, expect, it } from 'vitest';
import { readDatasetRun } from '../src/index.js';
import { run } from './run.js';

// `--target-mask file`: explain Σ output ⊙ mask. On the digits CNN (logits [N, 10]) a one-hot mask equals
// `--target`, a signed mask explains a margin (IG is linear in the output weights), and a mask with the batch
// dimension gives each example its own.

const here = path.dirname(fileURLToPath(import.meta.url));
const digits = path.join(here, '../../conformance/fixtures/real/digits_cnn.onnx');
const example = (name: string): string => path.join(here, '../examples', name);
const samples = JSON.parse(fs.readFileSync(path.join(here, '../../conformance/fixtures/real/digits_cnn.samples.json'), 'utf8')) as { images: number[][] };


const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attribution-target-mask-'));

/** Writes a float32 .npy file. */
function npy(name: string, data: readonly number[], shape: readonly number[]): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, new Uint8Array(dump(Float32Array.from(data), [...shape])));
  return file;
}

const oneHot = (k: number): number[] => Array.from({ length: 10 }, (_, i) => (i === k ? 1 : 0));

interface Result {
  target: unknown;
  attributions: { data: number[] }[];
}

async function explain(method: string, input: string, target: string[], extra: string[] = []): Promise<Result> {
  const out = path.join(dir, `r-${Math.random().toString(36).slice(2)}.json`);
  const r = await run('explain', digits, '--method', method, '--input', input, ...target, ...extra, '--out', out);
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(fs.readFileSync(out, 'utf8')) as Result;
}

function expectClose(got: readonly number[], want: readonly number[]): void {
  expect(got).toHaveLength(want.length);
  const scale = Math.max(1e-6, ...want.map(Math.abs));
  got.forEach((v, i) => expect(Math.abs(v - (want[i] as number)) / scale).toBeLessThan(1e-4));
}

describe('attribution explain --target-mask', () => {
  it('a one-hot mask equals --target, for a gradient, a perturbation and a layer method', async () => {
    const mask = npy('three.npy', oneHot(3), [10]);
    const runs: [string, string[]][] = [
      ['integrated-gradients', ['--options', '{"nSteps":16}']],
      ['occlusion', ['--options', '{"slidingWindowShapes":[1,2,2],"strides":[1,2,2]}']],
      ['layer-grad-cam', ['--layer', '/3/Relu_output_0']],
    ];
    for (const [method, extra] of runs) {
      const viaMask = await explain(method, example('digit-3.npy'), ['--target-mask', mask], extra);
      const viaIndex = await explain(method, example('digit-3.npy'), ['--target', '3'], extra);
      expect(viaMask.target).toEqual({ mask });
      expectClose(viaMask.attributions[0]!.data, viaIndex.attributions[0]!.data);
    }
  });

  it('a signed mask explains the margin between two classes; a mask with the batch dimension is per example', async () => {
    const margin = npy('margin.npy', oneHot(3).map((v, i) => v - (i === 8 ? 1 : 0)), [10]);
    const ig = ['--options', '{"nSteps":16}'];
    const m = await explain('integrated-gradients', example('digit-3.npy'), ['--target-mask', margin], ig);
    const three = await explain('integrated-gradients', example('digit-3.npy'), ['--target', '3'], ig);
    const eight = await explain('integrated-gradients', example('digit-3.npy'), ['--target', '8'], ig);
    expectClose(m.attributions[0]!.data, three.attributions[0]!.data.map((v, i) => v - (eight.attributions[0]!.data[i] as number)));

    const each = npy('each.npy', [...oneHot(3), ...oneHot(7)], [2, 10]);
    const perExample = await explain('saliency', example('digits-3-7.npy'), ['--target-mask', each]);
    const perIndex = await explain('saliency', example('digits-3-7.npy'), ['--target', '3,7']);
    expectClose(perExample.attributions[0]!.data, perIndex.attributions[0]!.data);
    const r = await run('explain', digits, '--method', 'saliency', '--input', example('digits-3-7.npy'), '--target-mask', each);
    expect(r.out).toContain(`Saliency on 'logits', target mask ${each}`);
  });

  it('refuses --target with --target-mask, a mask that does not fit the output, and methods without a target', async () => {
    const mask = npy('three.npy', oneHot(3), [10]);
    const both = await run('explain', digits, '--method', 'saliency', '--input', example('digit-3.npy'), '--target', '3', '--target-mask', mask);
    expect(both.code).toBe(1);
    expect(both.err).toBe("attribution: --target-mask: expected either --target or --target-mask (a mask already says which outputs count, and how much), got both (--target '3').\n");
    const wrong = npy('nine.npy', oneHot(3).slice(0, 9), [9]);
    const shape = await run('explain', digits, '--method', 'saliency', '--input', example('digit-3.npy'), '--target-mask', wrong);
    expect(shape.code).toBe(1);
    expect(shape.err).toMatch(/^attribution: target: expected a mask that broadcasts to the output shape \[1, 10\]: \[10\] .* got a mask of shape \[9\]\.\n$/);
    const neuron = await run('explain', digits, '--method', 'neuron-gradient', '--layer', '/3/Relu_output_0', '--neuron', '0', '--input', example('digit-3.npy'), '--target-mask', mask);
    expect(neuron.code).toBe(1);
    expect(neuron.err).toMatch(/--target-mask: expected no target: neuron-gradient explains a neuron/);
    const missing = await run('explain', digits, '--method', 'saliency', '--input', example('digit-3.npy'), '--target-mask', path.join(dir, 'none.npy'));
    expect(missing.err).toMatch(/^attribution: --target-mask: expected a readable \.npy or \.json file/);
  });
});

describe('attribution explain-dataset --target-mask', () => {
  it('applies one mask to every example of every batch, as --target would, and records it in the manifest', async () => {
    const stack = npy('six.npy', samples.images.slice(0, 6).flat(), [6, 1, 8, 8]);
    const mask = npy('five.npy', oneHot(5), [10]);
    const common = ['--inputs', stack, '--method', 'saliency', '--batch-size', '4'];
    const viaMask = path.join(dir, 'via-mask');
    const viaIndex = path.join(dir, 'via-index');
    const a = await run('explain-dataset', digits, ...common, '--target-mask', mask, '--out', viaMask);
    expect(a.err).toBe('');
    expect(a.code).toBe(0);
    expect((await run('explain-dataset', digits, ...common, '--target', '5', '--out', viaIndex)).code).toBe(0);
    const masked = readDatasetRun(viaMask);
    expect(masked.manifest.targetMask).toMatch(/^[0-9a-f]{64}$/);
    expect(masked.records.map((r) => [r.start, r.end])).toEqual([[0, 4], [4, 6]]);
    for (const record of masked.records) {
      for (const { name } of record.files) expect(fs.readFileSync(path.join(viaMask, name))).toEqual(fs.readFileSync(path.join(viaIndex, name)));
    }
    // Resuming with another mask, or none, is another run.
    const other = npy('six-mask.npy', oneHot(6), [10]);
    const differs = await run('explain-dataset', digits, ...common, '--target-mask', other, '--out', viaMask);
    expect(differs.err).toMatch(/whose run differs in --target-mask \((sha256|none)/);
    const none = await run('explain-dataset', digits, ...common, '--out', viaMask);
    expect(none.err).toMatch(/whose run differs in --target-mask \((sha256|none)/);
    const both = await run('explain-dataset', digits, ...common, '--target', 'predicted', '--target-mask', mask, '--out', path.join(dir, 'x'));
    expect(both.err).toMatch(/--target-mask: expected either --target or --target-mask/);
    const targets = path.join(dir, 'targets.json');
    fs.writeFileSync(targets, JSON.stringify([1, 2, 3, 4, 5, 6]));
    const withList = await run('explain-dataset', digits, ...common, '--targets', targets, '--target-mask', mask, '--out', path.join(dir, 'y'));
    expect(withList.err).toMatch(/--target-mask: expected either --targets or --target-mask, got both/);
  });
});
