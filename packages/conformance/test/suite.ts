import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { formatReport, loadCases, runCase, runners, type BackendUnderTest, type CaseResult } from '../src/index.js';

/**
 * Runs every conformance case whose method the library implements on one backend, checking the numbers
 * (and, through `liveTensors`, that nothing leaks), then prints `N of M cases passed, K not yet supported`.
 */
export function conformanceSuite<T>(setup: () => Promise<BackendUnderTest<T>>, options: { liveTensors?: () => number } = {}): void {
  const cases = loadCases();
  const results: CaseResult[] = [];
  let but: BackendUnderTest<T> | undefined;
  const ready = (async () => (but = await setup()))();

  describe('Captum conformance', () => {
    afterAll(() => {
      but?.dispose();
      for (const c of cases) if (!runners[c.method]) results.push({ id: c.id, method: c.method, status: 'unsupported' });
      console.log(formatReport(but?.name ?? '?', results));
    });

    it('has the 70 reference cases', async () => {
      await ready;
      expect(loadCases(['cases.json'])).toHaveLength(70);
    });

    for (const c of cases.filter((x) => runners[x.method])) {
      it(c.id, async () => {
        const b = await ready;
        await b.model(c.model); // load or build the weights before counting tensors
        const before = options.liveTensors?.();
        const result = await runCase(c, b);
        results.push(result);
        if (result.status === 'unsupported') return; // not on this backend yet: counted in the report
        expect(result.message ?? '').toBe('');
        expect(result.status).toBe('passed');
        if (options.liveTensors) expect(options.liveTensors()).toBe(before);
      });
    }
  });
}

/** The suite on one tfjs backend, with leak checks through `tf.memory()`. */
export function tfjsConformanceSuite(backend: 'cpu' | 'wasm'): void {
  conformanceSuite(
    async () => {
      expect(await tf.setBackend(backend)).toBe(true);
      await tf.ready();
      const { tfjsUnderTest } = await import('../src/tfjs-backend.js');
      return tfjsUnderTest();
    },
    { liveTensors: () => tf.memory().numTensors },
  );
}
