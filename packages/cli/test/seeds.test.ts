import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromOnnx, tensor, type HostTensor } from '@attribution/onnx';
import { GradientShap, KernelShap, primaryMethods } from '@attribution/primary';
import { dump, parse } from 'npyjs';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { METHODS } from '../src/methods.js';
import { STOCHASTIC_METHODS } from '../src/seeding.js';
import { readDatasetRun } from '../src/index.js';
import { run } from './run.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const digits = path.join(here, '../../conformance/fixtures/real/digits_cnn.onnx');
const samples = JSON.parse(fs.readFileSync(path.join(here, '../../conformance/fixtures/real/digits_cnn.samples.json'), 'utf8')) as { images: number[][] };
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attribution-seeds-'));

const npy = (name: string, rows: number[][]): string => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, new Uint8Array(dump(Float32Array.from(rows.flat()), [rows.length, 1, 8, 8])));
  return file;
};
const six = npy('six.npy', samples.images.slice(0, 6));
const mask = path.join(dir, 'mask.json');
fs.writeFileSync(mask, JSON.stringify({ shape: [1, 1, 8, 8], dtype: 'int32', data: Array.from({ length: 64 }, (_, i) => Math.floor(i / 8)) }));

/** The first attribution of every batch of a results folder, concatenated in example order. */
function results(out: string): Float32Array {
  const parts = readDatasetRun(out).records.map((r) => {
    const bytes = fs.readFileSync(path.join(out, r.files[0]!.name));
    return parse(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer).data as Float32Array;
  });
  const all = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    all.set(p, offset);
    offset += p.length;
  }
  return all;
}

let folders = 0;
async function dataset(method: string, extra: string[], ...more: string[]): Promise<string> {
  const out = path.join(dir, `run-${folders++}`);
  const r = await run('explain-dataset', digits, '--inputs', six, '--method', method, '--target', '3', '--out', out, ...extra, ...more);
  expect(r.err, `${method} ${more.join(' ')}`).toBe('');
  return out;
}

const STOCHASTIC: [string, string[]][] = [
  ['gradient-shap', ['--baseline', six, '--options', '{"nSamples":3,"stdevs":0.1,"seed":5}']],
  ['noise-tunnel', ['--options', '{"baseMethod":"integrated-gradients","nSamples":3,"nSteps":6,"stdevs":0.2,"seed":5}']],
  ['kernel-shap', ['--feature-mask', mask, '--options', '{"nSamples":16,"seed":5}']],
  ['lime', ['--feature-mask', mask, '--options', '{"nSamples":16,"seed":5}']],
  ['shapley-value-sampling', ['--feature-mask', mask, '--options', '{"nSamples":2,"seed":5}']],
  ['layer-gradient-shap', ['--layer', '/2/Conv_output_0', '--baseline', six, '--options', '{"nSamples":2,"stdevs":0.1,"seed":5}']],
];

describe('stochastic methods are seeded per example', () => {
  it('any batch size, shards, and a plain explain give the same results bit for bit', async () => {
    for (const [method, extra] of STOCHASTIC) {
      const one = results(await dataset(method, extra, '--batch-size', '1'));
      const four = results(await dataset(method, extra, '--batch-size', '4'));
      const sharded = await dataset(method, extra, '--batch-size', '4', '--shard', '1/2');
      await run('explain-dataset', digits, '--inputs', six, '--method', method, '--target', '3', '--out', sharded, ...extra, '--batch-size', '4', '--shard', '0/2');
      expect(Buffer.from(four.buffer).equals(Buffer.from(one.buffer)), `${method}: batches of 4 and of 1`).toBe(true);
      expect(Buffer.from(results(sharded).buffer).equals(Buffer.from(one.buffer)), `${method}: shards`).toBe(true);
      const json = path.join(dir, `${method}.json`);
      const plain = await run('explain', digits, '--input', six, '--method', method, '--target', '3', ...extra, '--out', json);
      expect(plain.err).toBe('');
      const written = JSON.parse(fs.readFileSync(json, 'utf8')) as { seed: number; attributions: { data: number[] }[] };
      expect(written.seed).toBe(5);
      expect(Float32Array.from(written.attributions[0]!.data), `${method}: explain`).toEqual(one);
    }
  }, 60_000);

  it('noise-tunnel gives every batch its own noise: the same examples in two batches get different attributions', async () => {
    const twice = npy('twice.npy', [samples.images[0]!, samples.images[1]!, samples.images[0]!, samples.images[1]!]);
    const out = path.join(dir, 'twice');
    const r = await run('explain-dataset', digits, '--inputs', twice, '--method', 'noise-tunnel', '--target', '3', '--batch-size', '2', '--options', '{"nSamples":2,"stdevs":0.5,"seed":1}', '--out', out);
    expect(r.err).toBe('');
    const all = results(out);
    const [first, second] = [all.subarray(0, 128), all.subarray(128)];
    expect(Buffer.from(first.slice().buffer).equals(Buffer.from(second.slice().buffer))).toBe(false);
  });

  it('without a seed, a run draws one and records it: resumed runs and other shards reuse it', async () => {
    const noSeed = ['--options', '{"baseMethod":"saliency","nSamples":2,"stdevs":0.3}'];
    const out = await dataset('noise-tunnel', noSeed, '--batch-size', '2', '--shard', '0/2');
    const { seed } = readDatasetRun(out).manifest;
    expect(Number.isInteger(seed)).toBe(true);
    await dataset('noise-tunnel', noSeed, '--batch-size', '2', '--out', out, '--shard', '1/2');
    expect(readDatasetRun(out).manifest.seed).toBe(seed);
    const reference = await dataset('noise-tunnel', ['--options', `{"baseMethod":"saliency","nSamples":2,"stdevs":0.3,"seed":${seed}}`], '--batch-size', '3');
    expect(Buffer.from(results(out).buffer).equals(Buffer.from(results(reference).buffer))).toBe(true);
    // A deterministic method records no seed; explain without a seed says which one it drew.
    expect(readDatasetRun(await dataset('saliency', [], '--batch-size', '3')).manifest.seed).toBeNull();
    const drawn = await run('explain', digits, '--input', six, '--method', 'noise-tunnel', '--target', '3', ...noSeed);
    expect(drawn.out).toMatch(/^NoiseTunnel on 'logits', target 3 \(onnxruntime-node, seed \d+\)/);
    const bad = await run('explain', digits, '--input', six, '--method', 'lime', '--target', '3', '--options', '{"seed":[1,2]}');
    expect(bad.err).toMatch(/^attribution: --options: expected a "seed" that is a non-negative integer \(the run's seed: each example's seed is derived from it and the example's index\), got \[1,2\]/);
  });

  it('the CLI knows which methods draw random numbers', async () => {
    const model = await fromOnnx(ort as never, digits);
    try {
      const stochastic = Object.entries(METHODS)
        .filter(([, m]) => (m.create(model, '/2/Conv_output_0') as { stochastic?: boolean }).stochastic === true)
        .map(([name]) => name)
        .sort();
      expect(stochastic).toEqual([...STOCHASTIC_METHODS].sort());
    } finally {
      model.dispose();
    }
  });

  it('the methods take one seed per example (checked against the batch)', async () => {
    const model = await fromOnnx(ort as never, digits);
    try {
      const x = tensor(Float32Array.from(samples.images.slice(0, 2).flat()), [2, 1, 8, 8]);
      const pair = tensor(Float32Array.from(samples.images.slice(0, 2).flat()), [2, 1, 8, 8]);
      await expect(new GradientShap(model).attribute(x, { baselines: pair, target: 3, seed: [1, 2, 3] })).rejects.toThrow('seed: expected one seed for the call or one per example (2), got 3 seeds.');
      await expect(new KernelShap(model).attribute(x, { target: 3, seed: [1, -2] })).rejects.toThrow('seed[1]: expected a non-negative integer (one seed per example), got -2.');
      // Example 1 alone with seed 9 equals example 1 of a pair seeded [4, 9].
      const single = tensor(Float32Array.from(samples.images[1]!), [1, 1, 8, 8]);
      const method = primaryMethods['kernel-shap']!.create(model);
      const alone = (await method.attribute([single], { target: 3, nSamples: 12, seed: [9] })).attributions[0] as HostTensor;
      const both = (await method.attribute([x], { target: 3, nSamples: 12, seed: [4, 9] })).attributions[0] as HostTensor;
      expect(Array.from(both.data as Float32Array).slice(64)).toEqual(Array.from(alone.data as Float32Array));
    } finally {
      model.dispose();
    }
  });
});
