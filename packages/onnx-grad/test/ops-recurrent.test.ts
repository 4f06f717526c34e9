import fs from 'node:fs';
import * as ort from 'onnxruntime-node';
import { createRandom, type Random } from '@attribution/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidModelError, UnsupportedOperatorError } from '../src/errors.js';
import { Graph } from '../src/graph.js';
import { hasShapeArithmetic, inspectModel, transformModel } from '../src/index.js';
import { DataType, decodeModel, encodeModel, makeTensor, type AttrValue, type NodeProto, type TensorProto } from '../src/proto.js';
import { inferShapes } from '../src/shapes.js';
import { buildGradientModel, buildModel, checkGradient, floats, ints, loadSession, node, type TestInput, type TestModel } from './op-model.js';

// LSTM, GRU and RNN have no backward rule: the gradient builder unrolls them over their time steps into
// operators that have one (src/decompose). Each variant is checked three ways, on random shapes (seeded):
//  1. gradients of the unrolled graph against central finite differences of ONNX Runtime's own operator
//     (float32: ONNX Runtime has no float64 kernels for these operators);
//  2. the same gradients against finite differences of the unrolled graph itself, in float64;
//  3. the unrolled forward pass against ONNX Runtime's operator, every output, to float32 precision.
// Layout 1 (which ONNX Runtime's CPU kernels refuse) is compared with layout 0 between transposes.

type Op = 'LSTM' | 'GRU' | 'RNN';

/** A recurrent node and how it is used. */
interface Spec {
  readonly op: Op;
  readonly direction?: 'forward' | 'reverse' | 'bidirectional';
  /** initial_h (and the LSTM's initial_c) as differentiated inputs. */
  readonly initial?: boolean;
  /** sequence_lens as a constant or a graph input. */
  readonly lengths?: 'constant' | 'input';
  readonly layout?: 1;
  readonly opset?: number;
  readonly clip?: number;
  readonly activations?: readonly string[];
  readonly alpha?: readonly number[];
  readonly beta?: readonly number[];
  readonly inputForget?: boolean;
  readonly peepholes?: boolean;
  readonly linearBeforeReset?: boolean;
  readonly bias?: boolean;
  /** The outputs used (the others are absent from the node); several are concatenated, flattened. */
  readonly outputs?: readonly ('Y' | 'Y_h' | 'Y_c')[];
  /** W, R and B as graph inputs (differentiated too) rather than initializers. */
  readonly weightsAsInputs?: boolean;
  /** Leave hidden_size out (read from W). */
  readonly noHiddenSize?: boolean;
  /** A declared symbolic sequence length, specialised to concrete shapes when the gradient model is built. */
  readonly symbolicLength?: boolean;
  /** Finite differences across the kinks of ReLU-like activations or the clip need a smaller step. */
  readonly kinks?: boolean;
}

const GATES: Record<Op, number> = { LSTM: 4, GRU: 3, RNN: 1 };
const normal = (rng: Random, n: number, scale: number): number[] => Array.from({ length: n }, () => scale * rng.normal());

/** A model around one recurrent node: its output `y` concatenates the outputs used, flattened. */
function recurrentModel(rng: Random, spec: Spec): TestModel {
  const { op } = spec;
  const dirs = spec.direction === 'bidirectional' ? 2 : 1;
  const steps = spec.lengths ? 2 + rng.int(3) : 1 + rng.int(4);
  const batch = 1 + rng.int(3);
  const inputSize = 1 + rng.int(3);
  const h = 1 + rng.int(3);
  const g = GATES[op] * h;
  const layout1 = spec.layout === 1;
  const x: TestInput = { name: 'X', shape: layout1 ? [batch, steps, inputSize] : [steps, batch, inputSize] };
  const inputs: TestInput[] = [spec.symbolicLength ? { ...x, declared: layout1 ? [batch, 'seq', inputSize] : ['seq', batch, inputSize] } : x];
  const initializers: TensorProto[] = [];
  const weight = (name: string, shape: number[], scale: number): void => {
    const values = normal(rng, shape.reduce((a, b) => a * b, 1), scale);
    if (spec.weightsAsInputs) inputs.push({ name, shape, values });
    else initializers.push(floats(name, shape, values));
  };
  weight('W', [dirs, g, inputSize], 0.7);
  weight('R', [dirs, g, h], 0.7);
  const bias = spec.bias ?? true;
  if (bias) weight('B', [dirs, 2 * g], 0.5);
  if (spec.lengths) {
    const values = Array.from({ length: batch }, () => 1 + rng.int(steps));
    // At least one row shorter than the sequence (0 steps for LSTM and GRU; ONNX Runtime's RNN reads
    // out of bounds for an empty row).
    values[rng.int(batch)] = op === 'RNN' ? 1 + rng.int(steps - 1) : rng.int(steps);
    if (spec.lengths === 'constant') initializers.push(makeTensor('L', DataType.INT32, [batch], values));
    else inputs.push({ name: 'L', shape: [batch], type: 'int32', values });
  }
  const state = layout1 ? [batch, dirs, h] : [dirs, batch, h];
  if (spec.initial) {
    inputs.push({ name: 'H0', shape: state, draw: 'unit' });
    if (op === 'LSTM') inputs.push({ name: 'C0', shape: state, draw: 'unit' });
  }
  if (spec.peepholes) initializers.push(floats('P', [dirs, 3 * h], normal(rng, dirs * 3 * h, 0.5)));

  const nodeInputs = ['X', 'W', 'R', bias ? 'B' : '', spec.lengths ? 'L' : '', spec.initial ? 'H0' : ''];
  if (op === 'LSTM') nodeInputs.push(spec.initial ? 'C0' : '', spec.peepholes ? 'P' : '');
  while (nodeInputs[nodeInputs.length - 1] === '') nodeInputs.pop();
  const used = spec.outputs ?? (op === 'LSTM' ? ['Y', 'Y_h', 'Y_c'] : ['Y', 'Y_h']);
  const outputs = (op === 'LSTM' ? ['Y', 'Y_h', 'Y_c'] : ['Y', 'Y_h']).map((o) => (used.includes(o as 'Y') ? o : ''));
  while (outputs[outputs.length - 1] === '') outputs.pop();
  const attrs: Record<string, AttrValue | undefined> = {
    hidden_size: spec.noHiddenSize ? undefined : h,
    direction: spec.direction,
    clip: spec.clip === undefined ? undefined : { f: spec.clip },
    activations: spec.activations ? { strings: spec.activations } : undefined,
    activation_alpha: spec.alpha ? { floats: spec.alpha } : undefined,
    activation_beta: spec.beta ? { floats: spec.beta } : undefined,
    input_forget: spec.inputForget ? 1 : undefined,
    linear_before_reset: spec.linearBeforeReset ? 1 : undefined,
  };
  const combine = (names: readonly string[]): NodeProto[] =>
    names.length === 1
      ? [node('Identity', [names[0] as string], ['y'])]
      : [...names.map((n) => node('Reshape', [n, 'flat'], [`${n}_flat`])), node('Concat', names.map((n) => `${n}_flat`), ['y'], { axis: 0 })];
  initializers.push(ints('flat', [-1]));
  const recurrent = node(op, nodeInputs, outputs, { ...attrs, layout: layout1 ? 1 : undefined });
  const nodes = [recurrent, ...combine(used)];
  // ONNX Runtime's kernels need hidden_size, and run layout 0 only: the reference computes the same with
  // hidden_size given, and layout 0 between transposes in place of layout 1.
  const refAttrs = { ...attrs, hidden_size: h };
  const reference = layout1
    ? {
        nodes: [
          node('Transpose', ['X'], ['X0'], { perm: [1, 0, 2] }),
          ...(spec.initial ? [node('Transpose', ['H0'], ['H00'], { perm: [1, 0, 2] })] : []),
          ...(spec.initial && op === 'LSTM' ? [node('Transpose', ['C0'], ['C00'], { perm: [1, 0, 2] })] : []),
          node(op, nodeInputs.map((n) => (n === 'X' ? 'X0' : n === 'H0' ? 'H00' : n === 'C0' ? 'C00' : n)), outputs.map((o) => (o ? `${o}0` : '')), refAttrs),
          ...used.map((o) => node('Transpose', [`${o}0`], [o], { perm: o === 'Y' ? [2, 0, 1, 3] : [1, 0, 2] })),
          ...combine(used),
        ],
      }
    : spec.noHiddenSize
      ? { nodes: [node(op, nodeInputs, outputs, refAttrs), ...combine(used)] }
      : undefined;
  return {
    nodes,
    inputs,
    initializers,
    output: 'y',
    opset: spec.opset ?? (layout1 ? 14 : 13),
    reference,
    specialise: spec.symbolicLength,
    fd: spec.kinks ? { step: 1e-3, atol: 4e-3, rtol: 3e-2 } : undefined,
  };
}

type Case = [name: string, spec: Spec];

const cases: Case[] = [
  ['LSTM (defaults, Y, Y_h and Y_c)', { op: 'LSTM' }],
  ['LSTM reverse with initial states', { op: 'LSTM', direction: 'reverse', initial: true }],
  ['LSTM bidirectional with initial states (opset 11)', { op: 'LSTM', direction: 'bidirectional', initial: true, opset: 11 }],
  ['LSTM without bias, Y only (opset 18)', { op: 'LSTM', bias: false, outputs: ['Y'], opset: 18 }],
  ['LSTM Y_h only, no hidden_size attribute', { op: 'LSTM', outputs: ['Y_h'], noHiddenSize: true, initial: true }],
  ['LSTM Y_c only (opset 21)', { op: 'LSTM', outputs: ['Y_c'], initial: true, opset: 21 }],
  ['LSTM with peepholes', { op: 'LSTM', peepholes: true, initial: true }],
  ['LSTM bidirectional with peepholes and input_forget', { op: 'LSTM', direction: 'bidirectional', peepholes: true, inputForget: true, initial: true }],
  ['LSTM with clip', { op: 'LSTM', clip: 0.9, initial: true, kinks: true }],
  ['LSTM with constant sequence_lens', { op: 'LSTM', lengths: 'constant', initial: true }],
  ['LSTM reverse with sequence_lens as an input', { op: 'LSTM', direction: 'reverse', lengths: 'input', initial: true }],
  ['LSTM bidirectional with constant sequence_lens (opset 11)', { op: 'LSTM', direction: 'bidirectional', lengths: 'constant', initial: true, opset: 11 }],
  ['LSTM bidirectional with sequence_lens as an input, no initial states', { op: 'LSTM', direction: 'bidirectional', lengths: 'input' }],
  ['LSTM layout 1 (opset 14)', { op: 'LSTM', layout: 1, initial: true }],
  ['LSTM layout 1, bidirectional with sequence_lens', { op: 'LSTM', layout: 1, direction: 'bidirectional', lengths: 'input', initial: true, opset: 17 }],
  ['LSTM activations (Tanh, Softsign, Sigmoid)', { op: 'LSTM', activations: ['Tanh', 'Softsign', 'Sigmoid'], initial: true }],
  [
    'LSTM bidirectional activations with parameters (HardSigmoid, Elu, ScaledTanh; LeakyRelu, Affine, Softplus)',
    { op: 'LSTM', direction: 'bidirectional', activations: ['HardSigmoid', 'Elu', 'ScaledTanh', 'LeakyRelu', 'Affine', 'Softplus'], alpha: [0.3, 0.8, 1.2, 0.1, 0.7], beta: [0.45, 0.9, 0.2], initial: true, kinks: true },
  ],
  ['LSTM with Relu (kinks)', { op: 'LSTM', activations: ['Sigmoid', 'Relu', 'Tanh'], initial: true, kinks: true }],
  ['LSTM with W, R and B as inputs', { op: 'LSTM', weightsAsInputs: true, initial: true, direction: 'reverse' }],
  ['LSTM with a symbolic sequence length (specialised)', { op: 'LSTM', symbolicLength: true, initial: true }],
  ['GRU (defaults)', { op: 'GRU' }],
  ['GRU linear_before_reset', { op: 'GRU', linearBeforeReset: true, initial: true }],
  ['GRU linear_before_reset without bias or initial state', { op: 'GRU', linearBeforeReset: true, bias: false }],
  ['GRU reverse, Y_h only', { op: 'GRU', direction: 'reverse', initial: true, outputs: ['Y_h'] }],
  ['GRU bidirectional linear_before_reset (opset 11)', { op: 'GRU', direction: 'bidirectional', linearBeforeReset: true, initial: true, opset: 11 }],
  ['GRU with clip', { op: 'GRU', clip: 0.8, initial: true, kinks: true }],
  ['GRU with constant sequence_lens, linear_before_reset', { op: 'GRU', lengths: 'constant', linearBeforeReset: true, initial: true }],
  ['GRU reverse with constant sequence_lens', { op: 'GRU', direction: 'reverse', lengths: 'constant', initial: true }],
  ['GRU bidirectional with sequence_lens as an input', { op: 'GRU', direction: 'bidirectional', lengths: 'input', initial: true, opset: 18 }],
  ['GRU layout 1 (opset 14)', { op: 'GRU', layout: 1, direction: 'bidirectional', initial: true, linearBeforeReset: true }],
  ['GRU activations (Tanh, Sigmoid; Softsign, Tanh)', { op: 'GRU', direction: 'bidirectional', activations: ['Tanh', 'Sigmoid', 'Softsign', 'Tanh'], initial: true }],
  ['GRU activations (Sigmoid, Relu)', { op: 'GRU', activations: ['Sigmoid', 'Relu'], initial: true, kinks: true }],
  [
    'GRU activations with parameters (HardSigmoid, ThresholdedRelu)',
    { op: 'GRU', activations: ['HardSigmoid', 'ThresholdedRelu'], alpha: [0.25, 0.1], beta: [0.4], initial: true, kinks: true },
  ],
  ['RNN (defaults)', { op: 'RNN' }],
  ['RNN reverse with initial state', { op: 'RNN', direction: 'reverse', initial: true }],
  ['RNN bidirectional (opset 11)', { op: 'RNN', direction: 'bidirectional', initial: true, opset: 11 }],
  ['RNN Y_h only without bias', { op: 'RNN', outputs: ['Y_h'], bias: false, initial: true }],
  ['RNN with clip', { op: 'RNN', clip: 0.7, initial: true, kinks: true }],
  ['RNN with constant sequence_lens', { op: 'RNN', lengths: 'constant', initial: true }],
  ['RNN bidirectional with sequence_lens as an input', { op: 'RNN', direction: 'bidirectional', lengths: 'input', initial: true }],
  ['RNN layout 1 (opset 14)', { op: 'RNN', layout: 1, direction: 'reverse', initial: true, lengths: 'constant' }],
  ['RNN activations (Sigmoid; Relu)', { op: 'RNN', direction: 'bidirectional', activations: ['Sigmoid', 'Relu'], initial: true, kinks: true }],
  ['RNN activation with parameters (LeakyRelu)', { op: 'RNN', activations: ['LeakyRelu'], alpha: [0.2], initial: true, kinks: true }],
];

/** Op types of a serialised model. */
const opTypes = (bytes: Uint8Array): string[] => (decodeModel(bytes).graph?.node ?? []).map((n) => n.opType);

/**
 * The unrolled forward pass (the first output of the gradient model) against ONNX Runtime's operator (or
 * the layout-0 reference), in float32: the largest |unrolled − ONNX Runtime| / (atol + rtol·|ONNX Runtime|).
 */
async function forwardEquivalence(m: TestModel, seed: number): Promise<{ worst: number; where: string; ops: string[] }> {
  const rng = createRandom(seed);
  const bytes = encodeModel(buildModel(m, DataType.FLOAT));
  const fed = m.inputs.filter((i) => !(i.values && i.constant));
  const values = new Map(fed.map((i) => [i.name, i.values ? [...i.values] : Array.from({ length: i.shape.reduce((a, b) => a * b, 1) }, () => (i.draw === 'unit' ? 0.8 * (2 * rng.next() - 1) : rng.normal()))]));
  const feeds: Record<string, ort.Tensor> = {};
  for (const i of fed) {
    const v = values.get(i.name) as number[];
    feeds[i.name] = i.type === 'int32' ? new ort.Tensor('int32', Int32Array.from(v), i.shape) : new ort.Tensor('float32', Float32Array.from(v), i.shape);
  }
  const wrt = fed.filter((i) => (i.type ?? 'float') === 'float').map((i) => i.name);
  const inputShapes = m.specialise ? Object.fromEntries(fed.map((i) => [i.name, i.shape])) : undefined;
  const built = buildGradientModel(bytes, { wrt, inputShapes });
  const reference = m.reference ? encodeModel(buildModel({ ...m, nodes: m.reference.nodes }, DataType.FLOAT)) : bytes;
  const [unrolled, original] = await Promise.all([loadSession(built.bytes), loadSession(reference)]);
  const expected = (await original.run(feeds))[m.output] as ort.Tensor;
  const w = new ort.Tensor('float32', new Float32Array(expected.size), expected.dims);
  const actual = (await unrolled.run({ ...feeds, [built.weights as string]: w }))[built.output] as ort.Tensor;
  expect(actual.dims).toEqual(expected.dims);
  const [a, b] = [actual.data as Float32Array, expected.data as Float32Array];
  let worst = 0;
  let where = '';
  for (let i = 0; i < b.length; i++) {
    const ratio = Math.abs((a[i] as number) - (b[i] as number)) / (2e-6 + 2e-6 * Math.abs(b[i] as number));
    if (!(ratio <= worst)) {
      worst = Number.isNaN(ratio) ? Infinity : ratio;
      where = `y[${i}]: unrolled ${a[i]}, ONNX Runtime ${b[i]}`;
    }
  }
  return { worst, where, ops: opTypes(built.bytes) };
}

describe('LSTM, GRU and RNN unrolled for gradients', () => {
  const kinds = new Map<string, Set<string>>();
  afterAll(() => {
    const summary = [...kinds].map(([k, v]) => `${k}: ${[...v].join('/')}`).join('; ');
    console.log(`${cases.length} recurrent cases × 3 seeds; finite differences of ONNX Runtime's operator in ${summary || 'n/a'}`);
  });
  for (const [name, spec] of cases) {
    for (const seed of [1, 2, 3]) {
      const build = (): TestModel => recurrentModel(createRandom(1000 * seed + name.length), spec);
      it(`${name} #${seed}: gradients against finite differences of ONNX Runtime's ${spec.op}`, async () => {
        const result = await checkGradient(build(), seed);
        const seen = kinds.get(spec.op) ?? new Set<string>();
        seen.add(result.type);
        kinds.set(spec.op, seen);
        expect(result.worst, `${result.type}: ${result.where}`).toBeLessThanOrEqual(1);
      });
      it(`${name} #${seed}: gradients against float64 finite differences of the unrolled graph`, async () => {
        // ONNX Runtime has float64 kernels for Sigmoid, Tanh and Relu (not for the other activations). float64
        // steps are far too small to straddle a kink: the default step and tolerances apply.
        const float64 = (spec.activations ?? []).every((a) => ['Sigmoid', 'Tanh', 'Relu', 'Affine', 'ScaledTanh'].includes(a));
        const m = build();
        const result = await checkGradient(float64 ? { ...m, fd: undefined } : m, seed, { finiteDifferencesOf: 'built' });
        expect(result.type).toBe(float64 ? 'float64' : 'float32');
        expect(result.worst, result.where).toBeLessThanOrEqual(1);
      });
      it(`${name} #${seed}: unrolled forward pass equals ONNX Runtime's`, async () => {
        const result = await forwardEquivalence(build(), seed);
        expect(result.ops).not.toContain(spec.op);
        expect(result.worst, result.where).toBeLessThanOrEqual(1);
      });
    }
  }
});

/** A one-node model for the refusal tests (float32; the node reads X [T, B, I], W, R). */
function refusalModel(op: Op, attrs: Record<string, AttrValue | undefined>, extra: { x?: (number | string)[]; lengths?: number[]; opset?: number } = {}): Uint8Array {
  const g = GATES[op] * 2;
  const x = extra.x ?? [3, 2, 2];
  const initializers = [floats('W', [1, g, 2], new Array<number>(g * 2).fill(0.1)), floats('R', [1, g, 2], new Array<number>(g * 2).fill(0.1))];
  if (extra.lengths) initializers.push(makeTensor('L', DataType.INT32, [extra.lengths.length], extra.lengths));
  const m: TestModel = {
    nodes: [node(op, ['X', 'W', 'R', '', extra.lengths ? 'L' : ''], ['Y'], { hidden_size: 2, ...attrs })],
    inputs: [{ name: 'X', shape: x.map((d) => (typeof d === 'number' ? d : 1)), declared: x }],
    initializers,
    output: 'Y',
    opset: extra.opset,
  };
  return encodeModel(buildModel(m, DataType.FLOAT));
}

const refusal = (bytes: Uint8Array): unknown => {
  try {
    transformModel(bytes, { wrt: ['X'] });
  } catch (e) {
    return e;
  }
  return undefined;
};

describe('recurrent nodes the unrolling refuses', () => {
  it('a sequence length unknown before run time, unless the model is built for concrete input shapes', async () => {
    const bytes = refusalModel('LSTM', {}, { x: ['seq', 2, 2] });
    const shapeDependent = (model: Uint8Array): boolean => {
      const graph = new Graph(model);
      inferShapes(graph);
      return hasShapeArithmetic(graph);
    };
    expect(shapeDependent(bytes)).toBe(true);
    expect(shapeDependent(refusalModel('LSTM', {}, { x: [3, 'batch', 2] }))).toBe(false);
    expect(shapeDependent(refusalModel('GRU', { layout: 1 }, { x: ['batch', 3, 2], opset: 14 }))).toBe(false);
    const error = refusal(bytes);
    expect(error).toBeInstanceOf(UnsupportedOperatorError);
    expect((error as UnsupportedOperatorError).operators[0]).toMatchObject({ opType: 'LSTM', detail: expect.stringMatching(/sequence length unknown before run time/) });
    const built = transformModel(bytes, { wrt: ['X'], inputShapes: { X: [3, 2, 2] } });
    expect(opTypes(built.bytes)).not.toContain('LSTM');
    const session = await ort.InferenceSession.create(built.bytes);
    const result = await session.run({ X: new ort.Tensor('float32', new Float32Array(12).fill(0.5), [3, 2, 2]), [built.weights as string]: new ort.Tensor('float32', new Float32Array(12).fill(1), [3, 1, 2, 2]) });
    expect((result[built.gradients[0] as string] as ort.Tensor).dims).toEqual([3, 2, 2]);
    await session.release();
  });
  it('activations without a rule or with ambiguous parameters', () => {
    const detail = (bytes: Uint8Array): string | undefined => (refusal(bytes) as UnsupportedOperatorError).operators?.[0]?.detail;
    expect(detail(refusalModel('GRU', { activations: { strings: ['Sigmoid', 'Gelu'] } }))).toMatch(/activation 'Gelu' \(supported: Sigmoid, Tanh, Relu/);
    expect(detail(refusalModel('LSTM', { activations: { strings: ['Sigmoid', 'ThresholdedRelu', 'Tanh'] } }))).toMatch(/ThresholdedRelu without an explicit activation_alpha/);
    expect(detail(refusalModel('RNN', { activations: { strings: ['LeakyRelu'] } }))).toMatch(/LeakyRelu without an explicit activation_alpha/);
    expect(detail(refusalModel('RNN', { activations: { strings: ['relu'] } }))).toMatch(/case-sensitively; write 'Relu'/);
  });
  it('malformed attributes and inputs', () => {
    expect(refusal(refusalModel('LSTM', { direction: 'sideways' }))).toBeInstanceOf(InvalidModelError);
    expect(refusal(refusalModel('GRU', { activations: { strings: ['Sigmoid'] } }))).toBeInstanceOf(InvalidModelError);
    expect(refusal(refusalModel('RNN', { clip: { f: -1 } }))).toBeInstanceOf(InvalidModelError);
    expect(refusal(refusalModel('RNN', { hidden_size: 3 }))).toBeInstanceOf(InvalidModelError);
    expect(refusal(refusalModel('LSTM', {}, { lengths: [2, 4] }))).toBeInstanceOf(InvalidModelError);
    expect(refusal(refusalModel('LSTM', {}, { lengths: [2] }))).toBeInstanceOf(InvalidModelError);
  });
  it('DeepLift and guided backpropagation differentiate the unrolled gates exactly (as Captum does inside nn.LSTM)', async () => {
    const rng = createRandom(7);
    for (const [op, activations] of [['LSTM', undefined], ['GRU', undefined], ['RNN', ['Relu', 'Relu']]] as const) {
      const m = recurrentModel(rng, { op, activations, direction: 'bidirectional', initial: true });
      const bytes = encodeModel(buildModel(m, DataType.FLOAT));
      const feeds: Record<string, ort.Tensor> = Object.fromEntries(m.inputs.map((i) => [i.name, new ort.Tensor('float32', Float32Array.from(normal(rng, i.shape.reduce((a, b) => a * b, 1), 1)), i.shape)]));
      const wrt = m.inputs.map((i) => i.name);
      const gradients: Float32Array[][] = [];
      for (const rules of ['gradient', 'deeplift', 'guided-backprop'] as const) {
        const built = transformModel(bytes, { wrt, rules });
        const session = await ort.InferenceSession.create(built.bytes);
        const dims = (built.inputs.find((i) => i.name === built.weights)?.shape ?? []) as number[];
        const w = new ort.Tensor('float32', Float32Array.from(normal(createRandom(3), dims.reduce((a, b) => a * b, 1), 1)), dims);
        const result = await session.run({ ...feeds, [built.weights as string]: w });
        gradients.push(built.gradients.map((g) => (result[g] as ort.Tensor).data as Float32Array));
        await session.release();
      }
      expect(gradients[1], `${op} deeplift`).toEqual(gradients[0]);
      expect(gradients[2], `${op} guided backpropagation`).toEqual(gradients[0]);
    }
  });
  it('forward-only models keep the operator (ONNX Runtime runs it)', () => {
    expect(opTypes(transformModel(refusalModel('GRU', {})).bytes)).toContain('GRU');
  });
});

interface TorchFixture {
  readonly opset: number;
  readonly inputs: readonly { name: string; shape: number[]; data: number[] }[];
  readonly weights: { shape: number[]; data: number[] };
  readonly output: { shape: number[]; data: number[] };
  readonly gradients: readonly { name: string; shape: number[]; data: number[] }[];
  readonly opTypes: readonly string[];
}

const fixture = (file: string): string => new URL(`./fixtures/${file}`, import.meta.url).pathname;

// PyTorch nn.LSTM, nn.GRU and nn.RNN exported to ONNX (dynamic batch and sequence axes), with PyTorch's
// float64 input gradients of sum(output ⊙ w): see fixtures/make_recurrent_fixtures.py.
describe('exported PyTorch recurrent models: gradients match PyTorch', () => {
  for (const name of ['lstm_bidirectional_2layers', 'gru_2layers', 'rnn_bidirectional']) {
    it(name, async () => {
      const ref = JSON.parse(fs.readFileSync(fixture(`${name}.json`), 'utf8')) as TorchFixture;
      const bytes = new Uint8Array(fs.readFileSync(fixture(`${name}.onnx`)));
      const wrt = ref.inputs.map((i) => i.name);
      // The sequence axis is symbolic: the gradient model is built for the concrete shapes (which fromOnnx
      // does for graphs hasShapeArithmetic flags).
      const graph = new Graph(bytes);
      inferShapes(graph);
      expect(hasShapeArithmetic(graph)).toBe(true);
      expect(inspectModel(bytes).unsupported).toEqual([]);
      const error = (() => {
        try {
          transformModel(bytes, { wrt });
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(error).toBeInstanceOf(UnsupportedOperatorError);
      const inputShapes = Object.fromEntries(ref.inputs.map((i) => [i.name, i.shape]));
      const built = transformModel(bytes, { wrt, inputShapes });
      const ops = opTypes(built.bytes);
      expect(ops.filter((op) => ['LSTM', 'GRU', 'RNN'].includes(op))).toEqual([]);
      const session = await ort.InferenceSession.create(built.bytes);
      const feeds: Record<string, ort.Tensor> = Object.fromEntries(ref.inputs.map((i) => [i.name, new ort.Tensor('float32', Float32Array.from(i.data), i.shape)]));
      feeds[built.weights as string] = new ort.Tensor('float32', Float32Array.from(ref.weights.data), ref.weights.shape);
      const result = await session.run(feeds);
      await session.release();
      const compare = (actual: ort.Tensor, expected: { shape: number[]; data: number[] }, what: string): void => {
        expect(actual.dims, what).toEqual(expected.shape);
        const a = actual.data as Float32Array;
        let worst = 0;
        let where = '';
        expected.data.forEach((v, i) => {
          const ratio = Math.abs((a[i] as number) - v) / (1e-6 + 1e-5 * Math.abs(v)); // float32 precision
          if (!(ratio <= worst)) {
            worst = Number.isNaN(ratio) ? Infinity : ratio;
            where = `${what}[${i}]: ONNX Runtime ${a[i]}, PyTorch ${v}`;
          }
        });
        expect(worst, where).toBeLessThanOrEqual(1);
      };
      compare(result[built.output] as ort.Tensor, ref.output, 'output');
      ref.gradients.forEach((g, k) => compare(result[built.gradients[k] as string] as ort.Tensor, g, `d/d${g.name}`));
    });
  }
});
