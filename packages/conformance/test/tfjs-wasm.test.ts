import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatReport, loadCases, runners, type CaseResult } from '../src/index.js';
import { TfjsModels, runTfjsCase } from '../src/tfjs-backend.js';

const cases = loadCases().filter((c) => runners[c.method]);
const results: CaseResult[] = [];
const models = new TfjsModels();

describe('Captum conformance on tfjs-wasm', () => {
  beforeAll(async () => {
    expect(await tf.setBackend('wasm')).toBe(true);
    await tf.ready();
  });
  afterAll(() => {
    models.dispose();
    console.log(formatReport('tfjs-wasm', results));
  });

  for (const c of cases) {
    it(c.id, async () => {
      models.get(c.model);
      const before = tf.memory().numTensors;
      const result = await runTfjsCase(c, models);
      results.push(result);
      expect(result.message ?? '').toBe('');
      expect(result.status).toBe('passed');
      expect(tf.memory().numTensors).toBe(before);
    });
  }
});
