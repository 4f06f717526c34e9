import * as tf from '@tensorflow/tfjs';
import { BackendError } from '@attribution/tensor';
import { tfjsBackend } from '@attribution/tfjs';
import { describe, expect, it, vi } from 'vitest';
import { CAV, Concept, conceptFromNpyFolder } from '../src/index.js';

// Outside Node, the `#node-fs` import resolves to no-fs.ts: file access is refused with a BackendError.
vi.mock('#node-fs', async () => await import('../src/no-fs.js'));

describe('without a file system (browser build)', () => {
  it('CAV.save, CAV.load and conceptFromNpyFolder throw BackendErrors', async () => {
    await tf.setBackend('cpu');
    const concepts = [new Concept(0, 'a'), new Concept(1, 'b')];
    const cav = new CAV(concepts, 'hidden', { weights: [[1], [-1]], classes: [0, 1] });
    await expect(cav.save('/tmp/x')).rejects.toThrow(BackendError);
    await expect(CAV.load('/tmp/x', 'm', concepts, 'hidden')).rejects.toThrow(/needs Node/);
    expect(() => conceptFromNpyFolder(tfjsBackend, 0, 'a', '/tmp/x')).toThrow(BackendError);
  });
});
