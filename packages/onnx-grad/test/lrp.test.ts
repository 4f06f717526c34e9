import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { ArgumentError } from '@attribution/tensor';
import { transformModel, UnsupportedLrpLayerError, UnsupportedOperatorError, type LrpLayerRule } from '../src/index.js';
import { DataType, encodeModel, makeNode, makeTensor, makeValueInfo, onnx, type ModelProto } from '../src/proto.js';

// Captum 0.8's LRP / LayerLRP on the conformance models (fixtures/captum/make_lrp_cases.py).
const fixtures = new URL('../../conformance/fixtures/', import.meta.url);
interface Case {
  id: string;
  model: string;
  method: string;
  inputs: { name: string; shape: number[]; data: number[] }[];
  target: number | number[];
  layer?: { name: string; onnx: string };
  options: { rules?: Record<string, LrpLayerRule>; attributeToLayerInput?: boolean };
  expected: { attributions: { shape: number[]; data: number[] }[]; delta?: number[] };
}
const cases = (JSON.parse(fs.readFileSync(fileURLToPath(new URL('cases-lrp.json', fixtures)), 'utf8')) as { cases: Case[] }).cases;
const modelBytes = (name: string): Uint8Array => fs.readFileSync(fileURLToPath(new URL(`models/${name}.onnx`, fixtures)));

/** Runs the LRP model: relevance of `wrt` scaled by the target output (Captum's result), and the output. */
async function relevance(bytes: Uint8Array, c: Case, wrt: string): Promise<{ got: Float32Array; out: Float32Array }> {
  const t = transformModel(bytes, { wrt: [wrt], rules: { lrp: { rules: c.options.rules } } });
  const session = await ort.InferenceSession.create(t.bytes);
  const input = c.inputs[0]!;
  const n = input.shape[0]!;
  const probe = await (await ort.InferenceSession.create(bytes)).run({ [input.name]: new ort.Tensor('float32', Float32Array.from(input.data), input.shape) });
  const out = probe[t.output]!.data as Float32Array;
  const classes = out.length / n;
  const targets = Array.isArray(c.target) ? c.target : new Array<number>(n).fill(c.target);
  const w = new Float32Array(out.length);
  targets.forEach((k, i) => (w[i * classes + k] = 1));
  const result = await session.run({ [input.name]: new ort.Tensor('float32', Float32Array.from(input.data), input.shape), [t.weights!]: new ort.Tensor('float32', w, [n, classes]) });
  const g = result[t.gradients[0]!]!.data as Float32Array;
  const per = g.length / n;
  const got = g.map((v, j) => v * out[Math.floor(j / per) * classes + targets[Math.floor(j / per)]!]!);
  const selected = Float32Array.from(targets, (k, i) => out[i * classes + k]!);
  return { got, out: selected };
}

function expectClose(got: ArrayLike<number>, want: readonly number[], atol = 1e-4, rtol = 1e-3): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const [g, w] = [got[i] as number, want[i] as number];
    if (Math.abs(g - w) > atol + rtol * Math.abs(w)) expect(g, `element ${i}`).toBeCloseTo(w, 4);
  }
}

describe('LRP rule set against Captum 0.8', () => {
  for (const c of cases) {
    it(c.id, async () => {
      const bytes = modelBytes(c.model);
      let wrt = c.inputs[0]!.name;
      if (c.layer) {
        wrt = c.layer.onnx;
        if (c.options.attributeToLayerInput) {
          const model = onnx.ModelProto.decode(bytes) as unknown as ModelProto;
          wrt = model.graph!.node.find((node) => node.output.includes(c.layer!.onnx))!.input[0]!;
        }
      }
      const { got, out } = await relevance(bytes, c, wrt);
      expectClose(got, c.expected.attributions[0]!.data);
      if (c.expected.delta) {
        const n = out.length;
        const per = got.length / n;
        const delta = Array.from(out, (o, i) => o - got.slice(i * per, (i + 1) * per).reduce((a, b) => a + b, 0));
        expectClose(delta, c.expected.delta);
      }
    });
  }
});

/** x[1,4] → Gemm → op → output. */
function tinyModel(op: string, attrs: Record<string, number> = {}): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'tiny',
      node: [makeNode('Gemm', ['x', 'W', 'b'], ['h'], { transB: 1 }, 'fc'), makeNode(op, ['h'], ['y'], attrs, 'act')],
      initializer: [makeTensor('W', DataType.FLOAT, [3, 4], [1, -2, 3, -4, 0.5, 0.25, -1, 2, -0.5, 1, 1, 1]), makeTensor('b', DataType.FLOAT, [3], [0.1, -0.2, 0.3])],
      input: [makeValueInfo('x', DataType.FLOAT, [1, 4])],
      output: [makeValueInfo('y', DataType.FLOAT, [1, 3])],
    },
  }) as unknown as ModelProto;
  return encodeModel(model);
}

describe('LRP refusals and rules', () => {
  it('refuses an operator without an LRP rule, naming the node', () => {
    let error: unknown;
    try {
      transformModel(tinyModel('Sigmoid'), { wrt: ['x'], rules: { lrp: {} } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UnsupportedOperatorError);
    expect((error as UnsupportedOperatorError).opType).toBe('Sigmoid');
    expect((error as UnsupportedOperatorError).node).toBe('act');
    expect(error).toBeInstanceOf(UnsupportedLrpLayerError);
    expect((error as Error).message).toMatch(/^LRP has no rule for ONNX operator Sigmoid \(1 node, first 'act'\)\. Captum's LRP refuses/);
  });

  it('applies an assigned rule to an operator without a default (Captum: a module given a rule)', async () => {
    const bytes = tinyModel('Sigmoid');
    const t = transformModel(bytes, { wrt: ['x'], rules: { lrp: { rules: { act: { rule: 'identity' } } } } });
    const session = await ort.InferenceSession.create(t.bytes);
    const x = new ort.Tensor('float32', Float32Array.from([1, 2, -1, 0.5]), [1, 4]);
    const w = new ort.Tensor('float32', Float32Array.from([1, 0, 0]), [1, 3]);
    const r = (await session.run({ x, [t.weights!]: w }))[t.gradients[0]!]!.data as Float32Array;
    // Identity through the sigmoid, then ε-LRP through fc: x ⊙ W[0] / z0 with z0 = 1 - 4 - 3 - 2 + 0.1.
    const z0 = 1 - 4 - 3 - 2 + 0.1;
    expectClose(r, [1 / z0, -4 / z0, -3 / z0, -2 / z0], 1e-6, 1e-5);
  });

  it('the gamma and alpha1beta0 rules change the weights of the layer they name', async () => {
    const bytes = tinyModel('Relu');
    const x = new ort.Tensor('float32', Float32Array.from([1, 2, -1, 0.5]), [1, 4]);
    const w = new ort.Tensor('float32', Float32Array.from([0, 0, 1]), [1, 3]);
    const run = async (rule: LrpLayerRule): Promise<Float32Array> => {
      const t = transformModel(bytes, { wrt: ['x'], rules: { lrp: { rules: { fc: rule } } } });
      const session = await ort.InferenceSession.create(t.bytes);
      return (await session.run({ x, [t.weights!]: w }))[t.gradients[0]!]!.data as Float32Array;
    };
    // Row 2 of W: [-0.5, 1, 1, 1], b = 0.3.
    const gw = [-0.5, 1.25, 1.25, 1.25];
    const zg = -0.5 * 1 + 1.25 * 2 - 1.25 + 1.25 * 0.5 + 0.3;
    expectClose(await run({ rule: 'gamma', gamma: 0.25 }), gw.map((v, i) => ([1, 2, -1, 0.5][i] as number) * v / zg), 1e-6, 1e-5);
    const aw = [0, 1, 1, 1];
    const za = 2 - 1 + 0.5;
    expectClose(await run({ rule: 'alpha1beta0', setBiasToZero: true }), aw.map((v, i) => ([1, 2, -1, 0.5][i] as number) * v / za), 1e-6, 1e-5);
    const ze = -0.5 + 2 - 1 + 0.5 + 0.3;
    expectClose(await run({ rule: 'epsilon', epsilon: 0.25 }), [-0.5, 1, 1, 1].map((v, i) => ([1, 2, -1, 0.5][i] as number) * v / (ze + 0.25)), 1e-6, 1e-5);
  });

  it('refuses rules naming no layer, and malformed rules', () => {
    expect(() => transformModel(tinyModel('Relu'), { wrt: ['x'], rules: { lrp: { rules: { nope: { rule: 'epsilon' } } } } })).toThrow(ArgumentError);
    expect(() => transformModel(tinyModel('Relu'), { wrt: ['x'], rules: { lrp: { rules: { fc: { rule: 'zeta' } as unknown as LrpLayerRule } } } })).toThrow(ArgumentError);
  });
});

// BatchNorm2d, AvgPool2d, AdaptiveAvgPool2d and the alpha1beta0, identity and bias-free gamma rules, against
// Captum 0.8 on a model exported by torch.onnx (fixtures/lrp, made by conformance's make_lrp_cases.py).
describe('LRP rules beyond the conformance models, against Captum 0.8', () => {
  const dir = new URL('fixtures/lrp/', import.meta.url);
  const bytes = fs.readFileSync(fileURLToPath(new URL('bn_cnn.onnx', dir)));
  const file = JSON.parse(fs.readFileSync(fileURLToPath(new URL('bn_cnn.cases.json', dir)), 'utf8')) as {
    input: { shape: number[]; data: number[] };
    target: number[];
    cases: { id: string; rules: Record<string, LrpLayerRule>; layer?: string; attributeToLayerInput?: boolean; expected: { data: number[] }; delta: number[] }[];
  };
  const model = onnx.ModelProto.decode(bytes) as unknown as ModelProto;
  it('the exported model has the operators the rules cover', () => {
    expect(model.graph!.node.map((n) => n.opType).filter((op) => op !== 'Constant')).toEqual(['Conv', 'Relu', 'BatchNormalization', 'Pad', 'AveragePool', 'Conv', 'Relu', 'GlobalAveragePool', 'Flatten', 'Gemm']);
  });
  for (const c of file.cases) {
    it(c.id, async () => {
      let wrt = 'x';
      if (c.layer) {
        const node = model.graph!.node.find((n) => n.opType === 'BatchNormalization')!;
        wrt = (c.attributeToLayerInput ? node.input[0] : node.output[0])!;
      }
      const asCase = {
        id: c.id,
        model: '',
        method: 'lrp',
        inputs: [{ name: 'x', ...file.input }],
        target: file.target,
        options: { rules: c.rules },
        expected: { attributions: [{ shape: [], data: c.expected.data }] },
      };
      const { got, out } = await relevance(bytes, asCase, wrt);
      expectClose(got, c.expected.data);
      const per = got.length / out.length;
      expectClose(Array.from(out, (o, i) => o - got.slice(i * per, (i + 1) * per).reduce((a, b) => a + b, 0)), c.delta);
    });
  }
});
