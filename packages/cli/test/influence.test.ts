import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TracInCPFast } from '@attribution/influence';
import { fromOnnx } from '@attribution/onnx';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { readTensor } from '../src/read.js';
import { run } from './run.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const digits = path.join(here, '../../conformance/fixtures/real/digits_cnn.onnx');
const examples = path.join(here, '../examples/influence');
const influenceFixtures = path.join(here, '../../influence/test/fixtures');
const trainLabels = JSON.parse(fs.readFileSync(path.join(examples, 'train-labels.json'), 'utf8')) as number[];
const testLabels = JSON.parse(fs.readFileSync(path.join(examples, 'test-labels.json'), 'utf8')) as number[];
const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'attribution-influence-'));

interface Written {
  method: string;
  influence?: number[][] | { indices: number[][]; influenceScores: number[][] };
  selfInfluence?: number[];
  layers?: Record<string, { indices: number[][]; similarities: number[][] }>;
}

async function influenceJson(model: string, ...args: string[]): Promise<Written> {
  const out = path.join(tmp(), 'r.json');
  const r = await run('influence', model, ...args, '--out', out);
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(fs.readFileSync(out, 'utf8')) as Written;
}

const data = ['--train', path.join(examples, 'train.npy'), '--train-labels', path.join(examples, 'train-labels.json'), '--input', path.join(examples, 'test.npy'), '--target', testLabels.join(',')];

describe('attribution influence', () => {
  it('tracin-cp-fast on the class score: every query\'s proponents share its class; the numbers are the library\'s', async () => {
    const w = await influenceJson(digits, '--method', 'tracin-cp-fast', ...data, '--options', '{"k":3,"lossFunc":"neg-output"}');
    const top = w.influence as { indices: number[][]; influenceScores: number[][] };
    // the two largest proponents of every query are training digits of its class (each class has two or more)
    top.indices.forEach((ids, t) => expect(ids.slice(0, 2).map((i) => trainLabels[i]), `query ${t}`).toEqual([testLabels[t], testLabels[t]]));
    const model = await fromOnnx(ort, digits);
    const fast = new TracInCPFast(model, [await readTensor(path.join(examples, 'train.npy'), 'x'), trainLabels], {
      checkpoints: [{ learningRate: 1 }],
      lossFunc: { loss: (row, y) => -(row[y as number] as number), gradient: (row, y) => row.map((_, j) => (j === y ? -1 : 0)) },
    });
    const want = await fast.influence(await readTensor(path.join(examples, 'test.npy'), 'x'), testLabels, { k: 3 });
    expect(top).toEqual(JSON.parse(JSON.stringify(want)));
    model.dispose();
  });

  it('tracin-cp over checkpoint files with learning rates gives Captum\'s scores and self influence', async () => {
    const c = (JSON.parse(fs.readFileSync(path.join(influenceFixtures, 'influence_cases.json'), 'utf8')) as { models: Record<string, Record<string, never>> }).models.linear as unknown as {
      checkpoints: { file: string; learningRate: number }[];
      train: { x: number[][]; y: number[] };
      test: { x: number[][]; y: number[] };
      tracincp: { scores: number[][]; selfInfluence: number[] };
    };
    const dir = tmp();
    const tensor = (rows: number[][]): string => JSON.stringify({ shape: [rows.length, (rows[0] as number[]).length], dtype: 'float32', data: rows.flat() });
    fs.writeFileSync(path.join(dir, 'train.json'), tensor(c.train.x));
    fs.writeFileSync(path.join(dir, 'labels.json'), JSON.stringify(c.train.y));
    fs.writeFileSync(path.join(dir, 'test.json'), tensor(c.test.x));
    const checkpoints = c.checkpoints.flatMap((k) => ['--checkpoint', `${path.join(influenceFixtures, k.file)}=${k.learningRate}`]);
    const w = await influenceJson(path.join(influenceFixtures, c.checkpoints[0]!.file), '--method', 'tracin-cp', '--train', path.join(dir, 'train.json'), '--train-labels', path.join(dir, 'labels.json'), '--input', path.join(dir, 'test.json'), '--target', c.test.y.join(','), ...checkpoints, '--self-influence');
    const scores = w.influence as number[][];
    const scale = Math.max(...c.tracincp.scores.flat().map(Math.abs));
    c.tracincp.scores.forEach((row, t) => row.forEach((v, j) => expect(Math.abs((scores[t]![j] as number) - v)).toBeLessThanOrEqual(1e-4 * scale)));
    const selfScale = Math.max(...c.tracincp.selfInfluence.map(Math.abs));
    c.tracincp.selfInfluence.forEach((v, j) => expect(Math.abs((w.selfInfluence![j] as number) - v)).toBeLessThanOrEqual(1e-4 * selfScale));
  });

  it('similarity lists the nearest training digits by layer activations; prints a summary without --out', async () => {
    const w = await influenceJson(digits, '--method', 'similarity', '--train', path.join(examples, 'train.npy'), '--input', path.join(examples, 'test.npy'), '--layer', '/7/Relu_output_0', '--options', '{"k":2}');
    const layer = w.layers!['/7/Relu_output_0']!;
    expect(layer.indices).toHaveLength(testLabels.length);
    layer.indices.forEach((ids, t) => expect(trainLabels[ids[0] as number], `query ${t}`).toBe(testLabels[t]));
    layer.similarities.forEach((s) => expect(s[0]).toBeGreaterThanOrEqual(s[1] as number));
    const r = await run('influence', digits, '--method', 'tracin-cp-fast', ...data, '--options', '{"k":2,"lossFunc":"neg-output"}');
    expect(r.code).toBe(0);
    expect(r.out.split('\n')[0]).toMatch(/^test #0: proponents #\d+ \([\d.e+-]+\), #\d+ \([\d.e+-]+\)$/);
  });

  it('bad arguments get one clear line', async () => {
    const cases: [string[], RegExp][] = [
      [['--method', 'tracin', ...data], /--method: expected one of similarity, tracin-cp.*Did you mean tracin-cp\?/],
      [['--method', 'tracin-cp', '--input', path.join(examples, 'test.npy')], /--train: expected the training inputs/],
      [['--method', 'tracin-cp', '--train', path.join(examples, 'train.npy'), '--input', path.join(examples, 'test.npy'), '--target', '4'], /--train-labels: expected the training labels/],
      [['--method', 'similarity', '--train', path.join(examples, 'train.npy'), '--input', path.join(examples, 'test.npy')], /--layer: expected at least one layer/],
      [['--method', 'tracin-cp-fast', ...data, '--layer', 'x'], /--layer: expected no --layer for tracin-cp-fast/],
      [['--method', 'tracin-cp-fast', ...data, '--options', '{"kk":3}'], /--options: expected only k, proponents.*Did you mean k\?/],
      [['--method', 'tracin-cp-fast', ...data, '--options', '{"k":0}'], /--options.k: expected an integer ≥ 1/],
      [['--method', 'tracin-cp-fast-rand-proj', ...data, '--self-influence'], /--self-influence: expected a method with self influence/],
      [['--method', 'tracin-cp', ...data, '--checkpoint', 'a.onnx=fast'], /--checkpoint #1: expected file.onnx or file.onnx=learningRate/],
      [['--method', 'tracin-cp-fast', ...data.slice(0, -1), '4,4'], /--target: expected one label per test example \(8\), got 2/],
      [['--method', 'naive-influence-function', ...data, '--options', '{"lossFunc":"neg-output"}'], /Hessian has no eigenvalue above hessianInverseTol/],
    ];
    for (const [args, message] of cases) {
      const r = await run('influence', digits, ...args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.err, args.join(' ')).toMatch(message);
    }
  });
});
