import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decomposedOps, foldableOps, gradientMinOpset, gradientOps, operatorTable, renderOperatorTable, transformModel } from '../src/index.js';
import { ONNX_MAX_OPSET, ONNX_OPERATORS } from '../src/onnx-operators.js';
import { DataType, encodeModel, makeNode, makeValueInfo, onnx, type ModelProto } from '../src/proto.js';

/**
 * The operator table of docs/onnx-operators.md is generated from the rule registries: this test fails when
 * the page is stale. Regenerate it with
 *   UPDATE_OPERATOR_TABLE=1 pnpm vitest run packages/onnx-grad/test/operator-table.test.ts
 */
const DOC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../docs/onnx-operators.md');
const START = '<!-- operator-table:start -->';
const END = '<!-- operator-table:end -->';

/** The generated section of the page, markers included, and where it lies. */
function section(text: string): { start: number; end: number; body: string } {
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${DOC} needs the markers ${START} … ${END}`);
  return { start, end: end + END.length, body: text.slice(start, end + END.length) };
}

const keyOf = (domain: string, opType: string): string => (domain ? `${domain}.${opType}` : opType);

/** The operators a rendered table names, as registry keys (`domain.type` under a `### domain` heading). */
function operatorsIn(markdown: string): Set<string> {
  const names = new Set<string>();
  let domain = '';
  for (const line of markdown.split('\n')) {
    const heading = /^### (\S+)/.exec(line);
    if (heading) domain = heading[1] === 'ai.onnx' ? '' : (heading[1] as string);
    const row = /^\| (?:\[([A-Za-z0-9_]+)\]\(|([A-Za-z0-9_]+) \|)/.exec(line);
    if (row) names.add(keyOf(domain, (row[1] ?? row[2]) as string));
  }
  return names;
}

describe('operator table', () => {
  const generated = `${START}\n${renderOperatorTable()}${END}`;

  it('is the table in docs/onnx-operators.md', () => {
    const text = fs.readFileSync(DOC, 'utf8');
    const current = section(text);
    if (process.env.UPDATE_OPERATOR_TABLE) {
      fs.writeFileSync(DOC, text.slice(0, current.start) + generated + text.slice(current.end));
      return;
    }
    expect(current.body, 'docs/onnx-operators.md is stale: run UPDATE_OPERATOR_TABLE=1 pnpm vitest run packages/onnx-grad/test/operator-table.test.ts').toBe(generated);
  });

  it('names every operator of the registries', () => {
    const registered = [...gradientOps(), ...decomposedOps(), ...foldableOps()];
    const rows = new Set(operatorTable().map((r) => r.op));
    const listed = operatorsIn(generated);
    for (const op of registered) {
      expect(rows.has(op), `${op} has no row`).toBe(true);
      expect(listed.has(op), `${op} is not in the rendered table`).toBe(true);
    }
    // And every default-domain operator of the specification.
    for (const op of Object.keys(ONNX_OPERATORS)) expect(listed.has(op), `${op} is not in the rendered table`).toBe(true);
  });

  it('classifies operators as the registries and the builder do', () => {
    const row = (op: string) => operatorTable().find((r) => r.op === op);
    expect(row('Relu')).toMatchObject({ gradient: 'rule', deeplift: 'Rescale', versions: [1, 6, 13, 14] });
    expect(row('Relu')?.gradientVersions).toEqual(gradientMinOpset() <= 12 ? [6, 13, 14] : [13, 14]);
    expect(row('Relu')?.guidedBackprop).not.toBe('plain gradient');
    expect(row('Relu')?.deconvolution).not.toBe('plain gradient');
    expect(row('MatMul')).toMatchObject({ gradient: 'rule', deeplift: 'plain gradient', guidedBackprop: 'plain gradient' });
    expect(row('MaxPool')?.deeplift).toMatch(/MaxPool/);
    expect(row('Softmax')?.deeplift).toMatch(/Softmax/);
    expect(row('LSTM')).toMatchObject({ gradient: 'decomposition', deeplift: 'plain gradient' });
    expect(row('Floor')).toMatchObject({ gradient: 'not-differentiable', reason: 'piecewise constant', deeplift: undefined });
    expect(row('Shape')).toMatchObject({ gradient: 'not-differentiable', reason: 'integer output', folds: true });
    expect(row('ArgMax')).toMatchObject({ gradient: 'not-differentiable', reason: 'integer output' });
    expect(row('Equal')).toMatchObject({ gradient: 'not-differentiable', reason: 'boolean output' });
    expect(row('ConstantOfShape')).toMatchObject({ gradient: 'not-differentiable', reason: 'no floating-point input' });
    expect(row('Det')).toMatchObject({ gradient: 'forward-only', gradientVersions: [], deeplift: undefined });
    expect(row('If')?.note).toMatch(/inlined/);
    expect(row('QuantizeLinear')).toMatchObject({ gradient: 'rule', reason: 'straight-through' });
    expect(row('com.microsoft.FastGelu')).toMatchObject({ domain: 'com.microsoft', opType: 'FastGelu', gradient: 'rule', versions: [1] });
  });

  it('leaves the operators of the custom-rule example of docs/exporting-onnx.md without rules', () => {
    // The page says they have none; when the library gains rules for them, the example needs new operators.
    for (const op of ['com.microsoft.Inverse', 'com.microsoft.FusedMatMul']) {
      expect(gradientOps()).not.toContain(op);
      expect(decomposedOps()).not.toContain(op);
    }
  });

  it('holds the schema versions of opsets 1–21', () => {
    for (const [op, spec] of Object.entries(ONNX_OPERATORS)) {
      expect(spec.versions.length, op).toBeGreaterThan(0);
      expect([...spec.versions].sort((a, b) => a - b), op).toEqual(spec.versions);
      expect(new Set(spec.versions).size, op).toBe(spec.versions.length);
      expect(spec.versions.every((v) => Number.isInteger(v) && v >= 1 && v <= ONNX_MAX_OPSET), op).toBe(true);
      expect(spec.io, op).toMatch(/^([fibs][?*]?)*\|([fibs][?*]?)+$/);
    }
    expect(ONNX_OPERATORS.Add?.versions).toEqual([1, 6, 7, 13, 14]);
    expect(ONNX_OPERATORS.Upsample).toMatchObject({ versions: [7, 9, 10], deprecated: 10 });
  });

  it('gives the opset gradient models need as the builder refuses it', () => {
    const model = (opset: number): Uint8Array =>
      encodeModel(onnx.ModelProto.create({
        irVersion: 8,
        opsetImport: [{ domain: '', version: opset }],
        graph: { name: 'relu', node: [makeNode('Relu', ['x'], ['y'])], input: [makeValueInfo('x', DataType.FLOAT, [1, 2])], output: [makeValueInfo('y', DataType.FLOAT, [1, 2])] },
      }) as unknown as ModelProto);
    const min = gradientMinOpset();
    expect(min).toBeLessThanOrEqual(11);
    expect(() => transformModel(model(min - 1), { wrt: ['x'] })).toThrow(/opset/);
    expect(transformModel(model(min), { wrt: ['x'] }).gradients).toHaveLength(1);
    expect(generated).toContain(`built for models of opset ${min} and newer`);
  });
});
