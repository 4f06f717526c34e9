import * as ort from 'onnxruntime-node';
import type { Random } from '@attribution/tensor';
import { describe, expect, it } from 'vitest';
import { UnsupportedOperatorError } from '../src/errors.js';
import { Graph } from '../src/graph.js';
import { transformModel } from '../src/index.js';
import { DataType, encodeModel } from '../src/proto.js';
import { inferShapes } from '../src/shapes.js';
import { buildModel, describeCases, floats, ints, node, type TestInput, type TestModel, type Case } from './op-model.js';

// Backward rules of reductions, indexing and tensor-algebra operators (transformers, Swin, detection
// heads), checked against central finite differences on random shapes and attributes (seeded), plus
// exact values where finite differences cannot decide (ties, zeros).

const pick = <T>(rng: Random, list: readonly T[]): T => list[rng.int(list.length)] as T;
const dims = (rng: Random, rank: number, max = 4): number[] => Array.from({ length: rank }, () => 1 + rng.int(max));
const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
const x = (shape: number[], extra: Partial<TestInput> = {}): TestInput => ({ name: 'x', shape, ...extra });
/** INT64_MAX and INT64_MIN as exported by PyTorch for open slices (2⁶³ saturates to 2⁶³ − 1 as int64). */
const INT64_MAX = 2 ** 63;
const INT64_MIN = -(2 ** 63);

/** Distinct values at least 0.2 apart in random order: no ties, even for float32 finite differences. */
function distinct(rng: Random, n: number): number[] {
  const v = Array.from({ length: n }, (_, i) => 0.25 * (i - n / 2) + 0.04 * rng.next());
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [v[i], v[j]] = [v[j] as number, v[i] as number];
  }
  return v;
}

/** Random in-range indices for a dimension of `d`, some negative. */
const indexValues = (rng: Random, n: number, d: number): number[] => Array.from({ length: n }, () => rng.int(d) - (rng.next() < 0.3 ? d : 0));

/** Distinct positions `k` of `[0, d)`, in random order. */
function distinctPositions(rng: Random, k: number, d: number): number[] {
  const all = Array.from({ length: d }, (_, i) => i);
  for (let i = d - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [all[i], all[j]] = [all[j] as number, all[i] as number];
  }
  return all.slice(0, k);
}


const reductionCases = (op: string, draw: TestInput['draw'] = 'normal', distinctValues = false): Case[] => {
  const input = (rng: Random, shape: number[]): TestInput => x(shape, distinctValues ? { values: distinct(rng, size(shape)) } : { draw });
  return [
    [
      `${op} (opset 13, axes attribute)`,
      (rng) => {
        const s = dims(rng, 3);
        const axes = pick(rng, [[0], [1], [-1], [0, 2], [1, -1]]);
        return { nodes: [node(op, ['x'], ['y'], { axes, keepdims: rng.int(2) })], inputs: [input(rng, s)], output: 'y', opset: 13 };
      },
    ],
    [
      `${op} (opset 18, axes input)`,
      (rng) => {
        const s = dims(rng, 3);
        return { nodes: [node(op, ['x', 'ax'], ['y'], { keepdims: rng.int(2) })], inputs: [input(rng, s)], initializers: [ints('ax', pick(rng, [[1], [-1, 0], [2]]))], output: 'y', opset: 18 };
      },
    ],
    [`${op} (all axes, keepdims 0)`, (rng) => ({ nodes: [node(op, ['x'], ['y'], { keepdims: 0 })], inputs: [input(rng, dims(rng, 2))], output: 'y', opset: 13 })],
    [`${op} (opset 18, noop_with_empty_axes)`, (rng) => ({ nodes: [node(op, ['x'], ['y'], { noop_with_empty_axes: 1 })], inputs: [input(rng, dims(rng, 2))], output: 'y', opset: 18 })],
  ];
};

const cases: Case[] = [
  ...reductionCases('ReduceMax', 'normal', true),
  ...reductionCases('ReduceMin', 'normal', true),
  ...reductionCases('ReduceL1', 'awayFromZero'),
  ...reductionCases('ReduceL2'),
  ...reductionCases('ReduceLogSumExp'),
  ...reductionCases('ReduceProd', 'awayFromZero'),
  ...reductionCases('ReduceSumSquare'),
  [
    'ReduceProd with zeros (none, one, two per row)',
    (rng) => {
      const row = (zeros: number): number[] => {
        const v = Array.from({ length: 4 }, () => (0.5 + rng.next()) * (rng.next() < 0.5 ? -1 : 1));
        for (const p of distinctPositions(rng, zeros, 4)) v[p] = 0;
        return v;
      };
      return { nodes: [node('ReduceProd', ['x'], ['y'], { axes: [1], keepdims: 0 })], inputs: [x([3, 4], { values: [...row(0), ...row(1), ...row(2)] })], output: 'y', opset: 13 };
    },
  ],

  // GatherElements: OneHot before opset 16, ScatterElements 'add' from 16; duplicates and negative indices.
  ...[13, 18].map((opset): Case => [
    `GatherElements (opset ${opset})`,
    (rng) => {
      const s = dims(rng, 3, 3).map((d) => d + 1);
      const axis = rng.int(3);
      const is = s.map((d, i) => (i === axis ? 1 + rng.int(4) : d));
      return {
        nodes: [node('GatherElements', ['x', 'i'], ['y'], { axis: axis - (rng.next() < 0.5 ? 3 : 0) })],
        inputs: [x(s)],
        initializers: [ints('i', indexValues(rng, size(is), s[axis] as number), is)],
        output: 'y',
        opset,
      };
    },
  ]),
  ...[13, 18].map((opset): Case => [
    `GatherElements with indices smaller than the data (opset ${opset})`,
    (rng) => {
      const s = [3, 4];
      const is = [2, 2 + rng.int(3)];
      return { nodes: [node('GatherElements', ['x', 'i'], ['y'], { axis: 1 })], inputs: [x(s)], initializers: [ints('i', indexValues(rng, size(is), 4), is)], output: 'y', opset };
    },
  ]),

  // GatherND: batch_dims 0 and 1, index tuples of length 1 and 2, duplicates and negative indices.
  ...[13, 18].flatMap((opset) =>
    [0, 1].map((b): Case => [
      `GatherND (opset ${opset}, batch_dims ${b})`,
      (rng) => {
        const s = [2 + rng.int(2), 3, 2 + rng.int(2), 2];
        const m = 1 + rng.int(2);
        const tuples = 2 + rng.int(3);
        const is = [...s.slice(0, b), tuples, m];
        const values: number[] = [];
        for (let t = 0; t < size(is) / m; t++) for (let k = 0; k < m; k++) values.push(indexValues(rng, 1, s[b + k] as number)[0] as number);
        return { nodes: [node('GatherND', ['x', 'i'], ['y'], { batch_dims: b })], inputs: [x(s)], initializers: [ints('i', values, is)], output: 'y', opset };
      },
    ]),
  ),

  // ScatterND / ScatterElements: gradients of data and updates for 'none' and 'add'.
  ...([['none', 13], ['none', 18], ['add', 16], ['add', 18]] as const).map(([reduction, opset]): Case => [
    `ScatterND (reduction ${reduction}, opset ${opset})`,
    (rng) => {
      const s = [3 + rng.int(2), 3, 2];
      const m = 1 + rng.int(2);
      const count = 2 + rng.int(2);
      // 'none' needs distinct targets; 'add' accumulates duplicates.
      const targets = m === 1 ? 3 : 9;
      const flat = reduction === 'none' ? distinctPositions(rng, count, targets) : Array.from({ length: count }, () => rng.int(targets));
      const values = flat.flatMap((p) => (m === 1 ? [p] : [p % 3, Math.floor(p / 3)]));
      const us = [count, ...s.slice(m)];
      return {
        nodes: [node('ScatterND', ['x', 'i', 'u'], ['y'], reduction === 'none' && opset < 16 ? {} : { reduction })],
        inputs: [x(s), { name: 'u', shape: us }],
        initializers: [ints('i', values, [count, m])],
        output: 'y',
        opset,
      };
    },
  ]),
  ...([['none', 13], ['add', 16], ['add', 18]] as const).map(([reduction, opset]): Case => [
    `ScatterElements (reduction ${reduction}, opset ${opset})`,
    (rng) => {
      const s = [3, 4];
      const axis = rng.int(2);
      const us = axis === 0 ? [2, 4] : [3, 2];
      const values: number[] = [];
      // Along the axis: distinct positions per line for 'none', any for 'add'.
      const lines = us[1 - axis] as number;
      const per = us[axis] as number;
      const grid = Array.from({ length: lines }, () => (reduction === 'none' ? distinctPositions(rng, per, s[axis] as number) : indexValues(rng, per, s[axis] as number)));
      for (let r = 0; r < (us[0] as number); r++) for (let col = 0; col < (us[1] as number); col++) values.push(axis === 0 ? (grid[col]?.[r] as number) : (grid[r]?.[col] as number));
      return {
        nodes: [node('ScatterElements', ['x', 'i', 'u'], ['y'], { axis, ...(opset >= 16 ? { reduction } : {}) })],
        inputs: [x(s), { name: 'u', shape: us }],
        initializers: [ints('i', values, us)],
        output: 'y',
        opset,
      };
    },
  ]),
  [
    'Trilu (upper and lower, k input)',
    (rng) => {
      const upper = rng.int(2);
      const withK = rng.next() < 0.7;
      return {
        nodes: [node('Trilu', withK ? ['x', 'k'] : ['x'], ['y'], { upper })],
        inputs: [x([1 + rng.int(2), 2 + rng.int(3), 2 + rng.int(3)])],
        initializers: withK ? [ints('k', [rng.int(5) - 2], [])] : [],
        output: 'y',
        opset: 14,
      };
    },
  ],
  ...[11, 14].map((opset): Case => [
    `CumSum (exclusive, reverse, axis input; opset ${opset})`,
    (rng) => {
      const s = dims(rng, 3).map((d) => d + 1);
      return {
        nodes: [node('CumSum', ['x', 'ax'], ['y'], { exclusive: rng.int(2), reverse: rng.int(2) })],
        inputs: [x(s)],
        initializers: [ints('ax', [rng.int(6) - 3], [])],
        output: 'y',
        opset,
      };
    },
  ]),

  // Einsum: contractions, batch dims, ellipsis broadcasting, summed-out labels, three operands, implicit output.
  ...(
    [
      ['ij,jk->ik', [[3, 4], [4, 2]]],
      ['bij,bjk->bik', [[2, 3, 4], [2, 4, 2]]],
      ['bhqd,bhkd->bhqk', [[1, 2, 3, 4], [1, 2, 2, 4]]],
      ['...ij,...jk->...ik', [[2, 3, 2, 4], [1, 3, 4, 2]]],
      ['...ij,jk->...ik', [[2, 3, 4], [4, 2]]],
      ['i...j,j->i...', [[3, 2, 2, 4], [4]]],
      ['ij,k->i', [[3, 4], [2]]],
      ['ijk,ik->j', [[2, 3, 4], [2, 4]]],
      ['ij,jk,kl->il', [[2, 3], [3, 4], [4, 2]]],
      ['i,i->', [[5], [5]]],
      ['ij->ji', [[3, 4]]],
      ['ij->', [[3, 4]]],
      ['ij,jk', [[3, 4], [4, 2]]],
      ['bij,bjk->bik', [[1, 3, 4], [3, 4, 2]]],
      ['nchw,oc->nohw', [[2, 3, 2, 2], [4, 3]]],
    ] as const
  ).map(([equation, shapes]): Case => [
    `Einsum '${equation}'`,
    () => ({
      nodes: [node('Einsum', shapes.map((_, i) => `a${i}`), ['y'], { equation })],
      inputs: shapes.map((s, i) => ({ name: `a${i}`, shape: [...s] })),
      output: 'y',
      opset: 12,
    }),
  ]),
  [
    'Einsum with an operand used twice',
    () => ({ nodes: [node('Einsum', ['a', 'a', 'b'], ['y'], { equation: 'ij,ik,jk->i' })], inputs: [{ name: 'a', shape: [3, 4] }, { name: 'b', shape: [4, 4] }], output: 'y', opset: 13 }),
  ],
  [
    'Einsum with symbolic batch dims (broadcast decided at run time)',
    (rng) => {
      const n = 2 + rng.int(2);
      return {
        nodes: [node('Einsum', ['a', 'b'], ['y'], { equation: '...ij,...jk->...ik' })],
        inputs: [
          { name: 'a', shape: [1, 3, 4], declared: ['p', 3, 4] },
          { name: 'b', shape: [n, 4, 2], declared: ['q', 4, 2] },
        ],
        output: 'y',
        opset: 13,
      };
    },
  ],

  // MatMul: rank-3/4 broadcasting, 1-D operands, symbolic batch dims.
  ...(
    [
      ['[2,1,m,k] @ [3,k,n]', (m, k, n) => [[2, 1, m, k], [3, k, n]]],
      ['[m,k] @ [2,3,k,n]', (m, k, n) => [[m, k], [2, 3, k, n]]],
      ['[4,m,k] @ [1,k,n]', (m, k, n) => [[4, m, k], [1, k, n]]],
      ['[1,m,k] @ [4,k,n]', (m, k, n) => [[1, m, k], [4, k, n]]],
      ['[2,3,m,k] @ [2,1,k,n]', (m, k, n) => [[2, 3, m, k], [2, 1, k, n]]],
      ['[k] @ [2,3,k,n]', (_, k, n) => [[k], [2, 3, k, n]]],
      ['[2,3,m,k] @ [k]', (m, k) => [[2, 3, m, k], [k]]],
      ['[3,1,1,m,k] @ [2,1,k,n]', (m, k, n) => [[3, 1, 1, m, k], [2, 1, k, n]]],
    ] as [string, (m: number, k: number, n: number) => [number[], number[]]][]
  ).map(([label, shapes]): Case => [
    `MatMul ${label}`,
    (rng) => {
      const [a, b] = shapes(...(dims(rng, 3, 3).map((d) => d + 1) as [number, number, number]));
      return { nodes: [node('MatMul', ['a', 'b'], ['y'])], inputs: [{ name: 'a', shape: a }, { name: 'b', shape: b }], output: 'y' };
    },
  ]),
  [
    'MatMul with symbolic batch dims (same symbol)',
    (rng) => {
      const batch = 1 + rng.int(3);
      return {
        nodes: [node('MatMul', ['a', 'b'], ['y'])],
        inputs: [
          { name: 'a', shape: [batch, 2, 3, 4], declared: ['B', 2, 'S', 4] },
          { name: 'b', shape: [batch, 1, 4, 3], declared: ['B', 1, 4, 'S'] },
        ],
        output: 'y',
      };
    },
  ],
  [
    'MatMul with symbolic batch dims that broadcast at run time',
    (rng) => {
      const swap = rng.next() < 0.5;
      const [pa, pb] = swap ? [3, 1] : [1, 3];
      return {
        nodes: [node('MatMul', ['a', 'b'], ['y'])],
        inputs: [
          { name: 'a', shape: [2, pa, 2, 3], declared: ['n', 'p', 2, 3] },
          { name: 'b', shape: [pb, 3, 2], declared: ['q', 3, 2] },
        ],
        output: 'y',
      };
    },
  ],

  // Slice with any steps.
  ...(
    [
      ['step 2 to INT64_MAX', [0], [INT64_MAX], [1], [2]],
      ['reversed, -1 to INT64_MIN', [-1], [INT64_MIN], [1], [-1]],
      ['steps 3 and -2, ends beyond the bounds', [1, -1], [1000, -1000], [0, 1], [3, -2]],
      ['steps -1 and 2, negative start', [-2, 0], [0, INT64_MAX], [0, 2], [-1, 2]],
      ['step -2 from INT64_MAX with a unit-step axis', [INT64_MAX, 1], [-INT64_MAX, 3], [1, 0], [-2, 1]],
      ['three axes, unit step among them', [1, 0, 0], [-1, 100, 1], [0, 1, 2], [2, 3, 1]],
      ['empty (start past the end)', [7], [2], [0], [1]],
      ['empty with step 2', [7], [100], [0], [2]],
    ] as [string, number[], number[], number[], number[]][]
  ).map(([label, st, en, ax, steps]): Case => [
    `Slice: ${label}`,
    (rng) => ({
      nodes: [node('Slice', ['x', 'st', 'en', 'ax', 'sp'], ['y']), node('ReduceSum', ['y'], ['r'], { keepdims: 0 }), node('Add', ['r', 'y'], ['o'])],
      inputs: [x([4 + rng.int(3), 5 + rng.int(3), 2 + rng.int(2)])],
      initializers: [ints('st', st), ints('en', en), ints('ax', ax), ints('sp', steps)],
      output: 'o',
    }),
  ]),
  ...(
    [
      [[-1, 10], [INT64_MIN, INT64_MAX], [-2, 1]],
      [[10, -3], [-10, 0], [-1, -1]],
      [[1, -2], [INT64_MAX, -100], [3, 1]],
      [[-2, 0], [-100, INT64_MAX], [1, 2]],
      [[-100, -2], [100, -1], [1, 1]],
    ] as [number[], number[], number[]][]
  ).map(([st, en, steps]): Case => [
    `Slice on symbolic dims (starts clamped at run time): starts [${st.map((v) => (Math.abs(v) > 1e15 ? (v > 0 ? 'MAX' : 'MIN') : v)).join(', ')}], steps [${steps.join(', ')}]`,
    (rng) => ({
      nodes: [node('Slice', ['x', 'st', 'en', 'ax', 'sp'], ['y'])],
      inputs: [x([3 + rng.int(4), 2 + rng.int(4)], { declared: ['h', 'w'] })],
      initializers: [ints('st', st), ints('en', en), ints('ax', [0, 1]), ints('sp', steps)],
      output: 'y',
    }),
  ]),

  // Split: opset 18 num_outputs (uneven last chunk), split input; opset 13 equal parts; opset 11 attribute.
  [
    'Split (opset 18, num_outputs, uneven last chunk, an output unused)',
    (rng) => {
      const d = pick(rng, [7, 8, 10]);
      return {
        nodes: [node('Split', ['x'], ['p', 'q', 'r'], { axis: -1, num_outputs: 3 }), node('Mul', ['r', 'r'], ['r2']), node('ReduceSum', ['p'], ['ps'], { keepdims: 1 }), node('Add', ['r2', 'ps'], ['y'])],
        inputs: [x([2, d])],
        output: 'y',
        opset: 18,
      };
    },
  ],
  [
    'Split (opset 18, split input)',
    () => ({ nodes: [node('Split', ['x', 'sz'], ['p', 'q'], { axis: 0 }), node('Tanh', ['q'], ['y'])], inputs: [x([5, 2])], initializers: [ints('sz', [2, 3])], output: 'y', opset: 18 }),
  ],
  ['Split (opset 13, equal parts)', () => ({ nodes: [node('Split', ['x'], ['p', 'q'], { axis: 1 }), node('Mul', ['p', 'q'], ['y'])], inputs: [x([2, 6])], output: 'y', opset: 13 })],
  ['Split (opset 11, split attribute)', () => ({ nodes: [node('Split', ['x'], ['p', 'q'], { axis: 1, split: [1, 3] }), node('Mul', ['q', 'q'], ['y'])], inputs: [x([2, 4])], output: 'y', opset: 11 })],

  // TopK: values to the selected positions (no ties here).
  ...[11, 18].map((opset): Case => [
    `TopK (largest and smallest, opset ${opset})`,
    (rng) => {
      const s = [2 + rng.int(2), 3 + rng.int(3)];
      const axis = rng.int(2);
      return {
        nodes: [node('TopK', ['x', 'k'], ['v', 'i'], { axis, largest: rng.int(2), sorted: rng.int(2) }), node('Mul', ['v', 'v'], ['y'])],
        inputs: [x(s, { values: distinct(rng, size(s)) })],
        initializers: [ints('k', [1 + rng.int(s[axis] as number)])],
        output: 'y',
        opset,
      };
    },
  ]),

  [
    'Mod with fmod = 1 (dividend and divisor, broadcasting)',
    (rng) => {
      const a = dims(rng, 2, 3);
      const b = pick(rng, [a, [a[1] as number], [1, a[1] as number]]);
      // a/b kept away from integers (the discontinuities): |a| in [0.15, 0.85]·|b| + k|b|.
      const bv = Array.from({ length: size(b) }, () => (0.5 + rng.next()) * (rng.next() < 0.5 ? -1 : 1));
      const av = Array.from({ length: size(a) }, (_, i) => {
        const bi = bv[i % bv.length] as number;
        return (rng.int(3) + 0.15 + 0.7 * rng.next()) * Math.abs(bi) * (rng.next() < 0.5 ? -1 : 1);
      });
      return { nodes: [node('Mod', ['a', 'b'], ['y'], { fmod: 1 })], inputs: [{ name: 'a', shape: a, values: av }, { name: 'b', shape: b, values: bv }], output: 'y' };
    },
  ],
  ...(
    [
      [[2, 1, 3], [4, 1], []],
      [[3], [2, 1], [2, 3]],
      [[2, 3, 1], [1, 4], [3, 1]],
    ] as [number[], number[], number[]][]
  ).map(([cs, as, bs]): Case => [
    `Where: condition [${cs.join(', ')}], branches [${as.join(', ')}] and [${bs.join(', ')}]`,
    (rng) => ({
      nodes: [node('Where', ['c', 'a', 'b'], ['y'])],
      inputs: [{ name: 'c', shape: cs, type: 'bool', constant: true, values: Array.from({ length: size(cs) }, () => rng.int(2)) }, { name: 'a', shape: as }, { name: 'b', shape: bs }],
      output: 'y',
    }),
  ]),
  [
    'Where with symbolic dims',
    (rng) => {
      const n = 1 + rng.int(3);
      return {
        nodes: [node('Where', ['c', 'a', 'b'], ['y'])],
        inputs: [{ name: 'c', shape: [2, 3], type: 'bool', constant: true, values: [1, 0, 1, 0, 0, 1] }, { name: 'a', shape: [n, 1, 3], declared: ['n', 'p', 3] }, { name: 'b', shape: [1, 3], declared: ['q', 3] }],
        output: 'y',
      };
    },
  ],
  ...(
    [
      [[3, 1], [2, 3, 4]],
      [[2, 3, 1], [4]],
      [[1, 3, 1], [2, 1, 2]],
      [[2, 1], [1, 1]],
    ] as [number[], number[]][]
  ).map(([xs, target]): Case => [
    `Expand [${xs.join(', ')}] by [${target.join(', ')}]`,
    () => ({ nodes: [node('Expand', ['x', 's'], ['y'])], inputs: [x(xs)], initializers: [ints('s', target)], output: 'y' }),
  ]),
  [
    'Expand with symbolic dims',
    (rng) => ({ nodes: [node('Expand', ['x', 's'], ['y'])], inputs: [x([1 + rng.int(2), 1, 3], { declared: ['a', 'b', 3] })], initializers: [ints('s', [2, 1, 4, 1])], output: 'y' }),
  ],

  // Non-differentiable index producers on the side of the gradient path need no rule.
  [
    'ArgMax indices into GatherElements',
    (rng) => ({
      nodes: [node('ArgMax', ['x'], ['i'], { axis: 1, keepdims: 1 }), node('GatherElements', ['x', 'i'], ['g'], { axis: 1 }), node('Mul', ['g', 'x'], ['y'])],
      inputs: [x([3, 4], { values: distinct(rng, 12) })],
      output: 'y',
    }),
  ],
  [
    'NonZero positions into GatherND',
    () => ({
      nodes: [node('Greater', ['x', 'zero'], ['pos']), node('NonZero', ['pos'], ['nz']), node('Transpose', ['nz'], ['t'], { perm: [1, 0] }), node('GatherND', ['x', 't'], ['y'])],
      inputs: [x([3, 4], { draw: 'awayFromZero' })],
      initializers: [floats('zero', [], [0])],
      output: 'y',
    }),
  ],
  [
    'Range over a shape, cast and multiplied',
    () => ({
      nodes: [
        node('Shape', ['x'], ['s']),
        node('Gather', ['s', 'one'], ['n'], { axis: 0 }),
        node('Range', ['zero', 'n', 'step'], ['r']),
        node('Cast', ['r'], ['rf'], { to: DataType.DOUBLE }),
        node('Mul', ['x', 'rf'], ['y']),
      ],
      inputs: [x([2, 3], { declared: ['a', 'b'] })],
      initializers: [ints('one', [1], []), ints('zero', [0], []), ints('step', [1], [])],
      output: 'y',
    }),
  ],
];

describeCases('backward rules of reductions, indexing and tensor algebra against central finite differences', cases, 1000);

/** Runs the built backward graph of a one-input float32 model and returns d(Σ y ⊙ w)/dx. */
async function gradient(m: TestModel, values: number[], weights: number[]): Promise<number[]> {
  const bytes = encodeModel(buildModel(m, DataType.FLOAT));
  const input = m.inputs[0] as TestInput;
  const built = transformModel(bytes, { wrt: [input.name] });
  const session = await ort.InferenceSession.create(built.bytes);
  try {
    const forward = await ort.InferenceSession.create(transformModel(bytes).bytes);
    const feeds = { [input.name]: new ort.Tensor('float32', Float32Array.from(values), input.shape) };
    const y = (await forward.run(feeds))[built.output] as ort.Tensor;
    await forward.release();
    const out = await session.run({ ...feeds, [built.weights as string]: new ort.Tensor('float32', Float32Array.from(weights), y.dims) });
    return Array.from((out[built.gradients[0] as string] as ort.Tensor).data as Float32Array);
  } finally {
    await session.release();
  }
}

describe('exact gradients where finite differences cannot decide', () => {
  it('ReduceMax shares the gradient evenly among tied maxima (PyTorch amax)', async () => {
    const m: TestModel = { nodes: [node('ReduceMax', ['x'], ['y'], { axes: [1], keepdims: 0 })], inputs: [x([3, 3])], output: 'y', opset: 13 };
    const g = await gradient(m, [1, 3, 3, 2, 2, 2, 5, -1, 4], [2, 3, 4]);
    expect(g).toEqual([0, 1, 1, 1, 1, 1, 4, 0, 0]);
  });

  it('ReduceMin over several axes shares the gradient among ties (opset 18)', async () => {
    const m: TestModel = { nodes: [node('ReduceMin', ['x', 'ax'], ['y'], { keepdims: 1 })], inputs: [x([2, 2, 2])], initializers: [ints('ax', [0, 2])], output: 'y', opset: 18 };
    // Column 0: {1, 4, 1, 2} → two ties at 1; column 1: {3, 0, 5, 6} → one minimum.
    const g = await gradient(m, [1, 4, 3, 0, 1, 2, 5, 6], [4, 10]);
    expect(g).toEqual([2, 0, 0, 10, 2, 0, 0, 0]);
  });

  it('ReduceProd: the product of the others at a single zero, zeros where two are zero', async () => {
    const m: TestModel = { nodes: [node('ReduceProd', ['x'], ['y'], { axes: [1], keepdims: 0 })], inputs: [x([3, 3])], output: 'y', opset: 13 };
    const g = await gradient(m, [2, 3, 4, 2, 0, 5, 0, 3, 0], [1, 1, 1]);
    expect(g).toEqual([12, 8, 6, 0, 10, 0, 0, 0, 0]);
  });

  it('ReduceL2 of an all-zero slice has a zero gradient, not NaN', async () => {
    const m: TestModel = { nodes: [node('ReduceL2', ['x'], ['y'], { axes: [1], keepdims: 1 })], inputs: [x([2, 2])], output: 'y', opset: 13 };
    const g = await gradient(m, [3, 4, 0, 0], [5, 7]);
    expect(g.map((v) => Math.round(v * 1e6) / 1e6)).toEqual([3, 4, 0, 0]);
  });

  it('TopK sends the gradient where its indices point when values tie (the lower index)', async () => {
    const m: TestModel = { nodes: [node('TopK', ['x', 'k'], ['v', 'i'], { axis: -1 })], inputs: [x([1, 5])], initializers: [ints('k', [2])], output: 'v', opset: 11 };
    const g = await gradient(m, [3, 1, 3, 2, 3], [10, 20]);
    expect(g).toEqual([10, 0, 20, 0, 0]);
  });
});

describe('operator variants without gradients are refused clearly', () => {
  const refused = (m: TestModel): (() => unknown) => () => transformModel(encodeModel(buildModel(m, DataType.FLOAT)), { wrt: m.inputs.filter((i) => !i.constant && (i.type ?? 'float') === 'float').map((i) => i.name) });

  it.each(['mul', 'max', 'min'])('ScatterND with reduction %s', (reduction) => {
    const m: TestModel = { nodes: [node('ScatterND', ['x', 'i', 'u'], ['y'], { reduction })], inputs: [x([3, 2]), { name: 'u', shape: [1, 2] }], initializers: [ints('i', [1], [1, 1])], output: 'y', opset: 18 };
    expect(refused(m)).toThrow(UnsupportedOperatorError);
    expect(refused(m)).toThrow(new RegExp(`ScatterND.*reduction '${reduction}'`));
  });

  it('ScatterElements with reduction mul', () => {
    const m: TestModel = { nodes: [node('ScatterElements', ['x', 'i', 'u'], ['y'], { reduction: 'mul' })], inputs: [x([3, 2]), { name: 'u', shape: [1, 2] }], initializers: [ints('i', [1, 0], [1, 2])], output: 'y', opset: 18 };
    expect(refused(m)).toThrow(/ScatterElements.*reduction 'mul'/);
  });

  it('Einsum taking a diagonal of the differentiated operand', () => {
    const m: TestModel = { nodes: [node('Einsum', ['x'], ['y'], { equation: 'ii->i' })], inputs: [x([3, 3])], output: 'y', opset: 12 };
    expect(refused(m)).toThrow(/Einsum.*diagonal/);
  });

  it('Einsum with an implicit output mixing upper- and lower-case labels', () => {
    const m: TestModel = { nodes: [node('Einsum', ['x', 'w'], ['y'], { equation: 'ij,jK' })], inputs: [x([2, 3]), { name: 'w', shape: [3, 2] }], output: 'y', opset: 12 };
    expect(refused(m)).toThrow(/Einsum.*upper- and lower-case/);
  });

  it('Slice with steps computed at run time', () => {
    const m: TestModel = {
      nodes: [node('Slice', ['x', 'st', 'en', 'ax', 'sp'], ['y'])],
      inputs: [x([4]), { name: 'sp', shape: [1], type: 'int64' }],
      initializers: [ints('st', [0]), ints('en', [4]), ints('ax', [0])],
      output: 'y',
    };
    expect(refused(m)).toThrow(/Slice.*steps computed at run time/);
  });
});

describe('shape inference of these operators', () => {
  const infer = (m: TestModel): Graph => {
    const graph = new Graph(encodeModel(buildModel(m, DataType.FLOAT)));
    inferShapes(graph);
    return graph;
  };
  const shapeOf = (g: Graph, name: string): unknown => g.info(name).shape;

  it('Split: num_outputs with an uneven last chunk (opset 18), equal parts, sizes', () => {
    const g18 = infer({ nodes: [node('Split', ['x'], ['p', 'q', 'r'], { axis: 1, num_outputs: 3 })], inputs: [x([2, 7])], output: 'r', opset: 18 });
    expect([shapeOf(g18, 'p'), shapeOf(g18, 'q'), shapeOf(g18, 'r')]).toEqual([[2, 3], [2, 3], [2, 1]]);
    const g13 = infer({ nodes: [node('Split', ['x'], ['p', 'q'], { axis: 0 })], inputs: [x([6])], output: 'q', opset: 13 });
    expect([shapeOf(g13, 'p'), shapeOf(g13, 'q')]).toEqual([[3], [3]]);
    const sized = infer({ nodes: [node('Split', ['x', 's'], ['p', 'q'], { axis: 0 })], inputs: [x([5])], initializers: [ints('s', [1, 4])], output: 'q', opset: 18 });
    expect([shapeOf(sized, 'p'), shapeOf(sized, 'q')]).toEqual([[1], [4]]);
  });

  it('GatherND (batch_dims), TopK, NonZero', () => {
    const g = infer({
      nodes: [node('GatherND', ['x', 'i'], ['y'], { batch_dims: 1 }), node('TopK', ['x', 'k'], ['v', 'vi'], { axis: -1 }), node('NonZero', ['x'], ['nz'])],
      inputs: [x([2, 3, 4, 5])],
      initializers: [ints('i', new Array<number>(24).fill(0), [2, 6, 2]), ints('k', [2])],
      output: 'y',
      opset: 13,
    });
    expect(shapeOf(g, 'y')).toEqual([2, 6, 5]);
    expect(shapeOf(g, 'v')).toEqual([2, 3, 4, 2]);
    expect(g.info('vi')).toMatchObject({ elemType: DataType.INT64, shape: [2, 3, 4, 2] });
    expect(g.info('nz').elemType).toBe(DataType.INT64);
    expect((shapeOf(g, 'nz') as unknown[])[0]).toBe(4);
  });

  it('Einsum: explicit with ellipsis broadcasting, implicit output, labels of size 1', () => {
    const g = infer({
      nodes: [
        node('Einsum', ['a', 'b'], ['e1'], { equation: '...ij,...jk->...ik' }),
        node('Einsum', ['c', 'd'], ['e2'], { equation: 'ij,jk' }),
        node('Einsum', ['u', 'v'], ['e3'], { equation: 'bij,bjk->bki' }),
      ],
      inputs: [
        { name: 'a', shape: [2, 1, 3, 4] },
        { name: 'b', shape: [1, 5, 4, 6] },
        { name: 'c', shape: [3, 4] },
        { name: 'd', shape: [4, 2] },
        { name: 'u', shape: [1, 3, 4] },
        { name: 'v', shape: [7, 4, 2] },
      ],
      output: 'e1',
      opset: 12,
    });
    expect(shapeOf(g, 'e1')).toEqual([2, 5, 3, 6]);
    expect(shapeOf(g, 'e2')).toEqual([3, 2]);
    expect(shapeOf(g, 'e3')).toEqual([7, 2, 3]);
  });

  it('ReduceL1 and ReduceLogSumExp (axes input from opset 18); ScatterND, ScatterElements, Trilu, CumSum keep the data shape', () => {
    const g = infer({
      nodes: [
        node('ReduceL1', ['x', 'ax'], ['l1'], { keepdims: 0 }),
        node('ReduceLogSumExp', ['x', 'ax'], ['lse'], { keepdims: 1 }),
        node('ScatterND', ['x', 'i', 'u'], ['snd']),
        node('ScatterElements', ['x', 'j', 'w'], ['se'], { axis: 1 }),
        node('Trilu', ['x'], ['tr']),
        node('CumSum', ['x', 'ca'], ['cs']),
      ],
      inputs: [x([2, 3, 4]), { name: 'u', shape: [1, 3, 4] }, { name: 'w', shape: [2, 1, 4] }],
      initializers: [ints('ax', [1]), ints('i', [0], [1, 1]), ints('j', new Array<number>(8).fill(0), [2, 1, 4]), ints('ca', [0], [])],
      output: 'l1',
      opset: 18,
    });
    expect(shapeOf(g, 'l1')).toEqual([2, 4]);
    expect(shapeOf(g, 'lse')).toEqual([2, 1, 4]);
    for (const name of ['snd', 'se', 'tr', 'cs']) expect(shapeOf(g, name)).toEqual([2, 3, 4]);
  });
});
