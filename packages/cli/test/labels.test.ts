import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dump } from 'npyjs';
import { describe, expect, it } from 'vitest';
import { readDatasetRun } from '../src/index.js';
import { run } from './run.js';

// --labels names the classes of the digits CNN (logits [N, 10]); --target then takes 'predicted' or class names.

const here = path.dirname(fileURLToPath(import.meta.url));
const digits = path.join(here, '../../conformance/fixtures/real/digits_cnn.onnx');
const pair = path.join(here, '../examples/digits-3-7.npy'); // a 3 and a 7, both predicted right
const samples = JSON.parse(fs.readFileSync(path.join(here, '../../conformance/fixtures/real/digits_cnn.samples.json'), 'utf8')) as { images: number[][]; labels: number[] };
const NAMES = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attribution-labels-'));
const labelsTxt = path.join(dir, 'labels.txt');
fs.writeFileSync(labelsTxt, `${NAMES.join('\r\n')}\n\n`); // CRLF lines, blank lines at the end
const labelsJson = path.join(dir, 'labels.json');
fs.writeFileSync(labelsJson, JSON.stringify(NAMES));

interface Result {
  target: unknown;
  targetIndices?: unknown;
  targetLabels?: string[];
  attributions: { data: number[] }[];
}

async function explain(...flags: string[]): Promise<Result> {
  const out = path.join(dir, `r-${Math.random().toString(36).slice(2)}.json`);
  const r = await run('explain', digits, '--method', 'saliency', '--input', pair, ...flags, '--out', out);
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(fs.readFileSync(out, 'utf8')) as Result;
}

describe('attribution --labels', () => {
  it("explain: --target predicted and class names give the attributions of the indices, and the output names them", async () => {
    const byIndex = await explain('--target', '3,7', '--labels', labelsTxt);
    expect(byIndex.targetIndices).toBeUndefined();
    expect(byIndex.targetLabels).toEqual(['three', 'seven']);
    const predicted = await explain('--target', 'predicted', '--labels', labelsTxt);
    expect(predicted).toMatchObject({ target: 'predicted', targetIndices: [3, 7], targetLabels: ['three', 'seven'] });
    expect(predicted.attributions).toEqual(byIndex.attributions);
    const named = await explain('--target', 'three,seven', '--labels', labelsJson);
    expect(named).toMatchObject({ target: ['three', 'seven'], targetIndices: [3, 7] });
    expect(named.attributions).toEqual(byIndex.attributions);
    const summary = await run('explain', digits, '--method', 'saliency', '--input', pair, '--target', 'predicted', '--labels', labelsTxt);
    expect(summary.out).toContain(`Saliency on 'logits', target "predicted" (3 'three', 7 'seven')`);
  });

  it('explain: names without --labels, unknown names and bad label files are errors naming the flag', async () => {
    const cases: [string[], RegExp][] = [
      [['--target', 'three'], /--target: expected .*class names with --labels <file>, got 'three'\. Name the classes with --labels/],
      [['--target', 'thre', '--labels', labelsTxt], /target: expected one of model labels: 'zero', .*, got "thre"\. Did you mean 'three'\?/],
      [['--target', '3', '--labels', path.join(dir, 'missing.txt')], /--labels: expected a text file with one class name per line/],
    ];
    const blank = path.join(dir, 'blank.txt');
    fs.writeFileSync(blank, 'zero\n\none\n');
    cases.push([['--target', '3', '--labels', blank], /--labels: expected .*no blank line but at the end, got '.*blank\.txt', whose line 2 is blank/]);
    const short = path.join(dir, 'short.txt');
    fs.writeFileSync(short, 'zero\none\n');
    cases.push([['--target', 'one', '--labels', short], /labels: expected one class name per class of the model output \(10: output shape \[2, 10\]\), got 2 names/]);
    for (const [flags, message] of cases) {
      const r = await run('explain', digits, '--method', 'saliency', '--input', pair, ...flags);
      expect(r.code, flags.join(' ')).toBe(1);
      expect(r.err).toMatch(message);
    }
  });

  it('explain-dataset: records each example\'s predicted class with its name; the labels file is part of the run', async () => {
    const stack = path.join(dir, 'digits.npy');
    fs.writeFileSync(stack, new Uint8Array(dump(Float32Array.from(samples.images.slice(0, 6).flat()), [6, 1, 8, 8])));
    const out = path.join(dir, 'run');
    const flags = ['--inputs', stack, '--out', out, '--method', 'saliency', '--batch-size', '4'];
    const first = await run('explain-dataset', digits, ...flags, '--target', 'predicted', '--labels', labelsTxt);
    expect(first.err).toBe('');
    const { records, manifest } = readDatasetRun(out);
    expect(manifest.labels).toMatch(/^[0-9a-f]{64}$/);
    expect(records.flatMap((r) => r.targets)).toEqual(samples.labels.slice(0, 6));
    expect(records.flatMap((r) => r.targetLabels)).toEqual(samples.labels.slice(0, 6).map((k) => NAMES[k]));
    // Other class names are another run.
    const renamed = path.join(dir, 'renamed.txt');
    fs.writeFileSync(renamed, NAMES.map((n) => n.toUpperCase()).join('\n'));
    const other = await run('explain-dataset', digits, ...flags, '--target', 'predicted', '--labels', renamed);
    expect(other.code).toBe(1);
    expect(other.err).toMatch(/--out: expected an empty folder, or one holding the same run.*--labels \(sha256 /);
    // Targets by name in --targets.
    const targets = path.join(dir, 'targets.json');
    fs.writeFileSync(targets, JSON.stringify(['three', 7, 'one', 'one', 'zero', 'nine']));
    const named = await run('explain-dataset', digits, '--inputs', stack, '--out', path.join(dir, 'named'), '--method', 'saliency', '--batch-size', '4', '--targets', targets, '--labels', labelsTxt);
    expect(named.err).toBe('');
    const namedRun = readDatasetRun(path.join(dir, 'named'));
    expect(namedRun.records.flatMap((r) => r.targets)).toEqual([3, 7, 1, 1, 0, 9]);
  });
});
