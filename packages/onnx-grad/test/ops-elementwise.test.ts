import * as ort from 'onnxruntime-node';
import { createRandom, type Random } from '@attribution/tensor';
import { describe, expect, it } from 'vitest';
import { InvalidModelError, UnsupportedOperatorError, transformModel } from '../src/index.js';
import { Graph } from '../src/graph.js';
import { getGradient, type RuleSet } from '../src/gradients/index.js';
import { DataType, encodeModel, type NodeProto } from '../src/proto.js';
import { inferShapes } from '../src/shapes.js';
import { buildModel, describeCases, floats, msNode, node, type TestInput, type TestModel, type Case } from './op-model.js';

// Elementwise activations, normalisations, variadic operators and ONNX Runtime's com.microsoft contrib
// operators, each checked against central finite differences on random shapes and attributes (seeded).
// Inputs are drawn away from kinks (or scaled so that every piece of a piecewise function is reached while
// ties and corners have probability zero), so central differences are valid.

const pick = <T>(rng: Random, list: readonly T[]): T => list[rng.int(list.length)] as T;
const dims = (rng: Random, rank: number, max = 4): number[] => Array.from({ length: rank }, () => 1 + rng.int(max));
const x = (shape: number[], extra: Partial<TestInput> = {}): TestInput => ({ name: 'x', shape, ...extra });
const values = (rng: Random, n: number, f: () => number = () => rng.normal()): number[] => Array.from({ length: n }, f);
const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
const MS = { 'com.microsoft': 1 } as const;

/** A broadcast partner of `shape`: some dims set to 1, maybe fewer leading dims. */
function broadcastPartner(rng: Random, shape: number[]): number[] {
  const drop = rng.int(shape.length);
  return shape.slice(drop).map((d) => (rng.next() < 0.4 ? 1 : d));
}


/**
 * `op` applied to `k·x`, so that x's draws (standard normal) reach every piece of a piecewise function; draws
 * closer than 0.05 to a kink of `op` (in z = k·x) are drawn again, so central differences hold even with
 * float32's step of 0.01 (ONNX Runtime lacks float64 kernels for several of these operators).
 */
const scaled = (op: string, k: number, opset: number, attrs: (rng: Random) => Record<string, { f: number }> = () => ({}), kinks: (a: Record<string, number>) => number[] = () => []): Case => [
  `${op} (opset ${opset}${Object.keys(attrs(createRandom(0))).length ? ', attributes' : ''})`,
  (rng) => {
    const a = attrs(rng);
    const corners = kinks(Object.fromEntries(Object.entries(a).map(([name, v]) => [name, v.f])));
    const shape = dims(rng, 1 + rng.int(3)).map((d) => d + 1);
    const draw = (): number => {
      for (;;) {
        const v = rng.normal();
        if (corners.every((c) => Math.abs(k * v - c) > 0.05 * Math.abs(k))) return v;
      }
    };
    return {
      nodes: [node('Mul', ['x', 'k'], ['z']), node(op, ['z'], ['y'], a)],
      inputs: [x(shape, { values: values(rng, size(shape), draw) })],
      initializers: [floats('k', [], [k])],
      output: 'y',
      opset,
    };
  },
];

const unary = (op: string, draw: TestInput['draw'], opset = 13): Case => [op, (rng) => ({ nodes: [node(op, ['x'], ['y'])], inputs: [x(dims(rng, 1 + rng.int(3)), { draw })], output: 'y', opset })];

/** Variadic op over 1–4 inputs broadcast against a full shape; some inputs are constants, one may repeat. */
const variadic = (op: string): Case => [
  `${op} (variadic, broadcasting)`,
  (rng) => {
    const full = dims(rng, 1 + rng.int(3));
    const count = 1 + rng.int(4);
    const shapes = Array.from({ length: count }, (_, i) => (i === 0 ? full : broadcastPartner(rng, full)));
    for (let i = shapes.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [shapes[i], shapes[j]] = [shapes[j] as number[], shapes[i] as number[]];
    }
    const names = shapes.map((_, i) => `a${i}`);
    const constant = count > 1 ? rng.int(count) : -1;
    const repeat = count > 1 && rng.next() < 0.3 ? [names[rng.int(count)] as string] : [];
    return {
      nodes: [node(op, [...names, ...repeat], ['y'])],
      inputs: names.filter((_, i) => i !== constant).map((name) => ({ name, shape: shapes[names.indexOf(name)] as number[] })),
      initializers: constant >= 0 ? [floats(names[constant] as string, shapes[constant] as number[], values(rng, size(shapes[constant] as number[])))] : [],
      output: 'y',
    };
  },
];

/** Shapes of a LayerNormalization Scale or B: unidirectionally broadcastable to x, covering the normalised axes. */
function affineShape(rng: Random, s: number[], axis: number): number[] {
  // (ONNX Runtime refuses a Scale of higher rank than x.)
  return pick(rng, [s.slice(axis), s.slice(axis).map((d, i) => (i > 0 && rng.next() < 0.4 ? 1 : d)), axis > 0 ? [1, ...s.slice(axis)] : s, s.map((d, i) => (i < axis && rng.next() < 0.5 ? 1 : d))]);
}

/** An input, or a constant initializer of the same shape (then not differentiated). */
function tensor(rng: Random, name: string, shape: number[], asInput: boolean, draw?: TestInput['draw']): { input?: TestInput; init?: ReturnType<typeof floats> } {
  return asInput ? { input: { name, shape, draw } } : { init: floats(name, shape, values(rng, size(shape), () => (draw === 'positive' ? 0.5 + rng.next() : rng.normal()))) };
}

/** Central differences on float32-precision values inside a float64 model (stash_type 1 statistics). */
const STASHED = { step: 1e-2, atol: 1e-3, rtol: 1e-2 } as const;

const toDouble = (from: string, to: string): NodeProto => node('Cast', [from], [to], { to: DataType.DOUBLE });

function layerNorm(rng: Random, opset: number, outputs: 'y' | 'all' | 'mean' | 'invstd'): TestModel {
  const rank = 2 + rng.int(2);
  const s = dims(rng, rank, 3).map((d) => d + 1);
  const axis = rng.int(rank);
  const scaleShape = affineShape(rng, s, axis);
  const parts = [tensor(rng, 's', scaleShape, rng.next() < 0.6)];
  const withBias = rng.next() < 0.7;
  if (withBias) parts.push(tensor(rng, 'b', affineShape(rng, s, axis), rng.next() < 0.6));
  const attrs = { axis: rng.next() < 0.5 ? axis : axis - rank, epsilon: rng.next() < 0.5 ? { f: 1e-3 } : undefined };
  const ln = node('LayerNormalization', ['x', 's', ...(withBias ? ['b'] : [])], outputs === 'y' ? ['y'] : outputs === 'mean' ? ['ln', 'm'] : outputs === 'invstd' ? ['ln', '', 'r'] : ['ln', 'm', 'r'], attrs);
  // Mean and InvStdDev are float32 (stash_type 1) whatever x's type: cast to float64, the type these
  // models run in (ONNX Runtime has float64 LayerNormalization kernels).
  const tail: NodeProto[] =
    outputs === 'y' ? []
    : outputs === 'mean' ? [toDouble('m', 'y')]
    : outputs === 'invstd' ? [toDouble('r', 'y')]
    : [toDouble('m', 'mc'), toDouble('r', 'rc'), node('Mul', ['ln', 'rc'], ['t']), node('Add', ['t', 'mc'], ['y'])];
  return {
    nodes: [ln, ...tail],
    inputs: [x(s), ...parts.flatMap((p) => (p.input ? [p.input] : []))],
    initializers: parts.flatMap((p) => (p.init ? [p.init] : [])),
    output: 'y',
    opset,
    fd: outputs === 'y' ? undefined : STASHED,
  };
}

function groupNorm(rng: Random, opset: number): TestModel {
  const groups = 1 + rng.int(3);
  const channels = groups * (1 + rng.int(2));
  const spatial = dims(rng, rng.int(3), 3);
  const shape = [1 + rng.int(2), channels, ...spatial];
  if (size(shape.slice(2)) * (channels / groups) < 2) shape.push(2);
  const affine = opset >= 21 ? channels : groups;
  const parts = [tensor(rng, 's', [affine], rng.next() < 0.6), tensor(rng, 'b', [affine], rng.next() < 0.6)];
  return {
    nodes: [node('GroupNormalization', ['x', 's', 'b'], ['y'], { num_groups: groups, epsilon: { f: 1e-3 } })],
    inputs: [x(shape), ...parts.flatMap((p) => (p.input ? [p.input] : []))],
    initializers: parts.flatMap((p) => (p.init ? [p.init] : [])),
    output: 'y',
    opset,
    // From opset 21 ONNX Runtime computes the statistics in float32 (stash_type 1) even for float64 inputs.
    fd: opset >= 21 ? STASHED : undefined,
  };
}

function skipLayerNorm(rng: Random, variant: 'outputs' | 'shapes'): TestModel {
  const [b, sq, h] = [1 + rng.int(2), 1 + rng.int(3), 2 + rng.int(3)];
  const twoD = variant === 'shapes' && rng.next() < 0.3;
  const inShape = twoD ? [b * sq, h] : [b, sq, h];
  const skipShape = twoD ? inShape : variant === 'shapes' ? pick(rng, [inShape, [1, sq, h], [sq, h]]) : inShape;
  const withBeta = rng.next() < 0.6;
  const withBias = rng.next() < 0.6;
  const parts = [
    tensor(rng, 'k', skipShape, rng.next() < 0.7),
    tensor(rng, 'g', [h], rng.next() < 0.5),
    ...(withBeta ? [tensor(rng, 'be', [h], rng.next() < 0.5)] : []),
    ...(withBias ? [tensor(rng, 'bi', [h], rng.next() < 0.5)] : []),
  ];
  const ins = ['x', 'k', 'g', withBeta ? 'be' : '', withBias ? 'bi' : ''];
  while (ins[ins.length - 1] === '') ins.pop();
  const which = variant === 'outputs' ? pick(rng, ['mean', 'invstd', 'sum', 'all'] as const) : 'y';
  const outs = which === 'y' ? ['y'] : which === 'mean' ? ['o', 'm'] : which === 'invstd' ? ['o', '', 'r'] : which === 'sum' ? ['o', '', '', 'sum'] : ['o', 'm', 'r', 'sum'];
  const tail: NodeProto[] =
    which === 'y' ? []
    : which === 'mean' ? [node('Mul', ['o', 'm'], ['y'])]
    : which === 'invstd' ? [node('Identity', ['r'], ['y'])]
    : which === 'sum' ? [node('Mul', ['o', 'sum'], ['y'])]
    : [node('Mul', ['o', 'r'], ['t']), node('Add', ['t', 'm'], ['t2']), node('Mul', ['t2', 'sum'], ['y'])];
  return {
    nodes: [msNode('SkipLayerNormalization', ins, outs, { epsilon: rng.next() < 0.5 ? { f: 1e-4 } : undefined }), ...tail],
    inputs: [x(inShape), ...parts.flatMap((p) => (p.input ? [p.input] : []))],
    initializers: parts.flatMap((p) => (p.init ? [p.init] : [])),
    output: 'y',
    opset: pick(rng, [13, 18]),
    opsets: MS,
  };
}

function attention(rng: Random, variant: 'none' | 'raw2d' | 'ends' | 'raw3d'): TestModel {
  const [b, sq, heads] = [1 + rng.int(2), 2 + rng.int(2), 1 + rng.int(2)];
  const hin = 2 + rng.int(3);
  const d = 2 + rng.int(2);
  const dv = variant === 'ends' ? 1 + rng.int(3) : d;
  const sizes = [heads * d, heads * d, heads * dv];
  const total = sizes[0]! + sizes[1]! + sizes[2]!;
  const learn = variant === 'raw3d';
  const w = tensor(rng, 'w', [hin, total], learn);
  const bias = tensor(rng, 'bias', [total], learn);
  const maskShape = variant === 'raw2d' ? [b, sq] : variant === 'raw3d' ? [b, sq, sq] : [b];
  // Key 0 is never masked, so that no row is masked entirely.
  const maskValues = variant === 'ends' ? values(rng, b, () => 1 + rng.int(sq)) : values(rng, size(maskShape), () => rng.int(2)).map((v, i) => (i % sq === 0 ? 1 : v));
  const mask: TestInput[] = variant === 'none' ? [] : [{ name: 'mask', shape: maskShape, type: 'int32', constant: true, values: maskValues }];
  const attnBias: TestInput[] = variant === 'raw3d' ? [{ name: 'ab', shape: [rng.int(2) === 0 ? 1 : b, heads, sq, sq] }] : [];
  const inputs = ['x', 'w', 'bias', variant === 'none' ? '' : 'mask', ...(variant === 'raw3d' ? ['', 'ab'] : [])];
  return {
    nodes: [
      msNode('Attention', inputs, ['y'], {
        num_heads: heads,
        unidirectional: variant === 'raw2d' || (variant === 'none' && rng.next() < 0.5) ? 1 : undefined,
        scale: variant === 'raw2d' ? { f: 0.3 + rng.next() } : undefined,
        qkv_hidden_sizes: variant === 'ends' ? sizes : undefined,
      }),
    ],
    inputs: [x([b, sq, hin]), ...[w, bias].flatMap((p) => (p.input ? [p.input] : [])), ...mask, ...attnBias],
    initializers: [w, bias].flatMap((p) => (p.init ? [p.init] : [])),
    output: 'y',
    opsets: MS,
  };
}

const cases: Case[] = [
  // Activations.
  ['Gelu (opset 20, exact)', (rng) => ({ nodes: [node('Gelu', ['x'], ['y'])], inputs: [x(dims(rng, 1 + rng.int(3)))], output: 'y', opset: 20 })],
  ['Gelu (opset 20, tanh)', (rng) => ({ nodes: [node('Gelu', ['x'], ['y'], { approximate: 'tanh' })], inputs: [x(dims(rng, 1 + rng.int(3)))], output: 'y', opset: 20 })],
  scaled('HardSwish', 4, 14, undefined, () => [-3, 3]),
  scaled('HardSigmoid', 3, 13, (rng) => ({ alpha: { f: 0.1 + 0.3 * rng.next() }, beta: { f: 0.3 + 0.4 * rng.next() } }), (a) => [-(a.beta as number) / (a.alpha as number), (1 - (a.beta as number)) / (a.alpha as number)]),
  scaled('HardSigmoid', 3, 11, undefined, () => [-2.5, 2.5]),
  scaled('Selu', 1, 13, undefined, () => [0]),
  scaled('Selu', 1, 11, (rng) => ({ alpha: { f: 1 + rng.next() }, gamma: { f: 0.5 + rng.next() } }), () => [0]),
  scaled('Celu', 2, 13, (rng) => ({ alpha: { f: 0.5 + rng.next() } })),
  scaled('ThresholdedRelu', 2, 11, (rng) => ({ alpha: { f: -0.5 + 1.5 * rng.next() } }), (a) => [a.alpha as number, 0]),
  scaled('ThresholdedRelu', 2, 13, undefined, () => [1]),
  unary('Mish', 'normal', 18),
  unary('Softsign', 'awayFromZero'),
  unary('Abs', 'awayFromZero'),
  unary('Reciprocal', 'awayFromZero'),
  unary('Sin', 'normal'),
  unary('Cos', 'normal', 11),
  [
    'PRelu (slope broadcast unidirectionally, slope an input or a constant)',
    (rng) => {
      const s = dims(rng, 1 + rng.int(4));
      const slope = tensor(rng, 'slope', broadcastPartner(rng, s), rng.next() < 0.6);
      return {
        nodes: [node('PRelu', ['x', 'slope'], ['y'])],
        inputs: [x(s, { draw: 'awayFromZero' }), ...(slope.input ? [slope.input] : [])],
        initializers: slope.init ? [slope.init] : [],
        output: 'y',
        opset: pick(rng, [11, 16]),
      };
    },
  ],
  // Variadic.
  variadic('Max'),
  variadic('Min'),
  variadic('Sum'),
  variadic('Mean'),
  [
    'Max and Min with two-sided broadcasting',
    (rng) => ({
      nodes: [node('Max', ['a', 'b'], ['p']), node('Min', ['p', 'c'], ['y'])],
      inputs: [{ name: 'a', shape: [3, 1] }, { name: 'b', shape: [1, 2 + rng.int(2)] }, { name: 'c', shape: [1] }],
      output: 'y',
      opset: 11,
    }),
  ],
  ['Sum and Mean with two-sided broadcasting', () => ({ nodes: [node('Sum', ['a', 'b'], ['p']), node('Mean', ['p', 'b', 'a'], ['y'])], inputs: [{ name: 'a', shape: [2, 1, 3] }, { name: 'b', shape: [4, 1] }], output: 'y' })],
  // Normalisations.
  ['LpNormalization p = 2', (rng) => { const s = dims(rng, 1 + rng.int(3)); return { nodes: [node('LpNormalization', ['x'], ['y'], { axis: rng.int(s.length) - (rng.next() < 0.5 ? s.length : 0) })], inputs: [x(s)], output: 'y', opset: pick(rng, [11, 13, 18]) }; }],
  ['LpNormalization p = 1', (rng) => { const s = dims(rng, 1 + rng.int(3)); return { nodes: [node('LpNormalization', ['x'], ['y'], { axis: rng.int(s.length), p: 1 })], inputs: [x(s, { draw: 'awayFromZero' })], output: 'y', opset: pick(rng, [11, 13, 18]) }; }],
  ['LayerNormalization (opset 17: Y)', (rng) => layerNorm(rng, 17, 'y')],
  ['LayerNormalization (opset 18: Y)', (rng) => layerNorm(rng, 18, 'y')],
  ['LayerNormalization (Y, Mean and InvStdDev)', (rng) => layerNorm(rng, pick(rng, [17, 18]), 'all')],
  ['LayerNormalization (Mean only)', (rng) => layerNorm(rng, 17, 'mean')],
  ['LayerNormalization (InvStdDev only)', (rng) => layerNorm(rng, 18, 'invstd')],
  [
    'LayerNormalization with symbolic dims',
    (rng) => ({
      nodes: [node('LayerNormalization', ['x', 's', 'b'], ['y', 'm', 'r']), toDouble('r', 'rc'), node('Mul', ['y', 'rc'], ['z']), node('Tanh', ['z'], ['t']), toDouble('m', 'mc'), node('Add', ['t', 'mc'], ['u']), node('Identity', ['u'], ['out'])],
      inputs: [x([2, 2 + rng.int(2), 3], { declared: ['batch', 'seq', 'hidden'] }), { name: 's', shape: [3] }],
      initializers: [floats('b', [3], values(rng, 3))],
      output: 'out',
      opset: 17,
      fd: STASHED,
    }),
  ],
  ['GroupNormalization (opset 18, scale and bias per group)', (rng) => groupNorm(rng, 18)],
  ['GroupNormalization (opset 20, still per group)', (rng) => groupNorm(rng, 20)],
  ['GroupNormalization (opset 21, scale and bias per channel)', (rng) => groupNorm(rng, 21)],
  [
    'InstanceNormalization',
    (rng) => {
      const c = 1 + rng.int(3);
      const shape = [1 + rng.int(2), c, 2 + rng.int(2), ...dims(rng, rng.int(2), 3)];
      const parts = [tensor(rng, 's', [c], rng.next() < 0.6), tensor(rng, 'b', [c], rng.next() < 0.6)];
      return {
        nodes: [node('InstanceNormalization', ['x', 's', 'b'], ['y'], { epsilon: { f: 1e-3 } })],
        inputs: [x(shape), ...parts.flatMap((p) => (p.input ? [p.input] : []))],
        initializers: parts.flatMap((p) => (p.init ? [p.init] : [])),
        output: 'y',
        opset: pick(rng, [11, 13, 18]),
      };
    },
  ],
  // com.microsoft contrib operators.
  [
    'com.microsoft FastGelu (optional bias)',
    (rng) => {
      const s = dims(rng, 1 + rng.int(3));
      const h = s[s.length - 1] as number;
      const bias = rng.next() < 0.7 ? tensor(rng, 'b', [h], rng.next() < 0.6) : undefined;
      return {
        nodes: [msNode('FastGelu', bias ? ['x', 'b'] : ['x'], ['y'])],
        inputs: [x(s), ...(bias?.input ? [bias.input] : [])],
        initializers: bias?.init ? [bias.init] : [],
        output: 'y',
        opsets: MS,
      };
    },
  ],
  [
    'com.microsoft BiasGelu',
    (rng) => {
      const s = dims(rng, 2 + rng.int(2));
      const bias = tensor(rng, 'b', [s[s.length - 1] as number], rng.next() < 0.7);
      return { nodes: [msNode('BiasGelu', ['x', 'b'], ['y'])], inputs: [x(s), ...(bias.input ? [bias.input] : [])], initializers: bias.init ? [bias.init] : [], output: 'y', opsets: MS };
    },
  ],
  ['com.microsoft Gelu', (rng) => ({ nodes: [msNode('Gelu', ['x'], ['y'])], inputs: [x(dims(rng, 1 + rng.int(3)))], output: 'y', opsets: MS })],
  ['com.microsoft QuickGelu', (rng) => ({ nodes: [msNode('QuickGelu', ['x'], ['y'], rng.next() < 0.5 ? { alpha: { f: 0.5 + 2 * rng.next() } } : {})], inputs: [x(dims(rng, 1 + rng.int(3)))], output: 'y', opsets: MS })],
  [
    // ONNX Runtime has BiasAdd on CUDA only: the built model's forward BiasAdd is lowered to two Adds for the
    // CPU provider (the rule still differentiates BiasAdd), and the finite differences run the same Adds.
    'com.microsoft BiasAdd (lowered to Add for the CPU provider)',
    (rng) => {
      const [n, sq, c] = [1 + rng.int(2), 1 + rng.int(3), 1 + rng.int(3)];
      const bias = tensor(rng, 'b', [c], rng.next() < 0.6);
      const skip = tensor(rng, 'k', [n, sq, c], rng.next() < 0.7);
      const adds = [node('Add', ['x', 'b'], ['xb']), node('Add', ['xb', 'k'], ['y'])];
      return {
        nodes: [msNode('BiasAdd', ['x', 'b', 'k'], ['y'])],
        inputs: [x([n, sq, c]), ...[bias, skip].flatMap((p) => (p.input ? [p.input] : []))],
        initializers: [bias, skip].flatMap((p) => (p.init ? [p.init] : [])),
        output: 'y',
        opsets: MS,
        reference: { nodes: adds },
        lowerBuilt: (model) => {
          const graph = model.graph as NonNullable<typeof model.graph>;
          const k = graph.node.findIndex((nd) => nd.opType === 'BiasAdd');
          expect(k).toBeGreaterThanOrEqual(0);
          graph.node.splice(k, 1, ...adds);
        },
      };
    },
  ],
  ['com.microsoft Attention (merged weights and bias, no mask)', (rng) => attention(rng, 'none')],
  ['com.microsoft Attention (raw 2-D mask, unidirectional, scale)', (rng) => attention(rng, 'raw2d')],
  ['com.microsoft Attention (1-D end positions, qkv_hidden_sizes)', (rng) => attention(rng, 'ends')],
  ['com.microsoft Attention (3-D mask, attention_bias, weights and bias differentiated)', (rng) => attention(rng, 'raw3d')],
  ['com.microsoft SkipLayerNormalization (skip shapes, optional beta and bias)', (rng) => skipLayerNorm(rng, 'shapes')],
  ['com.microsoft SkipLayerNormalization (mean, inv_std_var, input_skip_bias_sum outputs)', (rng) => skipLayerNorm(rng, 'outputs')],
];

describeCases('elementwise, normalisation, variadic and com.microsoft backward rules against central finite differences', cases, 7000);

/** Runs the gradient model of `m` (float64) on fixed inputs and weights 1; returns the gradients by input name. */
async function gradients(m: TestModel, feeds: Record<string, number[]>): Promise<Record<string, number[]>> {
  const bytes = encodeModel(buildModel(m, DataType.DOUBLE));
  const wrt = m.inputs.map((i) => i.name);
  const built = transformModel(bytes, { wrt });
  const session = await ort.InferenceSession.create(built.bytes);
  const input: Record<string, ort.Tensor> = {};
  for (const i of m.inputs) input[i.name] = new ort.Tensor('float64', Float64Array.from(feeds[i.name] as number[]), i.shape);
  const outShape = m.inputs.reduce<number[]>((s, i) => (i.shape.length > s.length ? [...i.shape] : s), []);
  input[built.weights as string] = new ort.Tensor('float64', new Float64Array(size(outShape)).fill(1), outShape);
  const result = await session.run(input);
  await session.release();
  return Object.fromEntries(wrt.map((name, k) => [name, Array.from((result[built.gradients[k] as string] as ort.Tensor).data as Float64Array)]));
}

describe('Max and Min at ties', () => {
  it('two inputs: half the gradient to each tied input (torch.maximum / torch.minimum)', async () => {
    for (const op of ['Max', 'Min']) {
      const g = await gradients(
        { nodes: [node(op, ['a', 'b'], ['y'])], inputs: [{ name: 'a', shape: [4] }, { name: 'b', shape: [4] }], output: 'y' },
        { a: [1, 2, 3, -1], b: [1, 5, 0, -1] },
      );
      expect(g.a).toEqual(op === 'Max' ? [0.5, 0, 1, 0.5] : [0.5, 1, 0, 0.5]);
      expect(g.b).toEqual(op === 'Max' ? [0.5, 1, 0, 0.5] : [0.5, 0, 1, 0.5]);
    }
  });

  it('more inputs: an even split among all tied inputs, reduced over broadcast dimensions', async () => {
    const g = await gradients(
      { nodes: [node('Max', ['a', 'b', 'c'], ['y'])], inputs: [{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [2, 3] }, { name: 'c', shape: [1] }], output: 'y' },
      { a: [2, 2, 0, 1, 2, 5], b: [2, 1, 2, 2, 2, 4], c: [2] },
    );
    // Per position, the maximum is shared by: {a,b,c}, {a,c}, {b,c}, {b,c}, {a,b,c}, {a}.
    expect(g.a?.map((v) => +v.toFixed(12))).toEqual([0.333333333333, 0.5, 0, 0, 0.333333333333, 1]);
    expect(g.b?.map((v) => +v.toFixed(12))).toEqual([0.333333333333, 0, 0.5, 0.5, 0.333333333333, 0]);
    expect(g.c?.map((v) => +v.toFixed(12))).toEqual([+(1 / 3 + 0.5 + 0.5 + 0.5 + 1 / 3).toFixed(12)]);
  });

  it('the same tensor twice: the full gradient, as for the identity', async () => {
    const g = await gradients({ nodes: [node('Min', ['a', 'a'], ['y'])], inputs: [{ name: 'a', shape: [3] }], output: 'y' }, { a: [1, -2, 3] });
    expect(g.a).toEqual([1, 1, 1]);
  });
});

describe('rule sets: Captum defines no DeepLift, guided-backprop or deconvolution rule for these operators', () => {
  // Captum 0.8's DeepLift rescales only ReLU, ELU, LeakyReLU, Sigmoid, Tanh, Softplus, MaxPool and Softmax
  // modules, and guided backprop and deconvolution override only ReLU: everything else (GELU, SELU,
  // Hardswish, PReLU, normalisations, …) takes the plain gradient, and so do these rule sets.
  const ops = ['Gelu', 'HardSwish', 'HardSigmoid', 'PRelu', 'Selu', 'Celu', 'Mish', 'Softsign', 'ThresholdedRelu', 'Abs', 'Reciprocal', 'Sin', 'Cos', 'Max', 'Min', 'Sum', 'Mean', 'LpNormalization', 'LayerNormalization', 'GroupNormalization', 'InstanceNormalization'];
  for (const set of ['deeplift', 'guided-backprop', 'deconvolution'] as RuleSet[]) {
    it(set, () => {
      for (const op of ops) expect(getGradient(op, set), op).toBe(getGradient(op));
      for (const op of ['FastGelu', 'BiasGelu', 'Gelu', 'QuickGelu', 'SkipLayerNormalization']) {
        expect(getGradient(op, set, 'com.microsoft'), op).toBeDefined();
        expect(getGradient(op, set, 'com.microsoft'), op).toBe(getGradient(op, 'gradient', 'com.microsoft'));
      }
    });
  }
});

describe('shape inference', () => {
  const infer = (m: TestModel): Graph => {
    const graph = new Graph(encodeModel(buildModel(m, DataType.DOUBLE)));
    inferShapes(graph);
    return graph;
  };

  it('LayerNormalization: Mean and InvStdDev keep the leading axes and are float32 (stash_type 1)', () => {
    const g = infer({ nodes: [node('LayerNormalization', ['x', 's'], ['y', 'm', 'r'], { axis: 1 })], inputs: [x([2, 3, 4], { declared: ['n', 3, 4] }), { name: 's', shape: [3, 4] }], output: 'y', opset: 17 });
    expect(g.info('y')).toMatchObject({ elemType: DataType.DOUBLE, shape: ['n', 3, 4] });
    expect(g.info('m')).toMatchObject({ elemType: DataType.FLOAT, shape: ['n', 1, 1] });
    expect(g.info('r')).toMatchObject({ elemType: DataType.FLOAT, shape: ['n', 1, 1] });
  });

  it('com.microsoft operators (by domain): SkipLayerNormalization outputs and elementwise contrib ops', () => {
    const g = infer({
      nodes: [msNode('SkipLayerNormalization', ['x', 'k', 'g'], ['o', 'm', 'r', 's']), msNode('FastGelu', ['o'], ['f']), msNode('QuickGelu', ['f'], ['q']), msNode('BiasGelu', ['q', 'g'], ['y'])],
      inputs: [x([2, 3, 4], { declared: ['b', 's', 4] }), { name: 'k', shape: [3, 4] }, { name: 'g', shape: [4] }],
      output: 'y',
      opsets: MS,
    });
    expect(g.info('o')).toMatchObject({ elemType: DataType.DOUBLE, shape: ['b', 's', 4] });
    expect(g.info('s')).toMatchObject({ elemType: DataType.DOUBLE, shape: ['b', 's', 4] });
    expect(g.info('m')).toMatchObject({ elemType: DataType.FLOAT, shape: ['b', 's', 1] });
    expect(g.info('r')).toMatchObject({ elemType: DataType.FLOAT, shape: ['b', 's', 1] });
    for (const t of ['f', 'q', 'y']) expect(g.info(t)).toMatchObject({ elemType: DataType.DOUBLE, shape: ['b', 's', 4] });
  });

  it('an operator of another domain with a default-domain name gets no default-domain shape rule', () => {
    const g = infer({ nodes: [{ ...node('Relu', ['x'], ['y']), domain: 'com.example' }], inputs: [x([2])], output: 'y', opsets: { 'com.example': 1 } });
    expect(g.info('y').shape).toBeUndefined();
  });
});

describe('refusals', () => {
  it('com.microsoft Attention with past state', () => {
    const m: TestModel = {
      nodes: [msNode('Attention', ['x', 'w', 'bias', '', 'past'], ['y', 'present'], { num_heads: 1 })],
      inputs: [x([1, 2, 2]), { name: 'past', shape: [2, 1, 1, 1, 2], constant: true, values: [0, 0, 0, 0] }],
      initializers: [floats('w', [2, 6], values(createRandom(1), 12)), floats('bias', [6], [0, 0, 0, 0, 0, 0])],
      output: 'y',
      opsets: MS,
    };
    expect(() => transformModel(encodeModel(buildModel(m, DataType.FLOAT)), { wrt: ['x'] })).toThrow(UnsupportedOperatorError);
    expect(() => transformModel(encodeModel(buildModel(m, DataType.FLOAT)), { wrt: ['x'] })).toThrow(/past state/);
  });
});

describe('malformed attributes', () => {
  const build = (m: TestModel): (() => unknown) => () => transformModel(encodeModel(buildModel(m, DataType.FLOAT)), { wrt: ['x'] });

  it('GroupNormalization whose num_groups does not divide the channels', () => {
    expect(build({ nodes: [node('GroupNormalization', ['x', 's', 'b'], ['y'], { num_groups: 4 })], inputs: [x([1, 6, 2])], initializers: [floats('s', [4], [1, 1, 1, 1]), floats('b', [4], [0, 0, 0, 0])], output: 'y', opset: 18 })).toThrow(InvalidModelError);
  });

  it('LpNormalization with p other than 1 or 2', () => {
    expect(build({ nodes: [node('LpNormalization', ['x'], ['y'], { p: 3 })], inputs: [x([2, 3])], output: 'y' })).toThrow(/p = 3/);
  });

  it('Gelu with an unknown approximation', () => {
    expect(build({ nodes: [node('Gelu', ['x'], ['y'], { approximate: 'erf' })], inputs: [x([2])], output: 'y', opset: 20 })).toThrow(InvalidModelError);
  });
});
