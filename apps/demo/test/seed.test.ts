import * as tf from '@tensorflow/tfjs';
import { expect, it } from 'vitest';
import { runSeedDemo } from '../src/seed.js';

it('prints the seed example numbers', async () => {
  await tf.setBackend('cpu');
  const before = tf.memory().numTensors;
  const lines = await runSeedDemo();
  expect(lines).toContain('IG Attributions: [0.1125, -0.0341, -0.1563, 0.1409, 0.1620]');
  const delta = Number(lines.find((l) => l.startsWith('Convergence Delta'))!.split(': ')[1]);
  expect(Math.abs(delta)).toBeLessThan(1e-5);
  expect(tf.memory().numTensors).toBe(before);
});
