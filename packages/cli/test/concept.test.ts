import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SGDClassifier, TCAV, conceptFromNpyFolder, scoresAcross, tTest } from '@attribution/concept';
import { fromOnnx } from '@attribution/onnx';
import { dump } from 'npyjs';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { readTensor } from '../src/read.js';
import { run } from './run.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const digits = path.join(here, '../../conformance/fixtures/real/digits_cnn.onnx');
const concepts = path.join(here, '../examples/concepts');
const layer = '/3/Relu_output_0';
const RANDOMS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
const folders = ['--concept', `${concepts}/horizontal.npy`, '--concept', `vertical=${concepts}/vertical.npy`, ...RANDOMS.flatMap((i) => ['--random', `${concepts}/random_${i}.npy`])];

interface Written {
  method: string;
  scores: Record<string, Record<string, { signCount: number[]; magnitude: number[] }>>;
  significance: Record<string, Record<string, { tcavScore: number; randomScore: number; pValue: number; significant: boolean; scores: number[] }>>;
  cavAccuracy: Record<string, Record<string, number>>;
  concepts: { id: number; name: string }[];
}

describe('attribution concept', () => {
  it('scores folders of concept examples against random folders, as the library does; a horizontal stroke drives the 9s', async () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'attribution-concept-')), 'r.json');
    const r = await run('concept', digits, '--layer', layer, ...folders, '--input', `${concepts}/nines.npy`, '--target', '9', '--out', out);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const w = JSON.parse(fs.readFileSync(out, 'utf8')) as Written;
    expect(w.method).toBe('tcav');
    expect(w.concepts.map((c) => c.name)).toEqual(['horizontal', 'vertical']);
    // the same with the library
    const model = await fromOnnx(ort, digits);
    // The library on the same examples: folders of one .npy file per example, written from the stacks.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attribution-concepts-'));
    const make = async (name: string, id: number) => {
      const stack = await readTensor(`${concepts}/${name}.npy`, name);
      fs.mkdirSync(path.join(dir, name));
      for (let k = 0; k < (stack.dims[0] as number); k++) {
        fs.writeFileSync(path.join(dir, name, `${String(k).padStart(3, '0')}.npy`), new Uint8Array(dump(Float32Array.from((stack.data as Float32Array).subarray(k * 64, (k + 1) * 64)), [1, 8, 8])));
      }
      return conceptFromNpyFolder(model.backend, id, name, path.join(dir, name));
    };
    const [h, v] = [await make('horizontal', 0), await make('vertical', 1)];
    const randoms = await Promise.all(RANDOMS.map((i) => make(`random_${i}`, 2 + i)));
    const tcav = new TCAV(model, layer, { modelId: 'digits_cnn.onnx', classifier: new SGDClassifier({ seed: 0 }) });
    const own = randoms.map((rnd) => [h, rnd]);
    const null_ = randoms.slice(1).map((rnd) => [randoms[0]!, rnd]);
    const scores = await tcav.interpret(await readTensor(`${concepts}/nines.npy`, 'x'), [...own, ...randoms.map((rnd) => [v, rnd]), ...null_], { target: 9 });
    expect(w.scores).toEqual(JSON.parse(JSON.stringify(scores)));
    const test = tTest(scoresAcross(scores, own, layer), scoresAcross(scores, null_, layer));
    const horizontal = w.significance.horizontal![layer]!;
    expect(horizontal.pValue).toBeCloseTo(test.pValue, 12);
    expect(horizontal.significant).toBe(true);
    expect(horizontal.tcavScore).toBeGreaterThanOrEqual(0.85);
    expect(w.significance.vertical![layer]!.significant).toBe(false);
    // a stroke is told from random pixels (held-out accuracy, 13 examples per pair)
    for (const key of [0, 1].flatMap((c) => RANDOMS.map((r) => `${c}-${r + 2}`))) expect(w.cavAccuracy[key]?.[layer], key).toBeGreaterThanOrEqual(0.75);
    model.dispose();
  });

  it('without random folders scores the concepts as one set; prints a summary without --out', async () => {
    const r = await run('concept', digits, '--layer', layer, '--concept', `h=${concepts}/horizontal.npy`, '--concept', `v=${concepts}/vertical.npy`, '--input', `${concepts}/nines.npy`, '--target', '9', '--options', '{"classifier":"ridge"}');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^\/3\/Relu_output_0: h \d\.\d{3}, v \d\.\d{3}\n$/);
    const sig = await run('concept', digits, '--layer', layer, ...folders, '--input', `${concepts}/nines.npy`, '--target', '9');
    expect(sig.out).toMatch(/^horizontal at \/3\/Relu_output_0: TCAV score 0\.900 \(random 0\.\d+\), p = [\d.e-]+\nvertical at .* \(not significant\)\n$/);
  });

  it('bad arguments get one clear line', async () => {
    const input = ['--input', `${concepts}/nines.npy`, '--target', '9'];
    const cases: [string[], RegExp][] = [
      [[...folders, ...input], /--layer: expected at least one layer/],
      [['--layer', layer, ...input], /--concept: expected at least one concept/],
      [['--layer', layer, '--concept', `h=${concepts}/horizontal.npy`, '--random', `${concepts}/random_0.npy`, ...input], /--random: expected at least two random folders/],
      [['--layer', layer, '--concept', `h=${concepts}/horizontal.npy`, ...input], /--concept: expected two or more concepts/],
      [['--layer', layer, '--concept', `h=${concepts}/horizontal.npy`, '--concept', `h=${concepts}/vertical.npy`, ...input], /distinct concept names, got 'h' twice/],
      [['--layer', layer, ...folders, ...input, '--options', '{"classifier":"svm"}'], /--options.classifier: expected 'sgd'/],
      [['--layer', layer, ...folders, ...input, '--options', '{"seeds":1}'], /--options: expected only classifier/],
      [['--layer', layer, '--concept', `h=${concepts}/nowhere`, '--concept', `v=${concepts}/vertical.npy`, ...input], /folder: expected a readable folder of \.npy files/],
      [['--layer', layer, '--concept', `h=${concepts}/nowhere.npy`, '--concept', `v=${concepts}/vertical.npy`, ...input], /--concept #1: expected a readable \.npy/],
      [['--layer', '/3/Relu_outptu_0', ...folders, ...input], /layer/],
    ];
    for (const [args, message] of cases) {
      const r = await run('concept', digits, ...args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.err, args.join(' ')).toMatch(message);
    }
  });
});
