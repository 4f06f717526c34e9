import type { Random } from '@attribution/tensor';
import { floats, ints, node, describeCases, type TestInput, type Case } from './op-model.js';

// Every operator with a backward rule, checked against central finite differences on random shapes and
// attributes (seeded). Each case builds a tiny ONNX model, so the rules are exercised exactly as they are
// for real models.

const pick = <T>(rng: Random, list: readonly T[]): T => list[rng.int(list.length)] as T;
const dims = (rng: Random, rank: number, max = 4): number[] => Array.from({ length: rank }, () => 1 + rng.int(max));
const x = (shape: number[], extra: Partial<TestInput> = {}): TestInput => ({ name: 'x', shape, ...extra });

/** A broadcast partner of `shape`: some dims set to 1, maybe fewer leading dims. */
function broadcastPartner(rng: Random, shape: number[]): number[] {
  const drop = rng.int(shape.length);
  return shape.slice(drop).map((d) => (rng.next() < 0.4 ? 1 : d));
}


const unary = (op: string, draw: TestInput['draw'] = 'normal', attrs = {}): Case => [
  op,
  (rng) => ({ nodes: [node(op, ['x'], ['y'], attrs)], inputs: [x(dims(rng, 1 + rng.int(3)), { draw })], output: 'y' }),
];

const binary = (op: string, drawB: TestInput['draw'] = 'normal', drawA: TestInput['draw'] = 'normal'): Case => [
  op,
  (rng) => {
    const a = dims(rng, 1 + rng.int(4));
    const b = broadcastPartner(rng, a);
    const [sa, sb] = rng.next() < 0.5 ? [a, b] : [b, a];
    return { nodes: [node(op, ['a', 'b'], ['y'])], inputs: [{ name: 'a', shape: sa, draw: drawA }, { name: 'b', shape: sb, draw: drawB }], output: 'y' };
  },
];

const cases: Case[] = [
  binary('Add'),
  binary('Sub'),
  binary('Mul'),
  binary('Div', 'awayFromZero'),
  binary('Pow', 'unit', 'positive'),
  [
    'Pow with constant exponent 2',
    (rng) => ({ nodes: [node('Pow', ['x', 'two'], ['y'])], inputs: [x(dims(rng, 2))], initializers: [floats('two', [], [2])], output: 'y' }),
  ],
  [
    'Add with symbolic broadcast dims (decided at run time)',
    (rng) => {
      const n = 2 + rng.int(3);
      return {
        nodes: [node('Add', ['a', 'b'], ['y'])],
        inputs: [
          { name: 'a', shape: [n, 1], declared: ['n', 'p'] },
          { name: 'b', shape: [n, 3], declared: ['n', 'q'] },
        ],
        output: 'y',
      };
    },
  ],
  unary('Neg'),
  unary('Sqrt', 'positive'),
  unary('Exp'),
  unary('Log', 'positive'),
  unary('Erf'),
  unary('Relu', 'awayFromZero'),
  ['LeakyRelu', (rng) => ({ nodes: [node('LeakyRelu', ['x'], ['y'], { alpha: { f: 0.05 + 0.3 * rng.next() } })], inputs: [x(dims(rng, 2), { draw: 'awayFromZero' })], output: 'y' })],
  unary('Tanh'),
  unary('Sigmoid'),
  unary('Identity'),
  ['Softmax', (rng) => { const s = dims(rng, 1 + rng.int(3)); return { nodes: [node('Softmax', ['x'], ['y'], { axis: rng.int(s.length) - (rng.next() < 0.5 ? s.length : 0) })], inputs: [x(s)], output: 'y' }; }],
  ['Softmax (opset 11, flattening semantics)', (rng) => ({ nodes: [node('Softmax', ['x'], ['y'], { axis: 1 })], inputs: [x(dims(rng, 3))], output: 'y', opset: 11 })],
  ['LogSoftmax', (rng) => { const s = dims(rng, 2); return { nodes: [node('LogSoftmax', ['x'], ['y'], { axis: rng.int(2) })], inputs: [x(s)], output: 'y' }; }],
  ['LogSoftmax (opset 12)', (rng) => ({ nodes: [node('LogSoftmax', ['x'], ['y'])], inputs: [x(dims(rng, 3))], output: 'y', opset: 12 })],
  ['Clip with both bounds', (rng) => ({ nodes: [node('Clip', ['x', 'lo', 'hi'], ['y'])], inputs: [x(dims(rng, 2), { values: [-2, -0.55, -0.1, 0.3, 0.9, 1.6].slice(0, 6) , shape: [2, 3] } as never)], initializers: [floats('lo', [], [-0.5]), floats('hi', [], [1.0])], output: 'y' })],
  ['Clip with a bound computed at run time', () => ({ nodes: [node('Add', ['h1', 'h2'], ['hi']), node('Clip', ['x', 'lo', 'hi'], ['y'])], inputs: [x([2, 3], { values: [-2, -0.55, -0.1, 0.3, 0.9, 1.6], shape: [2, 3] } as never)], initializers: [floats('lo', [], [-0.5]), floats('h1', [], [0.4]), floats('h2', [], [0.6])], output: 'y' })],
  ['Clip (ReLU6, min only)', (rng) => ({ nodes: [node('Clip', ['x', 'lo'], ['y'])], inputs: [x(dims(rng, 2), { draw: 'awayFromZero' })], initializers: [floats('lo', [], [0])], output: 'y', opset: 11 })],
  [
    'Gemm',
    (rng) => {
      const [m, k, n] = dims(rng, 3, 4);
      const transA = rng.int(2);
      const transB = rng.int(2);
      const cShape = pick(rng, [[n as number], [m as number, n as number], [1, n as number], []]);
      return {
        nodes: [node('Gemm', ['a', 'b', 'c'], ['y'], { transA, transB, alpha: { f: 0.5 + rng.next() }, beta: { f: 0.5 + rng.next() } })],
        inputs: [
          { name: 'a', shape: transA ? [k as number, m as number] : [m as number, k as number] },
          { name: 'b', shape: transB ? [n as number, k as number] : [k as number, n as number] },
          { name: 'c', shape: cShape as number[] },
        ],
        output: 'y',
      };
    },
  ],
  [
    'MatMul',
    (rng) => {
      const [m, k, n] = dims(rng, 3, 4) as [number, number, number];
      const shapes: [number[], number[]][] = [
        [[m, k], [k, n]],
        [[2, m, k], [2, k, n]],
        [[3, m, k], [k, n]],
        [[k], [k, n]],
        [[m, k], [k]],
        [[2, 1, m, k], [1, 3, k, n]],
        [[k], [k]],
      ];
      const [a, b] = pick(rng, shapes);
      return { nodes: [node('MatMul', ['a', 'b'], ['y'])], inputs: [{ name: 'a', shape: a }, { name: 'b', shape: b }], output: 'y' };
    },
  ],
  [
    'Conv (groups, strides, pads, dilations)',
    (rng) => {
      const group = pick(rng, [1, 2, 3]);
      const depthwise = rng.next() < 0.3;
      const cin = depthwise ? group : group * (1 + rng.int(2));
      const cout = depthwise ? group : group * (1 + rng.int(2));
      const kernel = [1 + rng.int(3), 1 + rng.int(3)];
      const dil = [1 + rng.int(2), 1 + rng.int(2)];
      const strides = [1 + rng.int(2), 1 + rng.int(2)];
      const pads = [rng.int(2), rng.int(2), rng.int(2), rng.int(2)];
      const h = (kernel[0] as number) * (dil[0] as number) + 1 + rng.int(4);
      const w = (kernel[1] as number) * (dil[1] as number) + 1 + rng.int(4);
      const weight = Array.from({ length: cout * (cin / group) * (kernel[0] as number) * (kernel[1] as number) }, () => rng.normal());
      return {
        nodes: [node('Conv', ['x', 'w', 'bias'], ['y'], { group, kernel_shape: kernel, dilations: dil, strides, pads })],
        inputs: [x([1 + rng.int(2), cin, h, w])],
        initializers: [floats('w', [cout, cin / group, ...kernel], weight), floats('bias', [cout], Array.from({ length: cout }, () => rng.normal()))],
        output: 'y',
      };
    },
  ],
  [
    'Conv with unit strides (flipped-kernel convolution): depthwise, grouped, dilated',
    (rng) => {
      const variant = rng.int(3);
      const [cin, cout, group] = variant === 0 ? [3, 3, 3] : variant === 1 ? [4, 6, 2] : [2, 3, 1];
      const dil = variant === 2 ? [2, 1] : [1, 1];
      const kernel = [3, 2 + rng.int(2)];
      const weight = Array.from({ length: cout * (cin / group) * (kernel[0] as number) * (kernel[1] as number) }, () => rng.normal());
      return {
        nodes: [node('Conv', ['x', 'w'], ['y'], { group, kernel_shape: kernel, dilations: dil, pads: [1, rng.int(2), 2, 0] })],
        inputs: [x([2, cin, 7, 6])],
        initializers: [floats('w', [cout, cin / group, ...kernel], weight)],
        output: 'y',
      };
    },
  ],
  [
    'Conv with auto_pad SAME_UPPER',
    (rng) => ({
      nodes: [node('Conv', ['x', 'w'], ['y'], { auto_pad: 'SAME_UPPER', strides: [2, 2] })],
      inputs: [x([1, 2, 5, 6])],
      initializers: [floats('w', [3, 2, 3, 3], Array.from({ length: 54 }, () => rng.normal()))],
      output: 'y',
    }),
  ],
  [
    'MaxPool (non-overlapping)',
    (rng) => {
      const k = 2 + rng.int(2);
      return { nodes: [node('MaxPool', ['x'], ['y'], { kernel_shape: [k, k], strides: [k, k], pads: [0, 0, rng.int(2), rng.int(2)] })], inputs: [x([1 + rng.int(2), 1 + rng.int(3), 2 * k + rng.int(3), 2 * k + rng.int(3)])], output: 'y' };
    },
  ],
  [
    'MaxPool (overlapping windows, opset 16)',
    (rng) => ({ nodes: [node('MaxPool', ['x'], ['y'], { kernel_shape: [3, 3], strides: [1, 2], pads: [1, 1, 1, 1] })], inputs: [x([1, 2, 4 + rng.int(3), 5])], output: 'y', opset: 16 }),
  ],
  [
    'AveragePool',
    (rng) => {
      const include = rng.int(2);
      const k = 2 + rng.int(2);
      return {
        nodes: [node('AveragePool', ['x'], ['y'], { kernel_shape: [k, 2], strides: [1 + rng.int(2), 2], pads: [rng.int(2), 0, rng.int(2), 1], count_include_pad: include, ceil_mode: rng.int(2) })],
        inputs: [x([1 + rng.int(2), 1 + rng.int(2), k + 2 + rng.int(3), 5])],
        output: 'y',
      };
    },
  ],
  ['GlobalAveragePool', (rng) => ({ nodes: [node('GlobalAveragePool', ['x'], ['y'])], inputs: [x([1 + rng.int(2), 1 + rng.int(3), 1 + rng.int(4), 1 + rng.int(4)])], output: 'y' })],
  [
    'BatchNormalization (inference)',
    (rng) => {
      const c = 1 + rng.int(3);
      const vec = (f: () => number): number[] => Array.from({ length: c }, f);
      return {
        nodes: [node('BatchNormalization', ['x', 's', 'b', 'm', 'v'], ['y'], { epsilon: { f: 1e-3 } })],
        inputs: [x([2, c, 1 + rng.int(3), 2])],
        initializers: [floats('s', [c], vec(() => rng.normal())), floats('b', [c], vec(() => rng.normal())), floats('m', [c], vec(() => rng.normal())), floats('v', [c], vec(() => 0.5 + rng.next()))],
        output: 'y',
      };
    },
  ],
  [
    'BatchNormalization (inference) with scale and bias differentiated (parameters as inputs), rank 2 to 4',
    (rng) => {
      const c = 1 + rng.int(3);
      const vec = (f: () => number): number[] => Array.from({ length: c }, f);
      const rank = 2 + rng.int(3);
      return {
        nodes: [node('BatchNormalization', ['x', 's', 'b', 'm', 'v'], ['y'], { epsilon: { f: 1e-3 } })],
        inputs: [x([2, c, ...Array.from({ length: rank - 2 }, () => 1 + rng.int(3))]), { name: 's', shape: [c] }, { name: 'b', shape: [c] }],
        initializers: [floats('m', [c], vec(() => rng.normal())), floats('v', [c], vec(() => 0.5 + rng.next()))],
        output: 'y',
      };
    },
  ],
  ['Flatten', (rng) => { const s = dims(rng, 3); return { nodes: [node('Flatten', ['x'], ['y'], { axis: rng.int(4) })], inputs: [x(s)], output: 'y' }; }],
  ['Reshape', (rng) => { const [a, b, c] = dims(rng, 3) as [number, number, number]; return { nodes: [node('Reshape', ['x', 's'], ['y'])], inputs: [x([a, b, c])], initializers: [ints('s', [0, -1])], output: 'y' }; }],
  ['Transpose', (rng) => { const s = dims(rng, 3); const perm = pick(rng, [[2, 0, 1], [1, 2, 0], [0, 2, 1]]); return { nodes: [node('Transpose', ['x'], ['y'], { perm })], inputs: [x(s)], output: 'y' }; }],
  ['Transpose (default perm)', (rng) => ({ nodes: [node('Transpose', ['x'], ['y'])], inputs: [x(dims(rng, 3))], output: 'y' })],
  [
    'Concat',
    (rng) => {
      const s = dims(rng, 3);
      const axis = rng.int(3);
      const other = [...s];
      other[axis] = 1 + rng.int(3);
      return { nodes: [node('Concat', ['a', 'b', 'a'], ['y'], { axis: axis - (rng.next() < 0.5 ? 3 : 0) })], inputs: [{ name: 'a', shape: s }, { name: 'b', shape: other }], output: 'y' };
    },
  ],
  [
    'Split (opset 13, two outputs used)',
    (rng) => ({
      nodes: [node('Split', ['x', 'sizes'], ['p', 'q', 'r'], { axis: 1 }), node('Mul', ['p', 'r'], ['y'])],
      inputs: [x([1 + rng.int(2), 5, 2])],
      initializers: [ints('sizes', [2, 1, 2])],
      output: 'y',
    }),
  ],
  ['Split (opset 11, equal parts)', (rng) => ({ nodes: [node('Split', ['x'], ['p', 'q'], { axis: 0 }), node('Sub', ['q', 'p'], ['y'])], inputs: [x([4, 1 + rng.int(3)])], output: 'y', opset: 11 })],
  [
    'Slice',
    (rng) => {
      const s = [3 + rng.int(3), 4 + rng.int(3)];
      return { nodes: [node('Slice', ['x', 'st', 'en', 'ax'], ['y'])], inputs: [x(s)], initializers: [ints('st', [1, -3]), ints('en', [s[0] as number, 1000]), ints('ax', [0, 1])], output: 'y' };
    },
  ],
  [
    'Gather (duplicates, negative indices)',
    (rng) => {
      const s = dims(rng, 3, 4).map((d) => d + 1);
      const axis = rng.int(3);
      const size = s[axis] as number;
      return { nodes: [node('Gather', ['x', 'i'], ['y'], { axis })], inputs: [x(s)], initializers: [ints('i', [0, size - 1, -1, 0], [2, 2])], output: 'y' };
    },
  ],
  ['Gather (scalar index)', (rng) => ({ nodes: [node('Gather', ['x', 'i'], ['y'], { axis: 1 })], inputs: [x([2, 3 + rng.int(2), 2])], initializers: [ints('i', [1], [])], output: 'y' })],
  ['ReduceSum (axes input)', (rng) => ({ nodes: [node('ReduceSum', ['x', 'ax'], ['y'], { keepdims: rng.int(2) })], inputs: [x(dims(rng, 3))], initializers: [ints('ax', [pick(rng, [0, 1, -1])])], output: 'y' })],
  ['ReduceSum (opset 11, attribute)', (rng) => ({ nodes: [node('ReduceSum', ['x'], ['y'], { axes: [1], keepdims: rng.int(2) })], inputs: [x(dims(rng, 3))], output: 'y', opset: 11 })],
  ['ReduceSum (all axes)', (rng) => ({ nodes: [node('ReduceSum', ['x'], ['y'], { keepdims: 0 })], inputs: [x(dims(rng, 2))], output: 'y' })],
  ['ReduceMean', (rng) => ({ nodes: [node('ReduceMean', ['x'], ['y'], { axes: [-1, 0], keepdims: rng.int(2) })], inputs: [x(dims(rng, 3))], output: 'y' })],
  ['ReduceMean (opset 18, axes input)', (rng) => ({ nodes: [node('ReduceMean', ['x', 'ax'], ['y'])], inputs: [x(dims(rng, 3))], initializers: [ints('ax', [1])], output: 'y', opset: 18 })],
  ['Squeeze', (rng) => ({ nodes: [node('Squeeze', ['x', 'ax'], ['y'])], inputs: [x([2, 1, 1 + rng.int(3), 1])], initializers: [ints('ax', [1, -1])], output: 'y' })],
  ['Squeeze (opset 11)', (rng) => ({ nodes: [node('Squeeze', ['x'], ['y'], { axes: [1] })], inputs: [x([2, 1, 1 + rng.int(3)])], output: 'y', opset: 11 })],
  ['Unsqueeze', (rng) => ({ nodes: [node('Unsqueeze', ['x', 'ax'], ['y'])], inputs: [x(dims(rng, 2))], initializers: [ints('ax', [0, -1])], output: 'y' })],
  ['Unsqueeze (opset 11)', (rng) => ({ nodes: [node('Unsqueeze', ['x'], ['y'], { axes: [1] })], inputs: [x(dims(rng, 2))], output: 'y', opset: 11 })],
  ['Expand', (rng) => ({ nodes: [node('Expand', ['x', 's'], ['y'])], inputs: [x([3, 1])], initializers: [ints('s', [2, 3, 2 + rng.int(2)])], output: 'y' })],
  [
    'Where',
    (rng) => {
      const s = dims(rng, 2);
      const n = s.reduce((a, b) => a * b, 1);
      return { nodes: [node('Where', ['c', 'a', 'b'], ['y'])], inputs: [{ name: 'c', shape: s, type: 'bool', constant: true, values: Array.from({ length: n }, () => rng.int(2)) }, { name: 'a', shape: s }, { name: 'b', shape: [s[1] as number] }], output: 'y' };
    },
  ],
  [
    'Cast (to float32 and back)',
    (rng) => ({
      nodes: [node('Cast', ['x'], ['h'], { to: 1 }), node('Tanh', ['h'], ['t']), node('Cast', ['t'], ['y'], { to: 11 })],
      inputs: [x(dims(rng, 2))],
      output: 'y',
      fd: { step: 1e-2, atol: 2e-3, rtol: 2e-2 },
    }),
  ],
  ['Dropout (inference)', (rng) => ({ nodes: [node('Dropout', ['x'], ['y'])], inputs: [x(dims(rng, 2))], output: 'y' })],
  [
    'Reshape to a shape computed with Shape, Gather, Unsqueeze and Concat',
    (rng) => ({
      nodes: [
        node('Shape', ['x'], ['s']),
        node('Gather', ['s', 'zero'], ['n'], { axis: 0 }),
        node('Unsqueeze', ['n', 'ax0'], ['n1']),
        node('Concat', ['n1', 'minus1'], ['target'], { axis: 0 }),
        node('Reshape', ['x', 'target'], ['r']),
        node('Sigmoid', ['r'], ['y']),
      ],
      inputs: [x([2, 1 + rng.int(3), 3], { declared: ['batch', 'seq', 3] })],
      initializers: [ints('zero', [0], []), ints('ax0', [0]), ints('minus1', [-1])],
      output: 'y',
    }),
  ],
  [
    'LayerNorm built from ReduceMean, Sub, Pow, Sqrt, Div',
    (rng) => ({
      nodes: [
        node('ReduceMean', ['x'], ['mu'], { axes: [-1] }),
        node('Sub', ['x', 'mu'], ['d']),
        node('Pow', ['d', 'two'], ['d2']),
        node('ReduceMean', ['d2'], ['var'], { axes: [-1] }),
        node('Add', ['var', 'eps'], ['ve']),
        node('Sqrt', ['ve'], ['sd']),
        node('Div', ['d', 'sd'], ['y']),
      ],
      inputs: [x([2, 2 + rng.int(3), 4], { declared: ['batch', 'seq', 4] })],
      initializers: [floats('two', [], [2]), floats('eps', [], [1e-5])],
      output: 'y',
    }),
  ],
];

describeCases('backward rules against central finite differences', cases, 1000);
