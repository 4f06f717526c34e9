import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { proto } from '@attribution/onnx-grad';
import { describe, expect, it, vi } from 'vitest';
import { main, type Io } from '../src/index.js';

const { DataType, encodeModel, makeNode, makeTensor, makeValueInfo, onnx } = proto;

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (t) => (out += t), err: (t) => (err += t) };
  const code = await main(argv, io);
  return { code, out, err };
}

// y = atan(sinh(x · W)): two operators without backward rules, one after the other.
const W = [0.5, -1, 0.25, 2, -0.75, 1];
function writeModel(dir: string): string {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'two-unsupported',
      node: [makeNode('MatMul', ['x', 'W'], ['h'], {}, 'mm'), makeNode('Sinh', ['h'], ['s'], {}, 'the_sinh'), makeNode('Atan', ['s'], ['y'], {}, 'the_atan')],
      initializer: [makeTensor('W', DataType.FLOAT, [3, 2], W)],
      input: [makeValueInfo('x', DataType.FLOAT, ['batch', 3])],
      output: [makeValueInfo('y', DataType.FLOAT)],
    },
  });
  const file = path.join(dir, 'two-unsupported.onnx');
  fs.writeFileSync(file, encodeModel(model as never));
  return file;
}

describe('a model with operators that have no backward rule', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attribution-fd-'));
  const model = writeModel(dir);
  const input = path.join(dir, 'x.json');
  const x = [0.3, -0.2, 0.9];
  fs.writeFileSync(input, JSON.stringify({ shape: [1, 3], dtype: 'float32', data: x }));

  it('explain names both operators in one error, and inspect says the same', async () => {
    const r = await run('explain', model, '--method', 'saliency', '--input', input, '--target', '1');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/No gradient rule for 2 ONNX operators: Sinh \(1 node, first 'the_sinh'\); Atan \(1 node, first 'the_atan'\)/);
    expect(r.err).toMatch(/--gradient finite-difference/);
    expect(r.err).toMatch(/6 forward evaluations per example/);
    const i = await run('inspect', model);
    expect(i.code).toBe(0);
    expect(i.out).toMatch(/Sinh +1 {2}NO/);
    expect(i.out).toMatch(/Atan +1 {2}NO/);
    expect(i.out).toMatch(/MatMul +1 {2}yes/);
    expect(i.out).toMatch(/need rules for: Sinh \(1 node, first 'the_sinh'\); Atan \(1 node, first 'the_atan'\)/);
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
    // d atan(sinh(h₁)) / dx = W[:,1] / cosh(h₁), h₁ = x · W[:,1]
    const w1 = [W[1]!, W[3]!, W[5]!];
    const h1 = x.reduce((a, v, j) => a + v * w1[j]!, 0);
    result.attributions[0]!.data.forEach((g, j) => expect(g).toBeCloseTo(w1[j]! / Math.cosh(h1), 4));
  });

  it('rejects an unknown --gradient', async () => {
    const r = await run('explain', model, '--method', 'saliency', '--input', input, '--target', '1', '--gradient', 'numeric');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/--gradient: expected 'graph' .* or 'finite-difference' .*, got 'numeric'/);
  });
});
