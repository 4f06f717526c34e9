import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatReport, loadCases, runners, type CaseResult } from '../src/index.js';
import { TfjsModels, runTfjsCase } from '../src/tfjs-backend.js';

/**
 * Runs every conformance case whose method the library implements on one tfjs backend, checking the
 * numbers and that no tensor leaks, then prints `N of M cases passed, K not yet supported`.
 */
export function tfjsConformanceSuite(backend: 'cpu' | 'wasm'): void {
  const cases = loadCases();
  const results: CaseResult[] = [];
  const models = new TfjsModels();

  describe(`Captum conformance on tfjs-${backend}`, () => {
    beforeAll(async () => {
      expect(await tf.setBackend(backend)).toBe(true);
      await tf.ready();
    });
    afterAll(() => {
      models.dispose();
      for (const c of cases) if (!runners[c.method]) results.push({ id: c.id, method: c.method, status: 'unsupported' });
      console.log(formatReport(`tfjs-${backend}`, results));
    });

    it('has the 70 reference cases, 22 of them Integrated Gradients', () => {
      expect(cases).toHaveLength(70);
      expect(cases.filter((c) => c.method === 'integrated-gradients')).toHaveLength(22);
    });

    for (const c of cases.filter((x) => runners[x.method])) {
      it(c.id, async () => {
        models.get(c.model); // build the weights before counting tensors
        const before = tf.memory().numTensors;
        const result = await runTfjsCase(c, models);
        results.push(result);
        expect(result.message ?? '').toBe('');
        expect(result.status).toBe('passed');
        expect(tf.memory().numTensors).toBe(before);
      });
    }
  });
}
