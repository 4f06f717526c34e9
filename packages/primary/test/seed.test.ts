import * as tf from '@tensorflow/tfjs';
import { fromTfjs } from '@attribution/tfjs';
import { describe, expect, it } from 'vitest';
import { IntegratedGradients } from '../src/index.js';

describe('seed example', () => {
  it('reproduces the Captum IG example', async () => {
    await tf.setBackend('cpu');
    const w = tf.tensor2d([[0.1529, -0.2725, -0.1739, 0.3921, 0.2883]]);
    const bias = tf.tensor1d([0.3977]);
    const net = (x: tf.Tensor) => tf.relu(tf.add(tf.matMul(x, w, false, true), bias));
    const ig = new IntegratedGradients(fromTfjs(net));
    const x = tf.tensor2d([[0.7358, 0.1251, 0.8988, 0.3593, 0.5619]]);
    const before = tf.memory().numTensors;
    const { attributions, delta } = await ig.attribute(x, { baselines: 0, target: 0, returnConvergenceDelta: true });
    expect(tf.memory().numTensors - before).toBe(2);
    const a = Array.from(await attributions.data());
    expect(a.map((v) => v.toFixed(4))).toEqual(['0.1125', '-0.0341', '-0.1563', '0.1409', '0.1620']);
    expect(Math.abs((await delta!.data())[0]!)).toBeLessThan(1e-5);
  });
});
