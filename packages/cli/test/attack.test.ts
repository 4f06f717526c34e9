import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromOnnx, type HostTensor } from '@attribution/onnx';
import { FGSM, PGD } from '@attribution/robust';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { readTensor } from '../src/read.js';
import { run } from './run.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const digits = path.join(here, '../../conformance/fixtures/real/digits_cnn.onnx');
const example = (name: string): string => path.join(here, '../examples', name);
const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'attribution-attack-'));

interface Written {
  method: string;
  perturbed: { name: string; shape: number[]; data: number[] }[] | null;
  predictions: { before: number[]; after: number[] | null };
  param?: number | null;
  results?: Record<string, unknown>;
  summary?: Record<string, unknown>;
}

async function attackJson(...args: string[]): Promise<Written> {
  const out = path.join(tmp(), 'r.json');
  const r = await run('attack', digits, ...args, '--out', out);
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(fs.readFileSync(out, 'utf8')) as Written;
}

describe('attribution attack', () => {
  it('fgsm and pgd write the perturbed inputs and the predictions before and after, equal to the library', async () => {
    const model = await fromOnnx(ort, digits);
    const x = await readTensor(example('digits-3-7.npy'), 'x');
    const options = { lossFunc: 'cross-entropy', lowerBound: 0, upperBound: 1 } as const;
    const fgsm = await attackJson('--method', 'fgsm', '--input', example('digits-3-7.npy'), '--target', '8,1', '--targeted', '--options', JSON.stringify({ ...options, epsilon: 0.2 }));
    const want = (await new FGSM(model, options).perturb(x, { epsilon: 0.2, target: [8, 1], targeted: true })) as HostTensor;
    expect(fgsm.method).toBe('fgsm');
    expect(fgsm.perturbed?.[0]?.name).toBe('x');
    expect(fgsm.perturbed?.[0]?.shape).toEqual([2, 1, 8, 8]);
    expect(fgsm.perturbed?.[0]?.data).toEqual(Array.from(want.data as Float32Array));
    expect(fgsm.predictions.before).toEqual([3, 7]);
    const pgdOptions = { ...options, radius: 0.5, stepSize: 0.05, stepNum: 20 };
    const pgd = await attackJson('--method', 'pgd', '--input', example('digit-3.npy'), '--target', '8', '--targeted', '--options', JSON.stringify(pgdOptions));
    const { lossFunc, lowerBound, upperBound, ...run } = pgdOptions;
    const wantPgd = (await new PGD(model, { lossFunc, lowerBound, upperBound }).perturb(await readTensor(example('digit-3.npy'), 'x'), { ...run, target: 8, targeted: true })) as HostTensor;
    expect(pgd.perturbed?.[0]?.data).toEqual(Array.from(wantPgd.data as Float32Array));
    expect(pgd.predictions).toEqual({ before: [3], after: [8] });
    // every element within the L∞ ball and the bounds
    const x3 = Array.from((await readTensor(example('digit-3.npy'), 'x')).data as Float32Array);
    pgd.perturbed?.[0]?.data.forEach((v, i) => {
      expect(Math.abs(v - (x3[i] as number))).toBeLessThanOrEqual(0.5 + 1e-6);
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(1);
    });
    model.dispose();
  });

  it('min-param finds the smallest epsilon that moves the prediction; compare reports each attack', async () => {
    const found = await attackJson('--method', 'min-param', '--input', example('digit-3.npy'), '--target', '8', '--targeted', '--options', '{"attack":"pgd","argName":"radius","argMin":0,"argMax":1,"argStep":0.05,"mode":"linear","stepSize":0.05,"stepNum":20,"lossFunc":"cross-entropy","lowerBound":0,"upperBound":1}');
    expect(found.param).toBeGreaterThan(0);
    expect(found.param).toBeLessThanOrEqual(0.5);
    expect(found.predictions.after?.[0]).not.toBe(3);
    // one step smaller does not change the prediction (linear search: the first radius that does)
    const smaller = await attackJson('--method', 'pgd', '--input', example('digit-3.npy'), '--target', '8', '--targeted', '--options', JSON.stringify({ radius: (found.param as number) - 0.05, stepSize: 0.05, stepNum: 20, lossFunc: 'cross-entropy', lowerBound: 0, upperBound: 1 }));
    expect(smaller.predictions.after).toEqual([3]);
    const compared = await attackJson('--method', 'compare', '--input', example('digits-3-7.npy'), '--target', '3,7', '--options', '{"attacks":[{"method":"pgd","radius":0.5,"stepSize":0.05,"stepNum":10,"targeted":true,"lossFunc":"cross-entropy"},{"method":"gaussian-noise","std":0.2,"numAttempts":3,"seed":1}]}');
    expect(Object.keys(compared.results ?? {})).toEqual(['Original', 'pgd', 'gaussian-noise']);
    expect((compared.results?.Original as { accuracy: number }).accuracy).toBe(1);
    expect(Object.keys(compared.results?.['gaussian-noise'] as object)).toEqual(['mean', 'min', 'max']);
    expect(Object.keys(compared.summary ?? {})).toContain('Original');
  });

  it('prints a summary without --out', async () => {
    const r = await run('attack', digits, '--method', 'pgd', '--input', example('digit-3.npy'), '--target', '8', '--targeted', '--options', '{"radius":0.5,"stepSize":0.05,"stepNum":20,"lossFunc":"cross-entropy","lowerBound":0,"upperBound":1}');
    expect(r.code).toBe(0);
    expect(r.out).toBe('pgd: predictions 3 → 8 (1 of 1 changed)\n');
  });

  it('bad arguments get one clear line', async () => {
    const cases: [string[], RegExp][] = [
      [['--method', 'fgms', '--input', example('digit-3.npy'), '--target', '3'], /--method: expected one of fgsm, pgd, compare, min-param, got 'fgms'.*Did you mean fgsm\?/],
      [['--method', 'fgsm', '--input', example('digit-3.npy')], /--target: expected the true labels/],
      [['--method', 'fgsm', '--input', example('digit-3.npy'), '--target', 'three'], /--target: expected/],
      [['--method', 'fgsm', '--input', example('digit-3.npy'), '--target', '3', '--options', '{"epsilon":-1}'], /epsilon: expected/],
      [['--method', 'pgd', '--input', example('digit-3.npy'), '--target', '3', '--options', '{"radius":0.1,"stepSize":0.1,"stepNum":2,"norm":"L3"}'], /norm: expected/],
      [['--method', 'fgsm', '--input', example('digit-3.npy'), '--target', '3', '--options', '{"epsilon":0.1,"epsilonn":1}'], /epsilonn/],
      [['--method', 'compare', '--input', example('digit-3.npy'), '--target', '3', '--options', '{}'], /--options.attacks: expected a list of attacks/],
      [['--method', 'compare', '--input', example('digit-3.npy'), '--target', '3', '--options', '{"attacks":[{"method":"noise"}]}'], /--options.attacks\[0\].method: expected one of fgsm, pgd, gaussian-noise/],
      [['--method', 'min-param', '--input', example('digit-3.npy'), '--target', '3', '--options', '{"argName":"epsilon","argMin":0,"argMax":0.01,"argStep":0.1}'], /argMax|argStep/],
    ];
    for (const [args, message] of cases) {
      const r = await run('attack', digits, ...args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.err, args.join(' ')).toMatch(message);
    }
  });
});

