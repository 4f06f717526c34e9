// docs:start (the example of docs/exporting-onnx.md, "Add a rule": the test checks the page shows it verbatim)
import { registerDecomposition, registerGradient, type Decomposition, type GradientRule } from '@attribution/onnx-grad';

/** Swaps the last two axes of a tensor of the given rank. */
const lastTwoSwapped = (rank: number): number[] => [...Array(rank - 2).keys(), rank - 1, rank - 2];

// ONNX Runtime's Inverse (com.microsoft) has no backward rule: with Y = A⁻¹, dA = −Yᵀ · dY · Yᵀ.
const inverseGrad: GradientRule = {
  inputs: [0], // the inputs that receive gradients (the others are treated as constants)
  backward: (c) => {
    const { e } = c; // emits the nodes of the backward graph
    const yt = e.transpose(c.output(0), lastTwoSwapped(c.rank(c.input(0)))); // Yᵀ, from the forward result
    const dy = c.dy() as string; // the gradient flowing into the output
    return [e.neg(e.op('MatMul', [e.op('MatMul', [yt, dy]), yt]))]; // one gradient per input position
  },
};
registerGradient('Inverse', inverseGrad, 'gradient', 'com.microsoft');

// FusedMatMul (com.microsoft), alpha · op(A) · op(B), has none either: rewrite it, in the gradient model
// only, into operators that have rules.
const fusedMatMul: Decomposition = {
  expand: (c) => {
    const { e } = c;
    if (c.attrInt('transBatchA', 0) || c.attrInt('transBatchB', 0)) c.unsupported('transBatchA or transBatchB');
    const [a, b] = [0, 1].map((i) => {
      const t = c.input(i);
      return c.attrInt(i === 0 ? 'transA' : 'transB', 0) ? e.transpose(t, lastTwoSwapped(c.rank(t))) : t;
    }) as [string, string];
    return [e.mul(e.op('MatMul', [a, b]), e.scalar(c.attrFloat('alpha', 1), c.input(0)))];
  },
};
registerDecomposition('FusedMatMul', fusedMatMul, 'com.microsoft');
// docs:end

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { expect, it } from 'vitest';
import { transformModel } from '@attribution/onnx-grad';
import { DataType, encodeModel, makeNode, makeValueInfo, onnx, type ModelProto, type NodeProto } from '../src/proto.js';

const here = fileURLToPath(import.meta.url);
const DOC = path.resolve(path.dirname(here), '../../../docs/exporting-onnx.md');

it('docs/exporting-onnx.md shows the example as it is tested', () => {
  const source = fs.readFileSync(here, 'utf8');
  const example = source.slice(source.indexOf('\n', source.indexOf('// docs:start')) + 1, source.indexOf('// docs:end'));
  expect(fs.readFileSync(DOC, 'utf8')).toContain(`\`\`\`ts\n${example}\`\`\``);
});

const ms = (node: NodeProto): NodeProto => ({ ...node, domain: 'com.microsoft' });

it('differentiates Inverse with the registered rule and FusedMatMul through its decomposition', async () => {
  // y = 0.5 · A⁻¹ · Aᵀ for a batch of two 3 × 3 matrices A.
  const model = encodeModel(onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }, { domain: 'com.microsoft', version: 1 }],
    graph: {
      name: 'custom',
      node: [ms(makeNode('Inverse', ['a'], ['inv'])), ms(makeNode('FusedMatMul', ['inv', 'a'], ['y'], { transB: 1, alpha: { f: 0.5 } }))],
      input: [makeValueInfo('a', DataType.FLOAT, [2, 3, 3])],
      valueInfo: [makeValueInfo('inv', DataType.FLOAT, [2, 3, 3])],
      output: [makeValueInfo('y', DataType.FLOAT, [2, 3, 3])],
    },
  }) as unknown as ModelProto);
  const built = transformModel(model, { wrt: ['a'] });
  const a = Float32Array.from({ length: 18 }, (_, i) => (i % 9 === 0 || i % 9 === 4 || i % 9 === 8 ? 2 : 0) + 0.3 * Math.sin(1.7 * i + 0.4));
  const w = Float32Array.from({ length: 18 }, (_, i) => Math.cos(0.9 * i));
  const gradientSession = await ort.InferenceSession.create(built.bytes);
  const forwardSession = await ort.InferenceSession.create(model);
  try {
    const out = await gradientSession.run({ a: new ort.Tensor('float32', a, [2, 3, 3]), [built.weights as string]: new ort.Tensor('float32', w, [2, 3, 3]) });
    const grad = out[built.gradients[0] as string]?.data as Float32Array;
    // Central differences of Σ y ⊙ w, computed by ONNX Runtime's own kernels.
    const f = async (x: Float32Array): Promise<number> => {
      const y = (await forwardSession.run({ a: new ort.Tensor('float32', x, [2, 3, 3]) })).y?.data as Float32Array;
      return y.reduce((s, v, i) => s + v * (w[i] as number), 0);
    };
    const h = 1e-2;
    for (let i = 0; i < a.length; i++) {
      const up = Float32Array.from(a);
      const down = Float32Array.from(a);
      up[i] = (up[i] as number) + h;
      down[i] = (down[i] as number) - h;
      const numeric = ((await f(up)) - (await f(down))) / (2 * h);
      expect(Math.abs((grad[i] as number) - numeric)).toBeLessThan(2e-2 * Math.max(1, Math.abs(numeric)));
    }
  } finally {
    await gradientSession.release();
    await forwardSession.release();
  }
});
