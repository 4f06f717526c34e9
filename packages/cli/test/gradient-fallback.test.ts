import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { forwardOnlyGradient, forwardOnlyModel } from '@attribution/testing';
import { describe, expect, it, vi } from 'vitest';
import { run } from './run.js';


// A model with two operators that have no backward rule (DFT, then Det): one error names both, inspect
// says the same, and --gradient finite-difference explains it.
describe('a model with operators that have no backward rule', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attribution-fd-'));
  const model = path.join(dir, 'forward-only.onnx');
  fs.writeFileSync(model, forwardOnlyModel());
  const input = path.join(dir, 'x.json');
  const x = [0.3, -0.2, 0.9];
  fs.writeFileSync(input, JSON.stringify({ shape: [1, 3], dtype: 'float32', data: x }));

  it('explain names both operators in one error, and inspect says the same', async () => {
    const r = await run('explain', model, '--method', 'saliency', '--input', input, '--target', '1');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/No gradient rule for 2 ONNX operators: DFT \(1 node, first 'the_dft'\); Det \(1 node, first 'the_det'\)/);
    expect(r.err).toMatch(/--gradient finite-difference/);
    expect(r.err).toMatch(/6 forward evaluations per example/);
    const i = await run('inspect', model);
    expect(i.code).toBe(0);
    expect(i.out).toMatch(/DFT +1 {2}NO/);
    expect(i.out).toMatch(/Det +1 {2}NO/);
    expect(i.out).toMatch(/MatMul +1 {2}yes/);
    expect(i.out).toMatch(/need rules for: DFT \(1 node, first 'the_dft'\); Det \(1 node, first 'the_det'\)/);
    expect(i.out).toMatch(/--gradient finite-difference/);
  });

  it('--gradient finite-difference then explains it from the command line', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const out = path.join(dir, 'r.json');
    const r = await run('explain', model, '--method', 'saliency', '--input', input, '--target', '1', '--options', '{"abs":false}', '--gradient', 'finite-difference', '--out', out);
    warn.mockRestore();
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const result = JSON.parse(fs.readFileSync(out, 'utf8')) as { attributions: { data: number[] }[] };
    const want = forwardOnlyGradient(x, 1);
    result.attributions[0]!.data.forEach((g, j) => expect(g).toBeCloseTo(want[j]!, 2));
  });

  it('rejects an unknown --gradient', async () => {
    const r = await run('explain', model, '--method', 'saliency', '--input', input, '--target', '1', '--gradient', 'numeric');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/--gradient: expected 'graph' .* or 'finite-difference' .*, got 'numeric'/);
  });
});

describe('limits on the gradient model', () => {
  it('--limit gradient-nodes bounds the gradient model built, with a message that says how to raise it', async () => {
    const digits = new URL('../../conformance/fixtures/real/digits_cnn.onnx', import.meta.url).pathname;
    const example = new URL('../examples/digit-3.npy', import.meta.url).pathname;
    const r = await run('explain', digits, '--method', 'saliency', '--input', example, '--target', '3', '--limit', 'gradient-nodes=10');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/The gradient model's node count \(\d+\) exceeds the limit maxNodes = 10; .*--limit gradient-nodes=\d+/);
    const ok = await run('explain', digits, '--method', 'saliency', '--input', example, '--target', '3', '--limit', 'gradient-nodes=100000');
    expect(ok.code).toBe(0);
  });
});
