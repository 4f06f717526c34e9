import { BackendError } from '@attribution/tensor';
import { describe, expect, it } from 'vitest';
import { InvalidModelError, inspectModel, transformModel } from '../src/index.js';
import { DataType, encodeModel, makeNode, makeTensor, makeValueInfo, onnx, type NodeProto, type TensorProto } from '../src/proto.js';

// Regression cases from the fuzz test (packages/onnx/test/fuzz.test.ts): hostile model files that used to
// hang, exhaust memory or throw raw errors in the parser and the gradient builder. Each must now fail fast
// with a typed error.

function model(nodes: NodeProto[], initializers: TensorProto[], input: (number | string)[] = ['N', 1, 4, 4], opset = 13): Uint8Array {
  const m = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: opset }],
    graph: {
      name: 'hostile',
      node: nodes,
      initializer: initializers,
      input: [makeValueInfo('x', DataType.FLOAT, input)],
      output: [makeValueInfo('y', DataType.FLOAT)],
    },
  });
  return encodeModel(m as never);
}

const weights = (dims: number[]): TensorProto => makeTensor('W', DataType.FLOAT, dims, new Array<number>(dims.reduce((a, b) => a * b, 1)).fill(0.5));
const conv = (attrs: Record<string, number | number[]>): NodeProto => makeNode('Conv', ['x', 'W'], ['y'], attrs);

/** transformModel rejects the model with `error` and `message`, quickly. */
function expectRejected(bytes: Uint8Array, error: new (...args: never[]) => Error, message: RegExp): void {
  const started = performance.now();
  expect(() => transformModel(bytes, { wrt: ['x'] })).toThrow(error);
  expect(() => transformModel(bytes, { wrt: ['x'] })).toThrow(message);
  expect(performance.now() - started).toBeLessThan(1000);
}

describe('hostile model files fail fast with typed errors', () => {
  it('an initializer whose dims are huge (1e15) or negative, or disagree with its data', () => {
    const huge = weights([1, 1, 3, 3]);
    huge.dims = [1e15, 1, 3, 3];
    expectRejected(model([conv({})], [huge]), InvalidModelError, /Initializer 'W' has shape \[1000000000000000, 1, 3, 3\] \(9000000000000000 values\) but stores 9 float values/);
    const negative = weights([1, 1, 3, 3]);
    negative.dims = [1, -1, 3, 3];
    expectRejected(model([conv({})], [negative]), InvalidModelError, /Initializer 'W' has dimension -1/);
    const short = weights([1, 1, 3, 3]);
    short.rawData = short.rawData.slice(0, 10);
    expectRejected(model([conv({})], [short]), InvalidModelError, /Initializer 'W' has 10 bytes of raw data, not a whole number of float values/);
    expect(() => inspectModel(model([conv({})], [short]))).toThrow(InvalidModelError);
  });

  it('an initializer with no or an unknown data type, or raw data of a type the builder cannot read', () => {
    for (const type of [0, 99, -3]) {
      const w = weights([1, 1, 3, 3]);
      w.dataType = type;
      expectRejected(model([conv({})], [w]), InvalidModelError, /Initializer 'W' has no valid data type/);
    }
    const brain = weights([1, 1, 3, 3]);
    brain.dataType = DataType.BFLOAT16;
    brain.rawData = new Uint8Array(18);
    expectRejected(model([conv({})], [brain]), BackendError, /Cannot read the values of tensor 'W' of type bfloat16/);
  });

  it('a Conv whose group is 1e9 (a billion-step loop) or does not divide its channels', () => {
    expectRejected(model([conv({ group: 1e9 })], [weights([2, 1, 3, 3])]), InvalidModelError, /Node 'y' \(Conv\) has group 1000000000, which does not divide its 2 output channels/);
    expectRejected(model([conv({ group: 0 })], [weights([2, 1, 3, 3])]), InvalidModelError, /has group 0/);
  });

  it('Conv and pooling attributes that are absurd: kernel 1e9, stride 0, negative pads, mismatched lengths', () => {
    const w = weights([1, 1, 3, 3]);
    expectRejected(model([conv({ kernel_shape: [1e9, 1e9] })], [w]), InvalidModelError, /has an invalid kernel_shape: \[1000000000, 1000000000\]/);
    expectRejected(model([conv({ strides: [0, 1] })], [w]), InvalidModelError, /has an invalid strides: \[0, 1\]/);
    expectRejected(model([conv({ pads: [-1, 0, 0, 0] })], [w]), InvalidModelError, /has an invalid pads/);
    expectRejected(model([conv({ dilations: [1] })], [w]), InvalidModelError, /has an invalid dilations: \[1\]/);
    const pool = makeNode('AveragePool', ['x'], ['y'], { kernel_shape: [2 ** 20, 2 ** 20] });
    expectRejected(model([pool], []), InvalidModelError, /\(AveragePool\) has an invalid kernel_shape/);
  });

  it('a Transpose perm that is not a permutation (an index of 1e9 made a sparse array of a billion)', () => {
    const t = makeNode('Transpose', ['x'], ['y'], { perm: [0, -1, 1e9, -1] });
    expectRejected(model([t], []), InvalidModelError, /Transpose perm \[0, -1, 1000000000, -1\] is not a permutation of the 4 axes/);
  });

  it('an axis far out of range (Softmax over axis -1e9 allocated an array of a billion)', () => {
    const s = makeNode('Softmax', ['x'], ['y'], { axis: -1e9 });
    expectRejected(model([s], [], ['N', 1, 4, 4], 11), InvalidModelError, /Axis -1000000000 is out of range for a tensor of rank 4/);
  });

  it('a Reshape to a shape tensor declared with a billion entries infers no shape instead of allocating', () => {
    const r = makeNode('Reshape', ['x', 's'], ['y']);
    const bytes = model([r], []);
    const decoded = onnx.ModelProto.decode(bytes);
    decoded.graph?.input?.push(onnx.ValueInfoProto.create({ name: 's', type: { tensorType: { elemType: DataType.INT64, shape: { dim: [{ dimValue: 1e9 }] } } } }));
    const started = performance.now();
    expect(inspectModel(onnx.ModelProto.encode(decoded).finish()).outputs[0]?.shape).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('models with opsets older than 7 still run forward; only gradients need opset 7', () => {
    const bytes = model([makeNode('Relu', ['x'], ['y'])], [], ['N', 3], 6);
    expect(transformModel(bytes).output).toBe('y');
    expect(() => transformModel(bytes, { wrt: ['x'] })).toThrow(/The model uses opset 6; gradient graphs need opset 7 or newer/);
  });
});

describe('large graphs', () => {
  it('a chain of 70,000 nodes builds its gradient model without recursion or argument spreading that scales with it', () => {
    const nodes: NodeProto[] = [];
    let last = 'x';
    for (let k = 0; k < 70_000; k++) {
      const out = `h${k}`;
      nodes.push(makeNode(k % 2 ? 'Relu' : 'Neg', [last], [out]));
      last = out;
    }
    nodes.push(makeNode('Identity', [last], ['y']));
    const bytes = encodeModel(
      onnx.ModelProto.create({
        irVersion: 8,
        opsetImport: [{ domain: '', version: 13 }],
        graph: { name: 'chain', node: nodes, input: [makeValueInfo('x', DataType.FLOAT, ['N', 4])], output: [makeValueInfo('y', DataType.FLOAT)] },
      }) as never,
    );
    // Nodes in reverse order too: the topological sort must not recurse either.
    const reversed = encodeModel(
      onnx.ModelProto.create({
        irVersion: 8,
        opsetImport: [{ domain: '', version: 13 }],
        graph: { name: 'chain', node: [...nodes].reverse(), input: [makeValueInfo('x', DataType.FLOAT, ['N', 4])], output: [makeValueInfo('y', DataType.FLOAT)] },
      }) as never,
    );
    expect(bytes.length).toBeGreaterThan(70_000);
    // (The reversed file exercises the sort and everything after it; the ordered one is the same graph.)
    const built = transformModel(reversed, { wrt: ['x'] });
    expect(built.gradients).toHaveLength(1);
  }, 60_000);
});
