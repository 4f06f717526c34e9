import * as ort from 'onnxruntime-node';
import type { Random } from '@attribution/tensor';
import { describe, expect, it } from 'vitest';
import { InvalidModelError, UnsupportedOperatorError, transformModel } from '../src/index.js';
import { Graph } from '../src/graph.js';
import { getGradient, type RuleSet } from '../src/gradients/index.js';
import { DataType, encodeModel, makeTensor, type NodeProto, type TensorProto } from '../src/proto.js';
import { inferShapes } from '../src/shapes.js';
import { buildModel, describeCases, floats, ints, msNode, node, type TestInput, type TestModel, type Case } from './op-model.js';

// Backward rules for operators that real ONNX files contain beyond the common architectures: inverse and
// hyperbolic elementwise functions, Shrink, zero-gradient operators (Hardmax, random and EyeLike), LRN,
// MeanVarianceNormalization, LpPool and GlobalLpPool, ONNX Runtime's RMSNorm (SimplifiedLayerNormalization,
// default domain) and the com.microsoft operators of transformer decoders (SkipSimplifiedLayerNormalization,
// RotaryEmbedding, MultiHeadAttention, GroupQueryAttention). Each case is checked against central finite
// differences of ONNX Runtime's forward pass on random shapes and attributes (seeded), in float64 where ONNX
// Runtime has float64 kernels and float32 otherwise; inputs are drawn away from kinks and poles.

const pick = <T>(rng: Random, list: readonly T[]): T => list[rng.int(list.length)] as T;
const dims = (rng: Random, rank: number, max = 4): number[] => Array.from({ length: rank }, () => 1 + rng.int(max));
const x = (shape: number[], extra: Partial<TestInput> = {}): TestInput => ({ name: 'x', shape, ...extra });
const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
const values = (rng: Random, n: number, f: () => number = () => rng.normal()): number[] => Array.from({ length: n }, f);
const MS = { 'com.microsoft': 1 } as const;
/** Central differences on float32 values (statistics of stash_type 1) inside a float64 model. */
const STASHED = { step: 1e-2, atol: 1e-3, rtol: 1e-2 } as const;


/** An input, or a constant initializer of the same shape (then not differentiated). */
function tensor(rng: Random, name: string, shape: number[], asInput: boolean, draw: () => number = () => rng.normal()): { input?: TestInput; init?: TensorProto } {
  return asInput ? { input: { name, shape, values: values(rng, size(shape), draw) } } : { init: floats(name, shape, values(rng, size(shape), draw)) };
}
const inputsOf = (parts: ReturnType<typeof tensor>[]): TestInput[] => parts.flatMap((p) => (p.input ? [p.input] : []));
/** `input` with some dims declared as symbols (`names[i]`, where given), as exported models declare batch and sequence. */
const symbolic = (input: TestInput, names: readonly (string | undefined)[]): TestInput => ({ ...input, declared: input.shape.map((d, i) => names[i] ?? d) });
const initsOf = (parts: ReturnType<typeof tensor>[]): TensorProto[] => parts.flatMap((p) => (p.init ? [p.init] : []));

/** `op` on x drawn by `draw` (values in the operator's domain, away from its kinks). */
const unary = (op: string, draw: (rng: Random) => number, opset = 13, attrs: (rng: Random) => Record<string, { f: number }> = () => ({})): Case => [
  `${op} (opset ${opset})`,
  (rng) => {
    const shape = dims(rng, 1 + rng.int(3));
    return { nodes: [node(op, ['x'], ['y'], attrs(rng))], inputs: [x(shape, { values: values(rng, size(shape), () => draw(rng)) })], output: 'y', opset };
  },
];
const normal = (rng: Random): number => rng.normal();
/** In (−0.8, 0.8): inside the domain of arcsin, arccos and artanh and away from tan's poles. */
const unit = (rng: Random): number => 0.8 * (2 * rng.next() - 1);

/** Shrink on x drawn at least 0.05 from its kinks ±lambd. */
function shrink(rng: Random, opset: number): TestModel {
  const lambd = pick(rng, [undefined, 0.2 + rng.next(), -0.3]);
  const bias = rng.next() < 0.6 ? 0.5 * rng.normal() : undefined;
  const l = lambd ?? 0.5;
  const draw = (): number => {
    for (;;) {
      const v = 1.5 * rng.normal();
      if (Math.abs(Math.abs(v) - Math.abs(l)) > 0.05) return v;
    }
  };
  const shape = dims(rng, 1 + rng.int(3));
  return {
    nodes: [node('Shrink', ['x'], ['y'], { lambd: lambd === undefined ? undefined : { f: lambd }, bias: bias === undefined ? undefined : { f: bias } })],
    inputs: [x(shape, { values: values(rng, size(shape), draw) })],
    output: 'y',
    opset,
    // ONNX Runtime's float64 Shrink computes in float32: differences with a float32 step.
    fd: STASHED,
  };
}

/** Distinct values at least 0.1 apart in random order (no ties within a finite-difference step). */
function spaced(rng: Random, n: number): number[] {
  const v = Array.from({ length: n }, (_, i) => (i - n / 2) * 0.13);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [v[i], v[j]] = [v[j] as number, v[i] as number];
  }
  return v;
}

/** The LRN forward pass in standard operators (the reference for ranks ONNX Runtime's LRN refuses). */
function lrnReference(shape: number[], attrs: { size: number; alpha: number; beta: number; bias: number }): { nodes: NodeProto[]; initializers: TensorProto[] } {
  const [lo, hi] = [Math.floor((attrs.size - 1) / 2), Math.ceil((attrs.size - 1) / 2)];
  return {
    nodes: [
      node('Mul', ['x', 'x'], ['ref/sq']),
      node('Reshape', ['ref/sq', 'ref/folded'], ['ref/r']),
      node('Conv', ['ref/r', 'ref/ones'], ['ref/win'], { kernel_shape: [attrs.size, 1], pads: [lo, 0, hi, 0] }),
      node('Reshape', ['ref/win', 'ref/shape'], ['ref/sum']),
      node('Mul', ['ref/sum', 'ref/k'], ['ref/scaled']),
      node('Add', ['ref/scaled', 'ref/bias'], ['ref/s']),
      node('Pow', ['ref/s', 'ref/negbeta'], ['ref/p']),
      node('Mul', ['x', 'ref/p'], ['y']),
    ],
    initializers: [
      ints('ref/folded', [shape[0] as number, 1, shape[1] as number, -1]),
      ints('ref/shape', shape),
      floats('ref/ones', [1, 1, attrs.size, 1], new Array<number>(attrs.size).fill(1)),
      floats('ref/k', [], [attrs.alpha / attrs.size]),
      floats('ref/bias', [], [attrs.bias]),
      floats('ref/negbeta', [], [-attrs.beta]),
    ],
  };
}

function lrn(rng: Random, rank: number): TestModel {
  const shape = [1 + rng.int(2), 2 + rng.int(5), ...dims(rng, rank - 2, 3)];
  // ONNX Runtime's LRN takes odd sizes only; the lowered ranks check even ones too.
  const attrs = { size: rank === 4 ? 1 + 2 * rng.int(3) : 1 + rng.int(5), alpha: 0.05 + rng.next(), beta: 0.3 + rng.next(), bias: 0.5 + rng.next() };
  const lrnNode = node('LRN', ['x'], ['y'], { size: attrs.size, alpha: { f: attrs.alpha }, beta: { f: attrs.beta }, bias: { f: attrs.bias } });
  const base: TestModel = { nodes: [lrnNode], inputs: [x(shape)], output: 'y', opset: pick(rng, [11, 13, 18]) };
  if (rank === 4) return base;
  // ONNX Runtime runs LRN on rank 4 only: the built model's forward LRN is lowered to the reference.
  const reference = lrnReference(shape, attrs);
  return {
    ...base,
    reference,
    lowerBuilt: (model) => {
      const graph = model.graph as NonNullable<typeof model.graph>;
      const k = graph.node.findIndex((n) => n.opType === 'LRN');
      expect(k).toBeGreaterThanOrEqual(0);
      graph.node.splice(k, 1, ...reference.nodes);
      // The reference's float constants take the type the model runs in.
      const type = graph.input.find((i) => i.name === 'x')?.type?.tensorType?.elemType ?? DataType.FLOAT;
      graph.initializer.push(...reference.initializers.map((t) => (t.dataType === DataType.DOUBLE ? makeTensor(t.name, type, t.dims.map(Number), new Float64Array(t.rawData.slice().buffer)) : t)));
    },
  };
}

function mvn(rng: Random, variant: 'default' | 'axes' | 'dropped'): TestModel {
  if (variant === 'default') {
    const rank = pick(rng, [3, 4, 4]);
    const shape = [2 + rng.int(2), 1 + rng.int(3), 2 + rng.int(2), ...(rank === 4 ? [1 + rng.int(3)] : [])];
    // Rank 3 drops axis 3 of the default [0, 2, 3] (ONNX Runtime's kernel; its float64 fallback, the ONNX
    // function of opsets 13-18, refuses the axis, so rank 3 is checked at opsets 11 and 21).
    return { nodes: [node('MeanVarianceNormalization', ['x'], ['y'])], inputs: [x(shape)], output: 'y', opset: rank === 4 ? pick(rng, [11, 13, 18, 21]) : pick(rng, [11, 21]) };
  }
  const rank = 2 + rng.int(3);
  const shape = dims(rng, rank, 3).map((d) => d + 1);
  const chosen = Array.from({ length: rank }, (_, i) => i).filter(() => rng.next() < 0.5);
  if (chosen.length === 0) chosen.push(rng.int(rank));
  const axes = chosen.map((a) => (rng.next() < 0.4 ? a - rank : a));
  if (rng.next() < 0.3) axes.push(axes[0] as number);
  if (variant === 'dropped') axes.push(rank + rng.int(2));
  return {
    nodes: [node('MeanVarianceNormalization', ['x'], ['y'], { axes })],
    inputs: [x(shape)],
    output: 'y',
    opset: variant === 'dropped' ? pick(rng, [11, 21]) : pick(rng, [11, 13, 18, 21]),
  };
}

function lpPool(rng: Random, opset: 11 | 18, variant: 'pads' | 'auto_pad' | 'dilations'): TestModel {
  const n = 1 + rng.int(3);
  const kernel = Array.from({ length: n }, () => 1 + rng.int(3));
  const strides = kernel.map(() => 1 + rng.int(2));
  const spatial = kernel.map((k) => k + 1 + rng.int(3));
  const p = pick(rng, [1, 2, 3]);
  const attrs: Record<string, number | number[] | string | undefined> = { kernel_shape: kernel, strides, p: rng.next() < 0.3 && p === 2 ? undefined : p };
  if (variant === 'pads') attrs.pads = [...kernel.map((k) => rng.int(k)), ...kernel.map((k) => rng.int(k))];
  if (variant === 'auto_pad') attrs.auto_pad = pick(rng, ['SAME_UPPER', 'SAME_LOWER', 'VALID']);
  if (variant === 'dilations') {
    attrs.dilations = kernel.map(() => 1 + rng.int(2));
    attrs.pads = [...kernel.map((k) => rng.int(k)), ...kernel.map((k) => rng.int(k))];
    attrs.ceil_mode = rng.int(2);
    spatial.forEach((_, i) => (spatial[i] = (spatial[i] as number) + (kernel[i] as number) * ((attrs.dilations as number[])[i] as number)));
  }
  const shape = [1 + rng.int(2), 1 + rng.int(2), ...spatial];
  return { nodes: [node('LpPool', ['x'], ['y'], attrs)], inputs: [x(shape, p === 1 ? { draw: 'awayFromZero' } : {})], output: 'y', opset };
}

function simplifiedLayerNorm(rng: Random, outputs: 'y' | 'both' | 'invstd'): TestModel {
  const rank = 1 + rng.int(3);
  const s = dims(rng, rank, 3).map((d) => d + 1);
  const axis = rng.int(rank);
  const scaleShape = pick(rng, [s.slice(axis), s.slice(axis).map((d, i) => (i > 0 && rng.next() < 0.4 ? 1 : d))]);
  const scale = tensor(rng, 's', scaleShape, rng.next() < 0.6);
  const attrs = { axis: rng.next() < 0.5 ? axis : axis - rank, epsilon: rng.next() < 0.5 ? { f: 1e-3 } : undefined };
  const outs = outputs === 'y' ? ['y'] : outputs === 'both' ? ['n', 'r'] : ['n', 'r'];
  // inv_std_var is float32 (stash_type 1) whatever x's type: cast to float64, the type these models run in.
  const tail: NodeProto[] =
    outputs === 'y' ? []
    : outputs === 'both' ? [node('Cast', ['r'], ['rc'], { to: DataType.DOUBLE }), node('Mul', ['n', 'rc'], ['y'])]
    : [node('Cast', ['r'], ['rc'], { to: DataType.DOUBLE }), node('Add', ['rc', 'n0'], ['y']), node('Identity', ['n'], ['unused'])];
  // (For 'invstd', n0 is a constant: only the statistic's gradient flows.)
  return {
    nodes: [node('SimplifiedLayerNormalization', ['x', 's'], outs, attrs), ...tail],
    // Some dims symbolic (N of the statistics is then counted at run time).
    inputs: [symbolic(x(s), s.map((_, i) => (rng.next() < 0.4 ? `d${i}` : undefined))), ...inputsOf([scale])],
    initializers: [...initsOf([scale]), ...(outputs === 'invstd' ? [floats('n0', [], [0.5])] : [])],
    output: 'y',
    opset: pick(rng, [11, 13, 17, 18, 21]),
    fd: outputs === 'y' ? undefined : STASHED,
  };
}

function skipSimplifiedLayerNorm(rng: Random, variant: 'shapes' | 'outputs'): TestModel {
  const [b, sq, h] = [1 + rng.int(2), 1 + rng.int(3), 2 + rng.int(3)];
  const twoD = rng.next() < 0.3;
  const inShape = twoD ? [b * sq, h] : [b, sq, h];
  const skipShape = twoD || variant === 'outputs' ? inShape : pick(rng, [inShape, [1, sq, h], [sq, h]]);
  const withBias = rng.next() < 0.6;
  const parts = [tensor(rng, 'k', skipShape, rng.next() < 0.7), tensor(rng, 'g', [h], rng.next() < 0.5), ...(withBias ? [tensor(rng, 'bi', [h], rng.next() < 0.5)] : [])];
  const which = variant === 'outputs' ? pick(rng, ['mean', 'invstd', 'sum', 'all'] as const) : 'y';
  const outs = which === 'y' ? ['y'] : which === 'mean' ? ['o', 'm'] : which === 'invstd' ? ['o', '', 'r'] : which === 'sum' ? ['o', '', '', 'sum'] : ['o', 'm', 'r', 'sum'];
  const tail: NodeProto[] =
    which === 'y' ? []
    : which === 'mean' ? [node('Add', ['o', 'm'], ['y'])]
    : which === 'invstd' ? [node('Mul', ['o', 'r'], ['y'])]
    : which === 'sum' ? [node('Mul', ['o', 'sum'], ['y'])]
    : [node('Mul', ['o', 'r'], ['t']), node('Add', ['t', 'm'], ['t2']), node('Mul', ['t2', 'sum'], ['y'])];
  return {
    nodes: [msNode('SkipSimplifiedLayerNormalization', ['x', 'k', 'g', ...(withBias ? ['bi'] : [])], outs, { epsilon: { f: pick(rng, [1e-5, 1e-3]) } }), ...tail],
    inputs: [rng.next() < 0.5 ? symbolic(x(inShape), ['b', 's']) : x(inShape), ...inputsOf(parts)],
    initializers: initsOf(parts),
    output: 'y',
    opset: pick(rng, [11, 13, 17, 18, 21]),
    opsets: MS,
  };
}

/** cos/sin caches of `rows` positions and `width` frequencies (constants, as decoders ship them). */
function caches(rows: number, width: number): TensorProto[] {
  const angle = (p: number, k: number): number => p / 10000 ** ((2 * k) / (2 * width)) + 0.3 * k;
  const grid = (f: (a: number) => number): number[] => Array.from({ length: rows * width }, (_, i) => f(angle(Math.floor(i / width), i % width)));
  return [floats('cos', [rows, width], grid(Math.cos)), floats('sin', [rows, width], grid(Math.sin))];
}

function rotary(rng: Random, layout: 3 | 4, variant: 'full' | 'partial', interleaved: 0 | 1): TestModel {
  const [b, s, heads] = [1 + rng.int(2), 1 + rng.int(3), 1 + rng.int(3)];
  const head = pick(rng, [4, 6, 8]);
  const rotaryDim = variant === 'full' ? head : 2 * (1 + rng.int(head / 2 - 1));
  const rows = s + 3 + rng.int(3);
  const perToken = rng.next() < 0.5;
  const pos = perToken ? values(rng, b * s, () => rng.int(rows)) : [rng.int(rows - s + 1)];
  const attrs = {
    interleaved: interleaved === 1 || rng.next() < 0.3 ? interleaved : undefined,
    num_heads: variant === 'partial' || rng.next() < 0.5 ? heads : undefined,
    rotary_embedding_dim: variant === 'partial' ? rotaryDim : undefined,
  };
  return {
    nodes: [msNode('RotaryEmbedding', ['x', 'pos', 'cos', 'sin'], ['y'], attrs)],
    inputs: [symbolic(x(layout === 3 ? [b, s, heads * head] : [b, heads, s, head]), rng.next() < 0.5 ? (layout === 3 ? ['b', 's'] : ['b', undefined, 's']) : []), { name: 'pos', shape: perToken ? [b, s] : [1], type: 'int64', constant: true, values: pos }],
    initializers: caches(rows, rotaryDim / 2),
    output: 'y',
    opset: pick(rng, [11, 13, 17, 21]),
    opsets: MS,
  };
}

type MhaVariant = 'self-bias' | 'cross-mask2d' | 'lengths-unidirectional' | 'mask3d' | 'per-head';

function mha(rng: Random, variant: MhaVariant): TestModel {
  const [b, heads] = [1 + rng.int(2), 1 + rng.int(2)];
  const s = 2 + rng.int(2);
  const l = variant === 'self-bias' || variant === 'lengths-unidirectional' ? s : 1 + rng.int(4);
  const h = 2 + rng.int(2);
  const hv = variant === 'per-head' ? h : 1 + rng.int(3);
  const [d, dv] = [heads * h, heads * hv];
  const learn = (p: number): boolean => rng.next() < p;
  const parts = [tensor(rng, 'q', [b, s, d], true), tensor(rng, 'k', variant === 'per-head' ? [b, heads, l, h] : [b, l, d], learn(0.8)), tensor(rng, 'v', variant === 'per-head' ? [b, heads, l, hv] : [b, l, dv], learn(0.8))];
  const withBias = variant === 'self-bias' || (variant !== 'per-head' && learn(0.4));
  if (withBias) parts.push(tensor(rng, 'bias', [2 * d + dv], learn(0.6)));
  const ins = ['q', 'k', 'v', withBias ? 'bias' : ''];
  const extra: TestInput[] = [];
  // Key 0 is never masked, so that no row is masked entirely.
  if (variant === 'cross-mask2d') {
    extra.push({ name: 'mask', shape: [b, l], type: 'int32', constant: true, values: values(rng, b * l, () => rng.int(2)).map((v, i) => (i % l === 0 ? 1 : v)) });
    ins.push('mask');
  } else if (variant === 'lengths-unidirectional') {
    extra.push({ name: 'mask', shape: [b], type: 'int32', constant: true, values: values(rng, b, () => 1 + rng.int(l)) });
    ins.push('mask');
  } else if (variant === 'mask3d') {
    extra.push({ name: 'mask', shape: [b, s, l], type: 'int32', constant: true, values: values(rng, b * s * l, () => rng.int(2)).map((v, i) => (i % l === 0 ? 1 : v)) });
    ins.push('mask');
  } else ins.push('');
  if (variant === 'cross-mask2d' || variant === 'per-head') {
    parts.push(tensor(rng, 'ab', [rng.int(2) === 0 ? 1 : b, heads, s, l], learn(0.7)));
    ins.push('ab');
  }
  while (ins[ins.length - 1] === '') ins.pop();
  const sym = variant !== 'self-bias' && variant !== 'lengths-unidirectional' && rng.next() < 0.5;
  const declare = (i: TestInput): TestInput => (!sym ? i : i.name === 'q' ? symbolic(i, ['b', 's']) : i.name === 'k' || i.name === 'v' ? symbolic(i, i.shape.length === 4 ? ['b', undefined, 'l'] : ['b', 'l']) : i);
  return {
    nodes: [
      msNode('MultiHeadAttention', ins, ['y'], {
        num_heads: heads,
        unidirectional: variant === 'lengths-unidirectional' || (variant === 'self-bias' && learn(0.5)) ? 1 : undefined,
        scale: variant === 'cross-mask2d' ? { f: 0.3 + rng.next() } : undefined,
        mask_filter_value: variant === 'lengths-unidirectional' ? { f: -5000 } : undefined,
      }),
    ],
    inputs: [...inputsOf(parts).map(declare), ...extra],
    initializers: initsOf(parts),
    output: 'y',
    opset: pick(rng, [11, 13, 17, 21]),
    opsets: MS,
  };
}

type GqaVariant = 'plain' | 'bidirectional' | 'packed' | 'rotary' | 'rotary-interleaved' | 'window-softcap-smooth' | 'empty-past';

function gqa(rng: Random, variant: GqaVariant): TestModel {
  const [b, s] = [1 + rng.int(2), variant === 'window-softcap-smooth' ? 3 + rng.int(3) : 2 + rng.int(2)];
  const kvHeads = 1 + rng.int(2);
  const heads = kvHeads * (1 + rng.int(2));
  // ONNX Runtime's CPU kernel needs head sizes that are multiples of 8, and with do_rotary 16 and cache
  // widths that are multiples of 8 (a head of 32 is rotated over its first 16 entries).
  const rotary = variant === 'rotary' || variant === 'rotary-interleaved';
  const h = rotary ? pick(rng, [16, 32]) : 8;
  const packed = variant === 'packed' || (rotary && rng.next() < 0.4);
  const parts = packed
    ? [tensor(rng, 'q', [b, s, (heads + 2 * kvHeads) * h], true)]
    : [tensor(rng, 'q', [b, s, heads * h], true), tensor(rng, 'k', [b, s, kvHeads * h], rng.next() < 0.8), tensor(rng, 'v', [b, s, kvHeads * h], rng.next() < 0.8)];
  const lengths: TestInput[] = [
    { name: 'seqlens', shape: [b], type: 'int32', constant: true, values: new Array<number>(b).fill(s - 1) },
    { name: 'total', shape: [], type: 'int32', constant: true, values: [s] },
  ];
  const past: TestInput[] = variant === 'empty-past' ? [{ name: 'pk', shape: [b, kvHeads, 0, h], constant: true, values: [] }, { name: 'pv', shape: [b, kvHeads, 0, h], constant: true, values: [] }] : [];
  const rotaryWidth = rotary ? 8 : 0;
  const ins = [packed ? 'q' : 'q', packed ? '' : 'k', packed ? '' : 'v', past.length ? 'pk' : '', past.length ? 'pv' : '', 'seqlens', 'total', ...(rotaryWidth ? ['cos', 'sin'] : [])];
  const attrs = {
    num_heads: heads,
    kv_num_heads: kvHeads,
    do_rotary: rotaryWidth ? 1 : undefined,
    rotary_interleaved: variant === 'rotary-interleaved' ? 1 : undefined,
    scale: variant === 'plain' && rng.next() < 0.5 ? { f: 0.2 + 0.3 * rng.next() } : undefined,
    local_window_size: variant === 'window-softcap-smooth' ? 1 + rng.int(s - 1) : undefined,
    softcap: variant === 'window-softcap-smooth' && rng.next() < 0.7 ? { f: 1 + rng.next() } : undefined,
    smooth_softmax: variant === 'window-softcap-smooth' && rng.next() < 0.7 ? 1 : undefined,
    causal: variant === 'bidirectional' ? 0 : undefined,
  };
  return {
    nodes: [msNode('GroupQueryAttention', ins, ['y', 'present_k', 'present_v'], attrs)],
    inputs: [...inputsOf(parts).map((i) => (rng.next() < 0.5 ? symbolic(i, ['b', 's']) : i)), ...lengths, ...past],
    initializers: [...initsOf(parts), ...(rotaryWidth ? caches(s + 2, rotaryWidth) : [])],
    output: 'y',
    opset: pick(rng, [11, 13, 17, 21]),
    opsets: MS,
  };
}

const cases: Case[] = [
  // Elementwise (ONNX Runtime runs these in float32 only).
  unary('Sinh', normal, 9),
  unary('Cosh', normal, 13),
  unary('Tan', unit, 7),
  unary('Asin', unit, 13),
  unary('Acos', unit, 13),
  unary('Atan', normal, 13),
  unary('Asinh', normal, 13),
  unary('Acosh', (rng) => 1.2 + 2 * rng.next(), 13),
  unary('Atanh', unit, 13),
  unary('Softplus', normal, 13),
  unary('Softsign', (rng) => (0.2 + rng.next()) * (rng.next() < 0.5 ? -1 : 1), 11),
  ['Shrink (lambd, bias; opset 11)', (rng) => shrink(rng, 11)],
  ['Shrink (lambd, bias; opset 18)', (rng) => shrink(rng, 18)],
  // Zero gradients: Hardmax and EyeLike as constants inside a differentiable product.
  [
    'Hardmax treated as a constant (x ⊙ hardmax(x); opsets 11 and 13)',
    (rng) => {
      const shape = dims(rng, 1 + rng.int(3)).map((d) => d + 1);
      const opset = pick(rng, [11, 13]);
      return { nodes: [node('Hardmax', ['x'], ['h'], { axis: rng.int(shape.length) }), node('Mul', ['x', 'h'], ['y'])], inputs: [x(shape, { values: spaced(rng, size(shape)) })], output: 'y', opset };
    },
  ],
  [
    'EyeLike treated as a constant (x ⊙ eye(x), k, dtype)',
    (rng) => {
      const shape = [1 + rng.int(4), 1 + rng.int(4)];
      return { nodes: [node('EyeLike', ['x'], ['i'], { k: rng.int(3) - 1, dtype: rng.next() < 0.5 ? DataType.DOUBLE : undefined }), node('Mul', ['x', 'i'], ['p']), node('Add', ['p', 'x'], ['y'])], inputs: [x(shape)], output: 'y', opset: 13 };
    },
  ],
  // Normalisations and pooling.
  ['LRN (rank 4, ONNX Runtime)', (rng) => lrn(rng, 4)],
  ['LRN (rank 3, lowered to a reference)', (rng) => lrn(rng, 3)],
  ['LRN (rank 5, lowered to a reference)', (rng) => lrn(rng, 5)],
  ['MeanVarianceNormalization (default axes [0, 2, 3])', (rng) => mvn(rng, 'default')],
  ['MeanVarianceNormalization (axes: negative, repeated)', (rng) => mvn(rng, 'axes')],
  ['MeanVarianceNormalization (an out-of-range axis dropped, as ONNX Runtime does)', (rng) => mvn(rng, 'dropped')],
  ['LpPool (opset 11: pads, strides, p)', (rng) => lpPool(rng, 11, 'pads')],
  ['LpPool (opset 11: auto_pad)', (rng) => lpPool(rng, 11, 'auto_pad')],
  ['LpPool (opset 18: dilations, ceil_mode, pads)', (rng) => lpPool(rng, 18, 'dilations')],
  ['LpPool (opset 18: auto_pad)', (rng) => lpPool(rng, 18, 'auto_pad')],
  [
    'GlobalLpPool (p = 1, 2, 3)',
    (rng) => {
      const p = pick(rng, [1, 2, 3]);
      const shape = [1 + rng.int(2), 1 + rng.int(3), ...dims(rng, 1 + rng.int(3), 3)];
      return { nodes: [node('GlobalLpPool', ['x'], ['y'], p === 2 && rng.next() < 0.5 ? {} : { p })], inputs: [x(shape, p === 1 ? { draw: 'awayFromZero' } : {})], output: 'y', opset: pick(rng, [11, 18]) };
    },
  ],
  ['SimplifiedLayerNormalization (RMSNorm, default domain: Y)', (rng) => simplifiedLayerNorm(rng, 'y')],
  ['SimplifiedLayerNormalization (Y and inv_std_var)', (rng) => simplifiedLayerNorm(rng, 'both')],
  ['SimplifiedLayerNormalization (inv_std_var only)', (rng) => simplifiedLayerNorm(rng, 'invstd')],
  // com.microsoft operators of transformer decoders (float32 kernels only).
  ['com.microsoft SkipSimplifiedLayerNormalization (skip shapes, optional bias)', (rng) => skipSimplifiedLayerNorm(rng, 'shapes')],
  ['com.microsoft SkipSimplifiedLayerNormalization (mean, inv_std_var, input_skip_bias_sum outputs)', (rng) => skipSimplifiedLayerNorm(rng, 'outputs')],
  ['com.microsoft RotaryEmbedding (B × S × hidden, halves, start or per-token positions)', (rng) => rotary(rng, 3, 'full', 0)],
  ['com.microsoft RotaryEmbedding (B × S × hidden, interleaved)', (rng) => rotary(rng, 3, 'full', 1)],
  ['com.microsoft RotaryEmbedding (B × N × S × H, halves)', (rng) => rotary(rng, 4, 'full', 0)],
  ['com.microsoft RotaryEmbedding (B × N × S × H, interleaved)', (rng) => rotary(rng, 4, 'full', 1)],
  ['com.microsoft RotaryEmbedding (rotary_embedding_dim < head size, num_heads; halves)', (rng) => rotary(rng, pick(rng, [3, 4] as const), 'partial', 0)],
  ['com.microsoft RotaryEmbedding (rotary_embedding_dim < head size, num_heads; interleaved)', (rng) => rotary(rng, pick(rng, [3, 4] as const), 'partial', 1)],
  ['com.microsoft MultiHeadAttention (self attention, bias, unidirectional)', (rng) => mha(rng, 'self-bias')],
  ['com.microsoft MultiHeadAttention (cross attention, 2-D key padding mask, attention_bias, scale)', (rng) => mha(rng, 'cross-mask2d')],
  ['com.microsoft MultiHeadAttention (key lengths, unidirectional, mask_filter_value)', (rng) => mha(rng, 'lengths-unidirectional')],
  ['com.microsoft MultiHeadAttention (3-D mask, cross attention)', (rng) => mha(rng, 'mask3d')],
  ['com.microsoft MultiHeadAttention (per-head key and value, attention_bias)', (rng) => mha(rng, 'per-head')],
  ['com.microsoft GroupQueryAttention (prompt, grouped heads, scale)', (rng) => gqa(rng, 'plain')],
  ['com.microsoft GroupQueryAttention (causal 0: bidirectional)', (rng) => gqa(rng, 'bidirectional')],
  ['com.microsoft GroupQueryAttention (packed QKV)', (rng) => gqa(rng, 'packed')],
  ['com.microsoft GroupQueryAttention (do_rotary, halves; full or partial rotation)', (rng) => gqa(rng, 'rotary')],
  ['com.microsoft GroupQueryAttention (do_rotary, rotary_interleaved)', (rng) => gqa(rng, 'rotary-interleaved')],
  ['com.microsoft GroupQueryAttention (local_window_size, softcap, smooth_softmax)', (rng) => gqa(rng, 'window-softcap-smooth')],
  ['com.microsoft GroupQueryAttention (empty past key/value)', (rng) => gqa(rng, 'empty-past')],
];

describeCases('more backward rules against central finite differences', cases, 9100);

/** The gradient model of `m` (float64) run on fixed inputs with weights 1: gradients by input name. */
async function gradients(m: TestModel, feeds: Record<string, number[]>, outShape: number[]): Promise<Record<string, number[]>> {
  const wrt = m.inputs.filter((i) => !i.constant).map((i) => i.name);
  const built = transformModel(encodeModel(buildModel(m, DataType.DOUBLE)), { wrt });
  const session = await ort.InferenceSession.create(built.bytes);
  const input: Record<string, ort.Tensor> = {};
  for (const i of m.inputs) if (!i.constant) input[i.name] = new ort.Tensor('float64', Float64Array.from(feeds[i.name] as number[]), i.shape);
  input[built.weights as string] = new ort.Tensor('float64', new Float64Array(size(outShape)).fill(1), outShape);
  const result = await session.run(input);
  await session.release();
  return Object.fromEntries(wrt.map((name, k) => [name, Array.from((result[built.gradients[k] as string] as ort.Tensor).data as Float64Array)]));
}

describe('operators whose outputs do not depend on the input values take no gradient', () => {
  const v = [0.3, 0.1, 0.9, 0.6, 0.2, 0.75];
  for (const op of ['RandomNormalLike', 'RandomUniformLike', 'Bernoulli']) {
    it(`${op}: only the other path of x² + ${op}(x) contributes (2x)`, async () => {
      const m: TestModel = { nodes: [node(op, ['x'], ['r'], { seed: { f: 3 } }), node('Mul', ['x', 'x'], ['sq']), node('Add', ['sq', 'r'], ['y'])], inputs: [x([2, 3])], output: 'y', opset: 15 };
      const g = await gradients(m, { x: v }, [2, 3]);
      expect(g.x?.map((t) => +t.toFixed(12))).toEqual(v.map((t) => +(2 * t).toFixed(12)));
    });
  }

  it('the zero-gradient operators are cut from the backward graph, not refused', () => {
    for (const op of ['Hardmax', 'EyeLike', 'RandomNormalLike', 'RandomUniformLike', 'Bernoulli']) {
      const m: TestModel = { nodes: [node(op, ['x'], ['y'])], inputs: [x([2, 2])], output: 'y', opset: 15 };
      const built = transformModel(encodeModel(buildModel(m, DataType.FLOAT)), { wrt: ['x'] });
      expect(built.gradients, op).toHaveLength(1);
    }
  });
});

describe('rule sets: Captum defines no DeepLift, guided-backprop or deconvolution rule for these operators', () => {
  // captum/attr/_core/deep_lift.py: SUPPORTED_NON_LINEAR lists ReLU, ELU, LeakyReLU, Sigmoid, Tanh, Softplus,
  // MaxPool1d/2d/3d and Softmax; guided backprop and deconvolution override ReLU only. These take plain gradients.
  const ops = ['Sinh', 'Cosh', 'Tan', 'Asin', 'Acos', 'Atan', 'Asinh', 'Acosh', 'Atanh', 'Shrink', 'Softsign', 'LRN', 'MeanVarianceNormalization', 'LpPool', 'GlobalLpPool', 'SimplifiedLayerNormalization'];
  const contrib = ['SkipSimplifiedLayerNormalization', 'RotaryEmbedding', 'MultiHeadAttention', 'GroupQueryAttention'];
  for (const set of ['deeplift', 'guided-backprop', 'deconvolution'] as RuleSet[]) {
    it(set, () => {
      for (const op of ops) {
        expect(getGradient(op, set), op).toBeDefined();
        expect(getGradient(op, set), op).toBe(getGradient(op));
      }
      for (const op of contrib) {
        expect(getGradient(op, set, 'com.microsoft'), op).toBeDefined();
        expect(getGradient(op, set, 'com.microsoft'), op).toBe(getGradient(op, 'gradient', 'com.microsoft'));
      }
    });
  }

  it('SimplifiedLayerNormalization is registered in the default domain only, where ONNX Runtime runs it', () => {
    expect(getGradient('SimplifiedLayerNormalization')).toBeDefined();
    expect(getGradient('SimplifiedLayerNormalization', 'gradient', 'com.microsoft')).toBeUndefined();
  });
});

describe('shape inference', () => {
  const infer = (m: TestModel, type = DataType.DOUBLE): Graph => {
    const graph = new Graph(encodeModel(buildModel(m, type)));
    inferShapes(graph);
    return graph;
  };

  it('LpPool, GlobalLpPool, LRN, MeanVarianceNormalization and the elementwise operators', () => {
    const g = infer({
      nodes: [
        node('LpPool', ['x'], ['p'], { kernel_shape: [2, 3], strides: [2, 1], pads: [1, 0, 0, 1], p: 3 }),
        node('LpPool', ['x'], ['pc'], { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1, dilations: [1, 2] }),
        node('GlobalLpPool', ['x'], ['gp']),
        node('LRN', ['x'], ['l'], { size: 3 }),
        node('MeanVarianceNormalization', ['l'], ['m']),
        node('Asinh', ['m'], ['a']),
        node('Shrink', ['a'], ['s']),
        node('Hardmax', ['s'], ['h']),
      ],
      inputs: [x([2, 3, 5, 6], { declared: ['n', 3, 5, 6] })],
      output: 'h',
      opset: 18,
    });
    expect(g.info('p')).toMatchObject({ elemType: DataType.DOUBLE, shape: ['n', 3, 3, 5] });
    expect(g.info('pc')).toMatchObject({ shape: ['n', 3, 3, 3] });
    expect(g.info('gp')).toMatchObject({ shape: ['n', 3, 1, 1] });
    for (const t of ['l', 'm', 'a', 's', 'h']) expect(g.info(t), t).toMatchObject({ elemType: DataType.DOUBLE, shape: ['n', 3, 5, 6] });
  });

  it('RandomNormalLike, RandomUniformLike, Bernoulli and EyeLike: the input shape, dtype or the input type', () => {
    const g = infer({
      nodes: [node('RandomNormalLike', ['x'], ['r'], { dtype: DataType.FLOAT }), node('RandomUniformLike', ['x'], ['u']), node('Bernoulli', ['x'], ['b']), node('EyeLike', ['x'], ['e'], { dtype: DataType.INT64 })],
      inputs: [x([2, 3], { declared: ['n', 3] })],
      output: 'u',
      opset: 15,
    });
    expect(g.info('r')).toMatchObject({ elemType: DataType.FLOAT, shape: ['n', 3] });
    expect(g.info('u')).toMatchObject({ elemType: DataType.DOUBLE, shape: ['n', 3] });
    expect(g.info('b')).toMatchObject({ elemType: DataType.DOUBLE, shape: ['n', 3] });
    expect(g.info('e')).toMatchObject({ elemType: DataType.INT64, shape: ['n', 3] });
  });

  it('SimplifiedLayerNormalization and SkipSimplifiedLayerNormalization statistics (float32, normalised axes 1)', () => {
    const g = infer({
      nodes: [node('SimplifiedLayerNormalization', ['x', 's'], ['y', 'r'], { axis: 1 }), msNode('SkipSimplifiedLayerNormalization', ['y', 'y', 'g'], ['o', 'm', 'i', 'sum'])],
      inputs: [x([2, 3, 4], { declared: ['b', 's', 4] }), { name: 's', shape: [4] }, { name: 'g', shape: [4] }],
      output: 'o',
      opset: 17,
      opsets: MS,
    });
    expect(g.info('y')).toMatchObject({ elemType: DataType.DOUBLE, shape: ['b', 's', 4] });
    expect(g.info('r')).toMatchObject({ elemType: DataType.FLOAT, shape: ['b', 1, 1] });
    expect(g.info('o')).toMatchObject({ elemType: DataType.DOUBLE, shape: ['b', 's', 4] });
    expect(g.info('sum')).toMatchObject({ elemType: DataType.DOUBLE, shape: ['b', 's', 4] });
    for (const t of ['m', 'i']) expect(g.info(t), t).toMatchObject({ elemType: DataType.FLOAT, shape: ['b', 's', 1] });
  });

  it('RotaryEmbedding, MultiHeadAttention and GroupQueryAttention outputs (present key/value, qk)', () => {
    const g = infer({
      nodes: [
        msNode('RotaryEmbedding', ['q', 'pos', 'cos', 'sin'], ['qr']),
        msNode('MultiHeadAttention', ['qr', 'k', 'v'], ['o', 'pk', 'pv', 'qk'], { num_heads: 2 }),
        msNode('GroupQueryAttention', ['qr', 'k8', 'k8', '', '', 'sl', 'tl'], ['go', 'gk', 'gv'], { num_heads: 2, kv_num_heads: 1 }),
        msNode('GroupQueryAttention', ['packed', '', '', '', '', 'sl', 'tl'], ['po'], { num_heads: 2, kv_num_heads: 1 }),
      ],
      inputs: [
        { name: 'q', shape: [1, 3, 16], declared: ['b', 's', 16] },
        { name: 'pos', shape: [1], type: 'int64' },
        { name: 'k', shape: [1, 5, 16], declared: ['b', 'l', 16] },
        { name: 'v', shape: [1, 5, 6], declared: ['b', 'l', 6] },
        { name: 'k8', shape: [1, 3, 8], declared: ['b', 's', 8] },
        { name: 'packed', shape: [1, 3, 32], declared: ['b', 's', 32] },
        { name: 'sl', shape: [1], type: 'int32' },
        { name: 'tl', shape: [], type: 'int32' },
      ],
      initializers: caches(4, 4),
      output: 'o',
      opsets: MS,
    });
    expect(g.info('qr')).toMatchObject({ elemType: DataType.DOUBLE, shape: ['b', 's', 16] });
    expect(g.info('o')).toMatchObject({ elemType: DataType.DOUBLE, shape: ['b', 's', 6] });
    expect(g.info('pk')).toMatchObject({ shape: ['b', 2, 'l', 8] });
    expect(g.info('pv')).toMatchObject({ shape: ['b', 2, 'l', 3] });
    expect(g.info('qk')).toMatchObject({ shape: ['b', 2, 's', 'l'] });
    expect(g.info('go')).toMatchObject({ elemType: DataType.DOUBLE, shape: ['b', 's', 16] });
    expect(g.info('gk')).toMatchObject({ shape: ['b', 1, 's', 8] });
    expect(g.info('gv')).toMatchObject({ shape: ['b', 1, 's', 8] });
    expect(g.info('po')).toMatchObject({ shape: ['b', 's', 16] });
  });
});

describe('refusals', () => {
  const build = (m: TestModel, wrt = ['x']): (() => unknown) => () => transformModel(encodeModel(buildModel(m, DataType.FLOAT)), { wrt });
  const refuses = (m: TestModel, detail: RegExp, wrt?: string[]): void => {
    expect(build(m, wrt)).toThrow(UnsupportedOperatorError);
    expect(build(m, wrt)).toThrow(detail);
  };
  const attention = (op: string, ins: string[], attrs: Record<string, number>, inputs: TestInput[], outs = ['y']): TestModel => ({
    nodes: [msNode(op, ins, outs, attrs)],
    inputs,
    output: 'y',
    opsets: MS,
  });

  it('MultiHeadAttention with past key/value, packed QKV, and the 3·B + 2 mask', () => {
    const past = { shape: [1, 1, 2, 2], constant: true, values: [0, 0, 0, 0] } as const;
    refuses(attention('MultiHeadAttention', ['x', 'x', 'x', '', '', '', 'pk', 'pv'], { num_heads: 1 }, [x([1, 2, 2]), { name: 'pk', ...past }, { name: 'pv', ...past }]), /past_key\/past_value/);
    refuses(attention('MultiHeadAttention', ['x'], { num_heads: 1 }, [x([1, 2, 6])]), /packed QKV/);
    refuses(attention('MultiHeadAttention', ['x', 'x', 'x', '', 'mask'], { num_heads: 1 }, [x([1, 2, 2]), { name: 'mask', shape: [5], type: 'int32', constant: true, values: [2, 2, 0, 0, 0] }]), /3·B \+ 2/);
  });

  it('MultiHeadAttention unidirectional over keys of another length (cross attention)', () => {
    refuses(attention('MultiHeadAttention', ['x', 'k', 'k'], { num_heads: 1, unidirectional: 1 }, [x([1, 2, 2]), { name: 'k', shape: [1, 3, 2] }]), /unidirectional attention whose key length/);
    expect(build(attention('MultiHeadAttention', ['x', 'x', 'x'], { num_heads: 1, unidirectional: 1 }, [x([1, 2, 2], { declared: ['b', 's', 2] })]))).not.toThrow();
  });

  it('MultiHeadAttention with a gradient flowing into present_key', () => {
    const m: TestModel = { nodes: [msNode('MultiHeadAttention', ['x', 'x', 'x'], ['o', 'pk'], { num_heads: 1 }), node('ReduceSum', ['pk'], ['s'], { keepdims: 0 }), node('Add', ['o', 's'], ['y'])], inputs: [x([1, 2, 2])], output: 'y', opsets: MS };
    refuses(m, /present_key/);
  });

  it('GroupQueryAttention with a past key/value cache, position_ids or attention_bias', () => {
    const lengths: TestInput[] = [{ name: 'sl', shape: [1], type: 'int32', constant: true, values: [3] }, { name: 'tl', shape: [], type: 'int32', constant: true, values: [4] }];
    const past = { shape: [1, 1, 2, 8], constant: true, values: new Array<number>(16).fill(0) } as const;
    refuses(attention('GroupQueryAttention', ['x', 'k', 'k', 'pk', 'pk', 'sl', 'tl'], { num_heads: 1, kv_num_heads: 1 }, [x([1, 2, 8]), { name: 'k', shape: [1, 2, 8] }, { name: 'pk', ...past }, ...lengths]), /past key\/value cache/);
    const prompt: TestInput[] = [{ name: 'sl', shape: [1], type: 'int32', constant: true, values: [1] }, { name: 'tl', shape: [], type: 'int32', constant: true, values: [2] }];
    refuses(attention('GroupQueryAttention', ['x', 'x', 'x', '', '', 'sl', 'tl', '', '', 'pos'], { num_heads: 1, kv_num_heads: 1 }, [x([1, 2, 8]), ...prompt, { name: 'pos', shape: [1, 2], type: 'int64', constant: true, values: [0, 1] }]), /position_ids/);
    refuses(attention('GroupQueryAttention', ['x', 'x', 'x', '', '', 'sl', 'tl', '', '', '', 'ab'], { num_heads: 1, kv_num_heads: 1 }, [x([1, 2, 8]), ...prompt, { name: 'ab', shape: [1, 1, 2, 2], constant: true, values: [0, 0, 0, 0] }]), /attention_bias/);
    refuses(attention('GroupQueryAttention', ['x', 'x', 'x', '', '', 'sl', 'tl'], { num_heads: 1, kv_num_heads: 1 }, [x([1, 2, 8]), { name: 'sl', shape: [1], type: 'int32', constant: true, values: [4] }, { name: 'tl', shape: [], type: 'int32', constant: true, values: [5] }]), /total_sequence_length 5/);
  });

  it('RotaryEmbedding when the caches need a gradient', () => {
    const m: TestModel = {
      nodes: [msNode('RotaryEmbedding', ['x', 'pos', 'cos', 'sin'], ['y'])],
      inputs: [x([1, 2, 4]), { name: 'pos', shape: [1], type: 'int64', constant: true, values: [0] }, { name: 'cos', shape: [3, 2] }, { name: 'sin', shape: [3, 2] }],
      output: 'y',
      opsets: MS,
    };
    refuses(m, /cos_cache or sin_cache/, ['x', 'cos']);
    expect(build(m, ['x'])).not.toThrow();
  });

  it('MeanVarianceNormalization whose axes are all outside the input', () => {
    refuses({ nodes: [node('MeanVarianceNormalization', ['x'], ['y'], { axes: [3, 4] })], inputs: [x([2, 3])], output: 'y' }, /none of which is an axis/);
  });
});

describe('malformed attributes', () => {
  const build = (m: TestModel): (() => unknown) => () => transformModel(encodeModel(buildModel(m, DataType.FLOAT)), { wrt: ['x'] });

  it('LRN with a size of 0', () => {
    expect(build({ nodes: [node('LRN', ['x'], ['y'], { size: 0 })], inputs: [x([1, 3, 2, 2])], output: 'y' })).toThrow(InvalidModelError);
  });

  it('LpPool and GlobalLpPool with p = 0', () => {
    expect(build({ nodes: [node('LpPool', ['x'], ['y'], { kernel_shape: [2], p: 0 })], inputs: [x([1, 1, 4])], output: 'y' })).toThrow(InvalidModelError);
    expect(build({ nodes: [node('GlobalLpPool', ['x'], ['y'], { p: 0 })], inputs: [x([1, 1, 4])], output: 'y' })).toThrow(InvalidModelError);
  });

  it('LpPool with a zero stride', () => {
    expect(build({ nodes: [node('LpPool', ['x'], ['y'], { kernel_shape: [2], strides: [0] })], inputs: [x([1, 1, 4])], output: 'y' })).toThrow(InvalidModelError);
  });
});
