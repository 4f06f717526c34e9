import * as tf from '@tensorflow/tfjs';
import { expect, it } from 'vitest';
import { runSeedDemo, runSeedDemoOnnx } from '../src/seed.js';

const SEED_LINE = 'IG Attributions: [0.1125, -0.0341, -0.1563, 0.1409, 0.1620]';

it('prints the seed example numbers on TensorFlow.js, without leaking tensors', async () => {
  await tf.setBackend('cpu');
  const before = tf.memory().numTensors;
  const lines = await runSeedDemo();
  expect(lines).toContain(SEED_LINE);
  const delta = Number(lines.find((l) => l.startsWith('Convergence Delta'))!.split(': ')[1]);
  expect(Math.abs(delta)).toBeLessThan(1e-5);
  expect(tf.memory().numTensors).toBe(before);
});

it('prints the same numbers on ONNX Runtime', async () => {
  const lines = await runSeedDemoOnnx();
  expect(lines).toContain(SEED_LINE);
});
