import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { Graph, UnsupportedOperatorError, foldConstants, inferShapes, transformModel, unsupportedOperators } from '../src/index.js';
import { DataType, encodeModel, makeNode, makeTensor, makeValueInfo, onnx, tensorValues, type GraphProto, type NodeProto, type TensorProto } from '../src/proto.js';
import { checkGradient, floats, ints, node, type TestModel } from './op-model.js';

// The graph passes the builder runs before differentiating: topological order, subgraph-aware pruning,
// constant folding of shape arithmetic, If inlining, straight-through quantization, and one refusal that
// names every unsupported operator.

function modelBytes(nodes: NodeProto[], inputs: ReturnType<typeof makeValueInfo>[], outputs: string[], initializers: TensorProto[] = [], opset = 13): Uint8Array {
  const m = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: opset }],
    graph: { name: 'g', node: nodes, initializer: initializers, input: inputs, output: outputs.map((o) => makeValueInfo(o, DataType.FLOAT)) },
  });
  return encodeModel(m as never);
}

const branch = (name: string, nodes: NodeProto[], output: string): GraphProto =>
  onnx.GraphProto.create({ name, node: nodes, output: [makeValueInfo(output, DataType.FLOAT)] }) as unknown as GraphProto;

const ifNode = (cond: string, then: GraphProto, otherwise: GraphProto, out: string): NodeProto => {
  const n = makeNode('If', [cond], [out]);
  n.attribute.push(
    onnx.AttributeProto.create({ name: 'then_branch', type: onnx.AttributeProto.AttributeType.GRAPH, g: then as never }) as never,
    onnx.AttributeProto.create({ name: 'else_branch', type: onnx.AttributeProto.AttributeType.GRAPH, g: otherwise as never }) as never,
  );
  return n;
};

async function run(bytes: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    return (await session.run(feeds)) as Record<string, ort.Tensor>;
  } finally {
    await session.release();
  }
}

describe('nodes out of topological order', () => {
  const reversed: TestModel = {
    nodes: [node('Mul', ['t', 'x'], ['y']), node('Add', ['s', 'x'], ['t']), node('Tanh', ['x'], ['s'])],
    inputs: [{ name: 'x', shape: [2, 3] }],
    output: 'y',
  };
  for (const seed of [1, 2]) {
    it(`gradients are right #${seed}`, async () => {
      const result = await checkGradient(reversed, seed);
      expect(result.worst, result.where).toBeLessThanOrEqual(1);
    });
  }

  it('every rewritten model (forward, capture, replace, gradient) loads in ONNX Runtime', async () => {
    const bytes = modelBytes(
      [makeNode('Mul', ['t', 'x'], ['y']), makeNode('Add', ['s', 'x'], ['t']), makeNode('Tanh', ['x'], ['s'])],
      [makeValueInfo('x', DataType.FLOAT, ['N', 3])],
      ['y'],
    );
    for (const options of [{}, { capture: ['s'] }, { replace: ['t'] }, { wrt: ['x'] }, { wrt: ['s'], capture: ['t'] }]) {
      const built = transformModel(bytes, options);
      const session = await ort.InferenceSession.create(built.bytes);
      await session.release();
    }
    const built = transformModel(bytes, { wrt: ['x'] });
    expect(built.inputs.map((i) => i.name)).toEqual(['x', '__attribution/w']);
  });
});

describe('subgraphs read names from the outer scope', () => {
  // y = If(c, then: x + w, else: x · w): the branches read the graph input x and the initializer w.
  const make = (cond: 'input' | 'constant'): Uint8Array =>
    modelBytes(
      [
        makeNode('Relu', ['x'], ['r']),
        ifNode('c', branch('then', [makeNode('Add', ['x', 'w'], ['a'])], 'a'), branch('else', [makeNode('Mul', ['x', 'w'], ['m'])], 'm'), 'b'),
        makeNode('Add', ['b', 'r'], ['y']),
      ],
      [makeValueInfo('x', DataType.FLOAT, [2, 2]), ...(cond === 'input' ? [makeValueInfo('c', DataType.BOOL, [])] : [])],
      ['y'],
      [makeTensor('w', DataType.FLOAT, [2, 2], [1, 2, 3, 4]), ...(cond === 'constant' ? [makeTensor('c', DataType.BOOL, [], [0])] : [])],
    );
  const x = new ort.Tensor('float32', Float32Array.from([0.5, -1, 2, -3]), [2, 2]);

  it('pruning keeps the graph input and the initializer a branch reads', async () => {
    const built = transformModel(make('input'), { capture: ['r'] });
    expect(built.inputs.map((i) => i.name)).toEqual(['x', 'c']);
    const out = await run(built.bytes, { x, c: new ort.Tensor('bool', Uint8Array.from([1]), []) });
    expect(Array.from(out.y!.data as Float32Array)).toEqual([2, 1, 7, 1]);
  });

  it('a Loop body reading a graph input and an initializer from the outer scope keeps them through pruning', async () => {
    // y = Loop 3 times: acc ← acc · w + x (the body reads x and w from the outer scope).
    const body = onnx.GraphProto.create({
      name: 'body',
      node: [makeNode('Mul', ['acc_in', 'w'], ['m']), makeNode('Add', ['m', 'x'], ['acc_out']), makeNode('Identity', ['cond_in'], ['cond_out'])] as never,
      input: [makeValueInfo('i', DataType.INT64, []), makeValueInfo('cond_in', DataType.BOOL, []), makeValueInfo('acc_in', DataType.FLOAT, [2, 2])],
      output: [makeValueInfo('cond_out', DataType.BOOL, []), makeValueInfo('acc_out', DataType.FLOAT, [2, 2])],
    }) as unknown as GraphProto;
    const loop = makeNode('Loop', ['trips', '', 'zero'], ['acc']);
    loop.attribute.push(onnx.AttributeProto.create({ name: 'body', type: onnx.AttributeProto.AttributeType.GRAPH, g: body as never }) as never);
    const bytes = modelBytes(
      [makeNode('Relu', ['x'], ['r']), loop, makeNode('Add', ['acc', 'r'], ['y'])],
      [makeValueInfo('x', DataType.FLOAT, [2, 2])],
      ['y'],
      [makeTensor('w', DataType.FLOAT, [2, 2], [0.5, 0.5, 0.5, 0.5]), makeTensor('trips', DataType.INT64, [], [3]), makeTensor('zero', DataType.FLOAT, [2, 2], [0, 0, 0, 0])],
    );
    const built = transformModel(bytes, { capture: ['r'] });
    const out = await run(built.bytes, { x });
    // acc: 0 → x → 1.5x → 1.75x; y = 1.75x + relu(x)
    const xs = [0.5, -1, 2, -3];
    expect(Array.from(out.y!.data as Float32Array)).toEqual(xs.map((v) => 1.75 * v + Math.max(v, 0)));
    expect(() => transformModel(bytes, { wrt: ['x'] })).toThrow(/No gradient rule for ONNX operator Loop \(1 node/);
  });

  it('an If on a run-time condition is named in the refusal of gradients', () => {
    expect(() => transformModel(make('input'), { wrt: ['x'] })).toThrow(/No gradient rule for ONNX operator If \(1 node/);
  });

  it('an If whose condition is a constant is inlined, and gradients flow through the branch taken', async () => {
    const built = transformModel(make('constant'), { wrt: ['x'] });
    const out = await run(built.bytes, { x, [built.weights as string]: new ort.Tensor('float32', Float32Array.from([1, 1, 1, 1]), [2, 2]) });
    // else branch: d(x·w + relu(x))/dx = w + 1{x > 0}
    expect(Array.from(out[built.gradients[0] as string]!.data as Float32Array)).toEqual([2, 2, 4, 4]);
  });
});

describe('shape arithmetic folds to constants', () => {
  // ShuffleNet's channel split as torch exports chunk(2, dim=1) with a dynamic batch:
  // Shape → Gather(1) → Add(1) → Div(2) → Mul(1) → Slice bounds.
  const chunk = (declared: (number | string)[], specialise: boolean): TestModel => ({
    nodes: [
      node('Shape', ['x'], ['s']),
      node('Gather', ['s', 'one'], ['c'], { axis: 0 }),
      node('Add', ['c', 'one'], ['c1']),
      node('Div', ['c1', 'two'], ['half']),
      node('Mul', ['half', 'one'], ['h']),
      node('Unsqueeze', ['h', 'zero1'], ['h1']),
      node('Slice', ['x', 'zero1', 'h1', 'one1'], ['a']),
      node('Slice', ['x', 'h1', 'big', 'one1'], ['b']),
      node('Tanh', ['b'], ['tb']),
      node('Mul', ['a', 'tb'], ['y']),
    ],
    inputs: [{ name: 'x', shape: [2, 4, 3], declared }],
    initializers: [ints('one', [1], []), ints('two', [2], []), ints('zero1', [0]), ints('one1', [1]), ints('big', [Number.MAX_SAFE_INTEGER])],
    output: 'y',
    specialise,
  });
  it('channel split with a symbolic batch (no specialisation needed)', async () => {
    const result = await checkGradient(chunk(['N', 4, 3], false), 1);
    expect(result.worst, result.where).toBeLessThanOrEqual(1);
  });

  // Attention's head split: Reshape(x, [N·heads, T, d/heads]) with N read from Shape(x) at run time.
  const heads: TestModel = {
    nodes: [
      node('Shape', ['x'], ['s']),
      node('Gather', ['s', 'zero'], ['n'], { axis: 0 }),
      node('Mul', ['n', 'two'], ['nh']),
      node('Unsqueeze', ['nh', 'zero1'], ['nh1']),
      node('Concat', ['nh1', 'rest'], ['target'], { axis: 0 }),
      node('Reshape', ['x', 'target'], ['r']),
      node('Softmax', ['r'], ['p'], { axis: -1 }),
      node('Slice', ['p', 'zero1', 'nh1', 'zero1'], ['q']),
      node('Mul', ['q', 'r'], ['y']),
    ],
    inputs: [{ name: 'x', shape: [3, 2, 4], declared: ['N', 'T', 4] }],
    initializers: [ints('zero', [0], []), ints('two', [2], []), ints('zero1', [0]), ints('rest', [-1, 2])],
    output: 'y',
    specialise: true,
  };
  for (const seed of [1, 2]) {
    it(`head split computed from the batch size, specialised to the input shapes #${seed}`, async () => {
      const result = await checkGradient(heads, seed);
      expect(result.worst, result.where).toBeLessThanOrEqual(1);
    });
  }

  it('folds Shape, Gather, arithmetic, Range, ConstantOfShape, Trilu and Where into initializers', () => {
    const bytes = modelBytes(
      [
        makeNode('Shape', ['x'], ['s']),
        makeNode('Gather', ['s', 'one'], ['t'], { axis: 0 }),
        makeNode('Range', ['zero', 't', 'one'], ['pos']),
        makeNode('Unsqueeze', ['t', 'ax0'], ['t1']),
        makeNode('Concat', ['t1', 't1'], ['tt'], { axis: 0 }),
        makeNode('ConstantOfShape', ['tt'], ['ones'], { value: { t: makeTensor('', DataType.FLOAT, [1], [1]) } }),
        makeNode('Trilu', ['ones'], ['lower'], { upper: 0 }),
        makeNode('Equal', ['lower', 'zerof'], ['masked']),
        makeNode('Where', ['masked', 'neginf', 'zerof'], ['bias']),
        makeNode('Div', ['minus7', 'two'], ['q']),
        makeNode('Mod', ['minus7', 'two'], ['m']),
        makeNode('Slice', ['s', 'one1', 'int64max'], ['tail']),
        makeNode('Add', ['x', 'bias'], ['y']),
      ],
      [makeValueInfo('x', DataType.FLOAT, [2, 3, 3])],
      ['y', 'pos', 'q', 'm', 'tail'],
      [
        makeTensor('one', DataType.INT64, [], [1]),
        makeTensor('zero', DataType.INT64, [], [0]),
        makeTensor('ax0', DataType.INT64, [1], [0]),
        makeTensor('one1', DataType.INT64, [1], [1]),
        makeTensor('int64max', DataType.INT64, [1], [2 ** 63]), // INT64_MAX as a double (saturated when encoded)
        makeTensor('two', DataType.INT64, [], [2]),
        makeTensor('minus7', DataType.INT64, [], [-7]),
        makeTensor('zerof', DataType.FLOAT, [], [0]),
        makeTensor('neginf', DataType.FLOAT, [], [-Infinity]),
      ],
    );
    const graph = new Graph(bytes);
    inferShapes(graph);
    expect(foldConstants(graph)).toBe(true);
    expect(graph.graph.node.map((n) => n.opType)).toEqual(['Add']);
    const value = (name: string): number[] => tensorValues(graph.initializers.get(name) as TensorProto);
    expect(value('pos')).toEqual([0, 1, 2]);
    expect(value('bias')).toEqual([0, -Infinity, -Infinity, 0, 0, -Infinity, 0, 0, 0]);
    expect(value('q')).toEqual([-3]); // integer Div truncates toward zero
    expect(value('m')).toEqual([1]); // integer Mod takes the divisor's sign
    expect(value('tail')).toEqual([3, 3]);
    expect(graph.info('y').shape).toEqual([2, 3, 3]);
  });

  it('leaves non-constant and oversized values to the runtime', () => {
    const bytes = modelBytes(
      [makeNode('Shape', ['x'], ['s']), makeNode('ConstantOfShape', ['big'], ['z']), makeNode('Add', ['x', 'x'], ['y'])],
      [makeValueInfo('x', DataType.FLOAT, ['N', 3])],
      ['y', 's', 'z'],
      [makeTensor('big', DataType.INT64, [2], [4096, 4096])],
    );
    const graph = new Graph(bytes);
    inferShapes(graph);
    expect(foldConstants(graph)).toBe(false);
    expect(graph.graph.node.map((n) => n.opType)).toEqual(['Shape', 'ConstantOfShape', 'Add']);
  });
});

describe('quantized models', () => {
  it('QuantizeLinear → DequantizeLinear passes the gradient straight through (per-tensor and per-axis scales)', async () => {
    for (const perAxis of [false, true]) {
      const scale = perAxis ? makeTensor('s', DataType.FLOAT, [3], [0.01, 0.02, 0.05]) : makeTensor('s', DataType.FLOAT, [], [0.02]);
      const zp = perAxis ? makeTensor('z', DataType.INT8, [3], [0, 1, -2]) : makeTensor('z', DataType.INT8, [], [3]);
      const bytes = modelBytes(
        [makeNode('QuantizeLinear', ['x', 's', 'z'], ['q'], { axis: 1 }), makeNode('DequantizeLinear', ['q', 's', 'z'], ['d'], { axis: 1 }), makeNode('Mul', ['d', 'd'], ['y'])],
        [makeValueInfo('x', DataType.FLOAT, [2, 3])],
        ['y'],
        [scale, zp],
      );
      const built = transformModel(bytes, { wrt: ['x'] });
      const xs = [0.5, -0.3, 1.1, 0.2, 0.7, -0.9];
      const out = await run(built.bytes, {
        x: new ort.Tensor('float32', Float32Array.from(xs), [2, 3]),
        [built.weights as string]: new ort.Tensor('float32', Float32Array.from([1, 1, 1, 1, 1, 1]), [2, 3]),
      });
      const d = await run(transformModel(bytes, { capture: ['d'] }).bytes, { x: new ort.Tensor('float32', Float32Array.from(xs), [2, 3]) });
      const dq = (Object.values(d).find((t) => t.dims.length === 2 && t !== d.y) as ort.Tensor).data as Float32Array;
      const grad = out[built.gradients[0] as string]!.data as Float32Array;
      // d(dq(q(x))²)/dx ≈ 2·dq(q(x)) under the straight-through estimate.
      grad.forEach((g, i) => expect(g).toBeCloseTo(2 * (dq[i] as number), 5));
    }
  });

  it('other quantized operators are named in the refusal', () => {
    const bytes = modelBytes(
      [
        makeNode('DynamicQuantizeLinear', ['x'], ['q', 'qs', 'qz']),
        makeNode('MatMulInteger', ['q', 'w', 'qz', 'wz'], ['acc']),
        makeNode('Cast', ['acc'], ['accf'], { to: DataType.FLOAT }),
        makeNode('Mul', ['accf', 'qs'], ['y']),
      ],
      [makeValueInfo('x', DataType.FLOAT, [2, 3])],
      ['y'],
      [makeTensor('w', DataType.UINT8, [3, 2], [1, 2, 3, 4, 5, 6]), makeTensor('wz', DataType.UINT8, [], [0])],
    );
    expect(() => transformModel(bytes, { wrt: ['x'] })).toThrow(/DynamicQuantizeLinear/);
  });
});

describe('one refusal names every unsupported operator', () => {
  // Det and DFT are forward-only: x [N, 2, 2, 2] → Det → [N, 2] → Relu → DFT → [N, 2, 2] → Det → [N].
  const bytes = modelBytes(
    [
      makeNode('Det', ['x'], ['a']),
      makeNode('Relu', ['a'], ['b']),
      makeNode('Unsqueeze', ['b', 'last'], ['u']),
      makeNode('DFT', ['u'], ['c'], { axis: 1 }),
      makeNode('Det', ['c'], ['y']),
    ],
    [makeValueInfo('x', DataType.FLOAT, [3, 2, 2, 2])],
    ['y'],
    [makeTensor('last', DataType.INT64, [1], [2])],
    17,
  );

  it('lists op type, count and first node of each, and what to do', () => {
    let error: unknown;
    try {
      transformModel(bytes, { wrt: ['x'] });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UnsupportedOperatorError);
    const e = error as UnsupportedOperatorError;
    expect(e.operators.map((o) => [o.opType, o.count])).toEqual([
      ['Det', 2],
      ['DFT', 1],
    ]);
    expect(e.message).toMatch(/No gradient rule for 2 ONNX operators: Det \(2 nodes, first 'a'\); DFT \(1 node, first 'c'\)/);
    expect(e.message).toMatch(/finite-difference/);
    expect(e.message).toMatch(/16 forward evaluations per example/);
    expect(unsupportedOperators(bytes)).toEqual(e.operators);
  });

  it('operators before the differentiated tensor do not count', () => {
    expect(() => transformModel(bytes, { wrt: ['c'] })).toThrow(/No gradient rule for ONNX operator Det \(1 node, first 'y'\)/);
  });
});

describe('non-differentiable integer paths are cut, not refused', () => {
  it('ArgMax, NonZero, comparisons and the type input of CastLike', async () => {
    const m: TestModel = {
      nodes: [
        node('ArgMax', ['x'], ['am'], { axis: 1, keepdims: 0 }),
        node('Gather', ['x', 'am'], ['g'], { axis: 1 }),
        node('Greater', ['x', 'zero'], ['pos']),
        node('NonZero', ['pos'], ['nz']),
        node('Shape', ['nz'], ['nzs']),
        node('CastLike', ['nzs', 'x'], ['nzf']),
        node('ReduceSum', ['nzf'], ['cnt'], { keepdims: 0 }),
        node('Mul', ['g', 'cnt'], ['y']),
      ],
      inputs: [{ name: 'x', shape: [3, 4], draw: 'awayFromZero' }],
      initializers: [floats('zero', [], [0])],
      output: 'y',
      opset: 15,
    };
    const result = await checkGradient(m, 1);
    expect(result.worst, result.where).toBeLessThanOrEqual(1);
  });
});

describe('float16 constants', () => {
  it('encode and decode with round-to-nearest-even', async () => {
    const { fromFloat16, toFloat16 } = await import('../src/proto.js');
    const cases: [number, number][] = [
      [0, 0], [1, 1], [-2.5, -2.5], [65504, 65504], [70000, Infinity], [1e-8, 0],
      [0.1, 0.0999755859375], [1 / 3, 0.333251953125], [6e-8, 5.960464477539063e-8], [2049, 2048], [2051, 2052],
    ];
    for (const [v, want] of cases) expect(fromFloat16(toFloat16(v))).toBe(want);
    expect(Number.isNaN(fromFloat16(toFloat16(NaN)))).toBe(true);
  });
});

describe('every opset from 11 to 21', () => {
  // Ops whose signature changed across opsets (axes as attribute or input, Split's sizes and num_outputs,
  // Softmax's axis semantics), chained, so that the backward nodes the emitter writes must be valid for the
  // model's opset too.
  const model = (opset: number): TestModel => {
    const axesInput = (op: 'ReduceSum' | 'ReduceMean' | 'Squeeze' | 'Unsqueeze'): boolean => (op === 'ReduceSum' || op === 'Squeeze' || op === 'Unsqueeze' ? opset >= 13 : opset >= 18);
    const withAxes = (op: 'ReduceSum' | 'ReduceMean' | 'Squeeze' | 'Unsqueeze', input: string, out: string, axes: string, values: number[], attrs: Record<string, number> = {}): NodeProto =>
      axesInput(op) ? node(op, [input, axes], [out], attrs) : node(op, [input], [out], { ...attrs, axes: values });
    const split = opset >= 18 ? node('Split', ['t'], ['s0', 's1'], { axis: 3, num_outputs: 2 }) : opset >= 13 ? node('Split', ['t', 'sizes'], ['s0', 's1'], { axis: 3 }) : node('Split', ['t'], ['s0', 's1'], { axis: 3, split: [2, 2] });
    return {
      nodes: [
        node('MatMul', ['x', 'w'], ['h']),
        node('Softmax', ['h'], ['p'], { axis: -1 }),
        withAxes('Unsqueeze', 'p', 'u', 'ax1', [1]),
        node('Transpose', ['u'], ['t'], { perm: [0, 2, 1, 3] }),
        split,
        node('Mul', ['s0', 's1'], ['m']),
        withAxes('ReduceMean', 'm', 'r', 'ax3', [3], { keepdims: 1 }),
        withAxes('Squeeze', 'r', 'q', 'ax3', [3]),
        withAxes('ReduceSum', 'q', 'y', 'ax1', [1], { keepdims: 0 }),
      ],
      inputs: [{ name: 'x', shape: [2, 3, 5], declared: ['N', 3, 5] }],
      initializers: [floats('w', [5, 4], Array.from({ length: 20 }, (_, i) => Math.sin(i + 1))), ints('ax1', [1]), ints('ax3', [3]), ints('sizes', [2, 2])],
      output: 'y',
      opset,
    };
  };
  for (let opset = 11; opset <= 21; opset++) {
    it(`opset ${opset}`, async () => {
      const result = await checkGradient(model(opset), opset);
      expect(result.worst, result.where).toBeLessThanOrEqual(1);
    });
  }
});

describe('models of opset 7 to 10 are converted to opset 11 for gradients', () => {
  const cases: [string, number[], (opset: number) => TestModel][] = [
    ['Clip-6 (attributes)', [7, 8, 9, 10], (opset) => ({ nodes: [node('Clip', ['x'], ['c'], { min: { f: -0.4 }, max: { f: 0.7 } }), node('Mul', ['c', 'x'], ['y'])], inputs: [{ name: 'x', shape: [2, 3], values: [-0.9, -0.2, 0.1, 0.5, 0.9, -0.6] }], output: 'y', opset })],
    [
      'Pad-2 (constant with a value, reflect, edge)',
      [7, 10],
      (opset) => ({
        nodes: [
          node('Pad', ['x'], ['a'], { pads: [0, 1, 0, 2], value: { f: 0.5 } }),
          node('Pad', ['x'], ['b'], { pads: [0, 2, 0, 1], mode: 'reflect' }),
          node('Pad', ['x'], ['c'], { pads: [0, 1, 0, 2], mode: 'edge' }),
          node('Mul', ['a', 'b'], ['ab']),
          node('Mul', ['ab', 'c'], ['y']),
        ],
        inputs: [{ name: 'x', shape: [2, 4] }],
        output: 'y',
        opset,
      }),
    ],
    ['Slice-1 (attributes)', [7, 9], (opset) => ({ nodes: [node('Slice', ['x'], ['s'], { starts: [1, 0], ends: [3, -1], axes: [0, 1] }), node('Tanh', ['s'], ['y'])], inputs: [{ name: 'x', shape: [4, 5] }], output: 'y', opset })],
    ['TopK-1 (k attribute)', [7, 9], (opset) => ({ nodes: [node('TopK', ['x'], ['v', 'i'], { k: 2, axis: 1 }), node('Tanh', ['v'], ['y'])], inputs: [{ name: 'x', shape: [2, 5], values: [0.1, 0.9, -0.3, 0.5, 0.7, 1.2, -1, 0.2, 0.6, -0.4] }], output: 'y', opset })],
    [
      'Upsample-7 (scales attribute), nearest and linear',
      [7, 8],
      (opset) => ({
        nodes: [
          node('Upsample', ['x'], ['n'], { scales: { floats: [1, 1, 2, 3] }, mode: 'nearest' }),
          node('Upsample', ['x'], ['l'], { scales: { floats: [1, 1, 2, 3] }, mode: 'linear' }),
          node('Mul', ['n', 'l'], ['y']),
        ],
        inputs: [{ name: 'x', shape: [1, 2, 3, 2] }],
        output: 'y',
        opset,
      }),
    ],
    [
      'Upsample-9 and Resize-10 (scales input)',
      [9, 10],
      (opset) => ({
        nodes: [node(opset === 9 ? 'Upsample' : 'Resize', ['x', 'sc'], ['n'], { mode: 'nearest' }), node(opset === 9 ? 'Upsample' : 'Resize', ['x', 'sc'], ['l'], { mode: 'linear' }), node('Mul', ['n', 'l'], ['y'])],
        inputs: [{ name: 'x', shape: [1, 2, 3, 2] }],
        initializers: [makeTensor('sc', DataType.FLOAT, [4], [1, 1, 2, 1.5])],
        output: 'y',
        opset,
      }),
    ],
    [
      'BatchNormalization-7 (spatial) and Dropout-7 in a Conv net',
      [7, 8],
      (opset) => ({
        nodes: [
          node('Conv', ['x', 'w'], ['c'], { kernel_shape: [2, 2], pads: [1, 1, 0, 0] }),
          node('BatchNormalization', ['c', 's', 'b', 'm', 'v'], ['bn'], { spatial: 1, epsilon: { f: 1e-3 } }),
          node('Relu', ['bn'], ['r']),
          node('MaxPool', ['r'], ['p'], { kernel_shape: [2, 2], strides: [2, 2] }),
          node('Dropout', ['p'], ['d'], { ratio: { f: 0.3 } }),
          node('Flatten', ['d'], ['f']),
          node('Gemm', ['f', 'g', 'gb'], ['y'], { transB: 1 }),
        ],
        inputs: [{ name: 'x', shape: [2, 1, 4, 4], draw: 'awayFromZero' }],
        initializers: [
          floats('w', [2, 1, 2, 2], [0.5, -0.3, 0.8, 0.2, -0.6, 0.4, 0.1, 0.9]),
          floats('s', [2], [1.2, 0.7]),
          floats('b', [2], [0.1, -0.2]),
          floats('m', [2], [0.05, -0.1]),
          floats('v', [2], [0.9, 1.3]),
          floats('g', [3, 8], Array.from({ length: 24 }, (_, i) => Math.sin(i + 1))),
          floats('gb', [3], [0.1, 0.2, -0.1]),
        ],
        output: 'y',
        opset,
      }),
    ],
  ];
  for (const [name, opsets, build] of cases) {
    for (const opset of opsets) {
      it(`${name}, opset ${opset}`, async () => {
        // One seed for every opset: the same values, so a difference can only come from the conversion.
        const result = await checkGradient(build(opset), 11);
        expect(result.worst, result.where).toBeLessThanOrEqual(1);
      });
    }
  }

  it('refuses opsets before 7, and keeps the forward model as it was', () => {
    const old = encodeModel(onnx.ModelProto.create({ irVersion: 3, opsetImport: [{ domain: '', version: 6 }], graph: { name: 'g', node: [makeNode('Relu', ['x'], ['y'])], input: [makeValueInfo('x', DataType.FLOAT, [2])], output: [makeValueInfo('y', DataType.FLOAT)] } }) as never);
    expect(() => transformModel(old, { wrt: ['x'] })).toThrow(/opset 6; gradient graphs need opset 7 or newer/);
    expect(new Graph(transformModel(old, { capture: ['y'] }).bytes).opset).toBe(6);
  });
});

describe('model-local functions', () => {
  // swish(x; alpha) = x · sigmoid(alpha · x), a function of domain 'custom' whose Constant takes the caller's
  // alpha (ref_attr_name; default 1 in attribute_proto, a field of IR 9), called twice (alpha given, alpha
  // defaulted), the second call inside another function. The schema the library decodes with predates
  // attribute_proto, so the test writes that field into the file by hand, as an IR 9 exporter would.
  const varint = (v: number): number[] => {
    const out: number[] = [];
    for (let n = v; ; n >>>= 7) {
      out.push((n & 0x7f) | (n >= 0x80 ? 0x80 : 0));
      if (n < 0x80) return out;
    }
  };
  const field = (number: number, payload: Uint8Array): Uint8Array => Uint8Array.from([...varint(number * 8 + 2), ...varint(payload.length), ...payload]);
  const concat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => [...p]));
  const fn = (name: string, nodes: NodeProto[], defaults: ReturnType<typeof makeNode>['attribute'] = []): Uint8Array =>
    concat(
      onnx.FunctionProto.encode(onnx.FunctionProto.create({ name, domain: 'custom', input: ['x'], output: ['y'], node: nodes as never, opsetImport: [{ domain: '', version: 17 }, { domain: 'custom', version: 1 }] })).finish(),
      ...defaults.map((a) => field(11, onnx.AttributeProto.encode(a as never).finish())),
    );
  const alphaConstant = makeNode('Constant', [], ['a']);
  alphaConstant.attribute = [onnx.AttributeProto.create({ name: 'value_float', type: onnx.AttributeProto.AttributeType.FLOAT, refAttrName: 'alpha' }) as never];
  const swish = fn('Swish', [alphaConstant, makeNode('Mul', ['x', 'a'], ['ax']), makeNode('Sigmoid', ['ax'], ['s']), makeNode('Mul', ['x', 's'], ['y'])], makeNode('', [], [], { alpha: { f: 1 } }).attribute);
  const outer = fn('TwiceSwish', [{ ...makeNode('Swish', ['x'], ['t']), domain: 'custom' }, makeNode('Tanh', ['t'], ['y'])]);
  const withFunctions = (graph: object, functions: Uint8Array[]): Uint8Array =>
    concat(encodeModel(onnx.ModelProto.create({ irVersion: 9, opsetImport: [{ domain: '', version: 17 }, { domain: 'custom', version: 1 }], graph }) as never), ...functions.map((f) => field(25, f)));
  const bytes = withFunctions(
    {
      name: 'g',
      node: [{ ...makeNode('Swish', ['x'], ['h'], { alpha: { f: 1.7 } }), domain: 'custom' }, { ...makeNode('TwiceSwish', ['h'], ['y']), domain: 'custom' }],
      input: [makeValueInfo('x', DataType.FLOAT, [2, 3])],
      output: [makeValueInfo('y', DataType.FLOAT)],
    },
    [swish, outer],
  );

  it('are expanded for gradients, which match finite differences of ONNX Runtime running the functions', async () => {
    const xs = [0.3, -1.2, 0.8, 2.1, -0.4, 0.05];
    const built = transformModel(bytes, { wrt: ['x'] });
    const w = new ort.Tensor('float32', Float32Array.from([1, -0.5, 2, 0.7, 1, -1.5]), [2, 3]);
    const out = await run(built.bytes, { x: new ort.Tensor('float32', Float32Array.from(xs), [2, 3]), [built.weights as string]: w });
    const grad = out[built.gradients[0] as string]!.data as Float32Array;
    const f = async (v: number[]): Promise<number> => {
      const y = (await run(bytes, { x: new ort.Tensor('float32', Float32Array.from(v), [2, 3]) })).y!.data as Float32Array;
      return y.reduce((a, yi, i) => a + yi * (w.data as Float32Array)[i]!, 0);
    };
    for (let j = 0; j < xs.length; j++) {
      const up = [...xs];
      const down = [...xs];
      up[j]! += 1e-2;
      down[j]! -= 1e-2;
      expect(grad[j]).toBeCloseTo(((await f(up)) - (await f(down))) / 2e-2, 2);
    }
    // A rewritten forward model (here capturing h) expands the calls too, and still loads.
    const captured = transformModel(bytes, { capture: ['h'] });
    expect(new Graph(captured.bytes).graph.node.map((n) => n.opType)).not.toContain('Swish');
    const y = await run(captured.bytes, { x: new ort.Tensor('float32', Float32Array.from(xs), [2, 3]) });
    const direct = await run(bytes, { x: new ort.Tensor('float32', Float32Array.from(xs), [2, 3]) });
    expect(Array.from(y.y!.data as Float32Array)).toEqual(Array.from(direct.y!.data as Float32Array));
  });

  it('a function that calls itself is refused as an invalid model', () => {
    const m = withFunctions(
      { name: 'g', node: [{ ...makeNode('Loop1', ['x'], ['y']), domain: 'custom' }], input: [makeValueInfo('x', DataType.FLOAT, [2])], output: [makeValueInfo('y', DataType.FLOAT)] },
      [fn('Loop1', [{ ...makeNode('Loop1', ['x'], ['y']), domain: 'custom' }])],
    );
    expect(() => transformModel(m, { wrt: ['x'] })).toThrow(/call each other deeper than 16 levels/);
  });
});
