import { proto } from '@attribution/onnx-grad';
import type { Random } from '@attribution/tensor';

/**
 * Mutations of ONNX model bytes for the fuzz test: raw byte damage (flips, overwrites, truncation,
 * duplicated or deleted chunks) and targeted protobuf edits (huge or negative dims, wrong data types,
 * missing inputs, cycles, a node consuming an undefined tensor, …). Every mutation is a pure function of
 * the bytes and the random source, so a seed reproduces a campaign exactly.
 */
export interface Mutation {
  readonly name: string;
  readonly apply: (bytes: Uint8Array, rng: Random) => Uint8Array;
}

const { decodeModel, encodeModel, DataType, onnx } = proto;
type ModelProto = ReturnType<typeof decodeModel>;
type GraphProto = NonNullable<ModelProto['graph']>;

const pick = <T>(rng: Random, list: readonly T[]): T | undefined => (list.length ? list[rng.int(list.length)] : undefined);

/** Decodes, edits the graph, encodes (a model that does not decode is returned damaged differently). */
function edit(fn: (g: GraphProto, rng: Random, m: ModelProto) => void): (bytes: Uint8Array, rng: Random) => Uint8Array {
  return (bytes, rng) => {
    const model = decodeModel(bytes);
    if (model.graph) fn(model.graph, rng, model);
    return encodeModel(model);
  };
}

/** Dims that break naive arithmetic. */
const HOSTILE_DIMS = [2 ** 40, 2 ** 31, 2 ** 31 - 1, -1, -7, 0, 1e15, 2 ** 53 + 2];

const tensorsOf = (g: GraphProto) => [
  ...g.initializer,
  ...g.node.flatMap((n) => n.attribute.map((a) => a.t).filter((t): t is NonNullable<typeof t> => Boolean(t))),
];

export const byteMutations: readonly Mutation[] = [
  {
    name: 'bit flips',
    apply: (bytes, rng) => {
      const out = Uint8Array.from(bytes);
      const flips = 1 + rng.int(8);
      for (let i = 0; i < flips; i++) {
        const at = rng.int(out.length);
        out[at] = (out[at] as number) ^ (1 << rng.int(8));
      }
      return out;
    },
  },
  {
    name: 'random overwrite',
    apply: (bytes, rng) => {
      const out = Uint8Array.from(bytes);
      const start = rng.int(out.length);
      const len = 1 + rng.int(32);
      for (let i = start; i < Math.min(out.length, start + len); i++) out[i] = rng.int(256);
      return out;
    },
  },
  {
    name: 'truncation',
    apply: (bytes, rng) => bytes.slice(0, rng.int(bytes.length)),
  },
  {
    name: 'duplicated chunk',
    apply: (bytes, rng) => {
      const start = rng.int(bytes.length);
      const len = 1 + rng.int(Math.min(256, bytes.length - start));
      const at = rng.int(bytes.length);
      const chunk = bytes.slice(start, start + len);
      const out = new Uint8Array(bytes.length + chunk.length);
      out.set(bytes.subarray(0, at), 0);
      out.set(chunk, at);
      out.set(bytes.subarray(at), at + chunk.length);
      return out;
    },
  },
  {
    name: 'deleted chunk',
    apply: (bytes, rng) => {
      const start = rng.int(bytes.length);
      const len = 1 + rng.int(Math.min(256, bytes.length - start));
      const out = new Uint8Array(bytes.length - len);
      out.set(bytes.subarray(0, start), 0);
      out.set(bytes.subarray(start + len), start);
      return out;
    },
  },
  {
    name: 'varint bombs',
    // 0xff bytes read as endless varint continuation: lengths and counts that claim gigabytes.
    apply: (bytes, rng) => {
      const out = Uint8Array.from(bytes);
      const start = rng.int(out.length);
      for (let i = start; i < Math.min(out.length, start + 2 + rng.int(9)); i++) out[i] = 0xff;
      return out;
    },
  },
];

export const protoMutations: readonly Mutation[] = [
  {
    name: 'huge or negative input dims',
    apply: edit((g, rng) => {
      const dims = g.input.flatMap((i) => i.type?.tensorType?.shape?.dim ?? []);
      const d = pick(rng, dims);
      if (d) {
        d.dimParam = '';
        d.dimValue = pick(rng, HOSTILE_DIMS) as number;
      }
    }),
  },
  {
    name: 'huge or negative initializer dims',
    apply: edit((g, rng) => {
      const t = pick(rng, tensorsOf(g));
      if (t && t.dims.length) t.dims[rng.int(t.dims.length)] = pick(rng, HOSTILE_DIMS) as number;
      else if (t) t.dims = [pick(rng, HOSTILE_DIMS) as number];
    }),
  },
  {
    name: 'initializer data that does not match its dims',
    apply: edit((g, rng) => {
      const t = pick(rng, tensorsOf(g));
      if (t && t.rawData?.length) t.rawData = t.rawData.slice(0, rng.int(t.rawData.length));
      else if (t) t.dims = [...t.dims.map(() => 3), 5];
    }),
  },
  {
    name: 'wrong data type of an initializer',
    apply: edit((g, rng) => {
      const t = pick(rng, tensorsOf(g));
      if (t) t.dataType = pick(rng, [0, DataType.STRING, DataType.BOOL, DataType.FLOAT16, DataType.INT8, 99, -3]) as number;
    }),
  },
  {
    name: 'wrong element type of an input or output',
    apply: edit((g, rng) => {
      const vi = pick(rng, [...g.input, ...g.output]);
      const tt = vi?.type?.tensorType;
      if (tt) tt.elemType = pick(rng, [0, DataType.STRING, DataType.BOOL, DataType.INT64, DataType.UINT8, 77]) as number;
    }),
  },
  {
    name: 'a graph input removed',
    apply: edit((g, rng) => {
      if (g.input.length) g.input.splice(rng.int(g.input.length), 1);
    }),
  },
  {
    name: 'an initializer removed',
    apply: edit((g, rng) => {
      if (g.initializer.length) g.initializer.splice(rng.int(g.initializer.length), 1);
    }),
  },
  {
    name: 'a cycle',
    apply: edit((g, rng) => {
      // An early node consumes the output of a later one (or its own output).
      const k = rng.int(g.node.length);
      const j = k + rng.int(g.node.length - k);
      const early = g.node[k];
      const late = g.node[j];
      if (early && late && early.input.length && late.output[0]) early.input[rng.int(early.input.length)] = late.output[0];
    }),
  },
  {
    name: 'a node consuming an undefined tensor',
    apply: edit((g, rng) => {
      const n = pick(rng, g.node);
      if (n && n.input.length) n.input[rng.int(n.input.length)] = pick(rng, ['undefined_tensor', '', '\u0000', 'x'.repeat(4096)]) as string;
      else if (n) n.input.push('undefined_tensor');
    }),
  },
  {
    name: 'nodes reordered',
    apply: edit((g, rng) => {
      for (let i = g.node.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [g.node[i], g.node[j]] = [g.node[j] as never, g.node[i] as never];
      }
    }),
  },
  {
    name: 'a node removed',
    apply: edit((g, rng) => {
      if (g.node.length) g.node.splice(rng.int(g.node.length), 1);
    }),
  },
  {
    name: 'duplicate producers',
    apply: edit((g, rng) => {
      const a = pick(rng, g.node);
      const b = pick(rng, g.node);
      if (a && b && b.output[0]) a.output = [b.output[0], ...a.output.slice(1)];
    }),
  },
  {
    name: 'an unknown or renamed operator',
    apply: edit((g, rng) => {
      const n = pick(rng, g.node);
      if (n) {
        n.opType = pick(rng, ['NoSuchOp', '', 'Loop', 'If', 'Scan', 'Relu', 'Conv', 'Gemm', 'Softmax', 'Reshape', 'MaxPool', 'Sin']) as string;
        if (rng.next() < 0.3) n.domain = pick(rng, ['com.example', 'ai.onnx.ml', 'com.microsoft']) as string;
      }
    }),
  },
  {
    name: 'hostile attributes',
    apply: edit((g, rng) => {
      const n = pick(rng, g.node);
      if (!n) return;
      const a = pick(rng, n.attribute);
      if (a) {
        if (a.ints?.length) a.ints = a.ints.map(() => pick(rng, [0, -1, 2 ** 31, 1e9, -(2 ** 40)]) as number);
        else if (a.ints) a.ints = [pick(rng, [0, -1, 2 ** 31, 1e9]) as number];
        a.i = pick(rng, [0, -1, 2 ** 31, 1e9, -(2 ** 40)]) as number;
        a.f = pick(rng, [NaN, Infinity, -Infinity, 1e38, 0]) as number;
        if (rng.next() < 0.3) a.type = rng.int(30);
      } else {
        n.attribute.push(proto.onnx.AttributeProto.create({ name: pick(rng, ['axis', 'perm', 'kernel_shape', 'strides', 'pads', 'to', 'group']), type: 7, ints: [1e9, -5] }) as never);
      }
    }),
  },
  {
    name: 'inputs or outputs dropped from a node',
    apply: edit((g, rng) => {
      const n = pick(rng, g.node);
      if (!n) return;
      if (rng.next() < 0.5) n.input = n.input.slice(0, rng.int(n.input.length + 1));
      else n.output = [];
    }),
  },
  {
    name: 'graph outputs removed or undefined',
    apply: edit((g, rng) => {
      if (rng.next() < 0.4) g.output = [];
      else if (g.output[0]) g.output[0].name = pick(rng, ['nothing_computes_this', '', 'x']) as string;
    }),
  },
  {
    name: 'opset changed',
    apply: edit((_g, rng, m) => {
      const version = pick(rng, [0, 1, 7, 10, 11, 18, 21, 1000, -1]) as number;
      if (m.opsetImport.length && rng.next() < 0.8) (m.opsetImport[0] as { version: number }).version = version;
      else m.opsetImport = [];
    }),
  },
  {
    name: 'external data references',
    apply: edit((g, rng) => {
      const t = pick(rng, tensorsOf(g));
      if (!t) return;
      t.dataLocation = 1;
      if (rng.next() < 0.7) t.rawData = new Uint8Array(0);
      const location = pick(rng, ['/etc/passwd', '../../etc/passwd', 'weights.bin', 'C:\\x.bin', '', 'file:///etc/passwd', 'a/../../b']) as string;
      t.externalData = [
        { key: 'location', value: location },
        { key: pick(rng, ['offset', 'length', 'checksum']) as string, value: pick(rng, ['0', '-1', '99999999999999999999', 'x']) as string },
      ];
    }),
  },
  {
    name: 'external data in a sparse initializer or a sparse_value',
    apply: edit((g, rng) => {
      const t = pick(rng, g.initializer.filter((i) => i.dataType === DataType.FLOAT && i.dims.length > 0));
      if (!t) return;
      const location = pick(rng, ['/etc/passwd', '../../etc/passwd', 'weights.bin', '.env', 'a/../../b']) as string;
      const values = onnx.TensorProto.create({ name: t.name, dataType: DataType.FLOAT, dims: [1], dataLocation: 1, externalData: [{ key: 'location', value: location }] });
      const sparse = onnx.SparseTensorProto.create({ values, indices: onnx.TensorProto.create({ dataType: DataType.INT64, dims: [1], int64Data: [0] }), dims: t.dims });
      if (rng.next() < 0.5) {
        g.initializer = g.initializer.filter((i) => i !== t);
        g.sparseInitializer = [...(g.sparseInitializer ?? []), sparse as never];
      } else {
        g.initializer = g.initializer.filter((i) => i !== t);
        const node = onnx.NodeProto.create({ opType: 'Constant', output: [t.name], attribute: [{ name: 'sparse_value', type: onnx.AttributeProto.AttributeType.SPARSE_TENSOR, sparseTensor: sparse }] });
        g.node.unshift(node as never);
      }
    }),
  },
  {
    name: 'no graph',
    apply: edit((_g, _rng, m) => {
      m.graph = null;
    }),
  },
  {
    name: 'shape inference pitfalls',
    apply: edit((g, rng) => {
      // A Reshape target, Slice bounds or axis from a constant that is absurd.
      const ints = g.initializer.filter((t) => t.dataType === DataType.INT64);
      const t = pick(rng, ints);
      if (t) t.rawData = new Uint8Array(BigInt64Array.from(Array.from({ length: Math.max(1, (t.rawData?.length ?? 8) / 8) }, () => BigInt(pick(rng, [0, -1, -(2 ** 40), 2 ** 40, -(2 ** 53)]) as number))).buffer);
      const n = pick(rng, g.node);
      if (n && !t) n.input.push(n.input[0] ?? 'x');
    }),
  },
];

/** Every mutation, byte-level first. */
export const mutations: readonly Mutation[] = [...byteMutations, ...protoMutations];
