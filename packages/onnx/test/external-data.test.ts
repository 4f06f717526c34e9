import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { Saliency } from '@attribution/primary';
import { inspectModel, proto } from '@attribution/onnx-grad';
import { ArgumentError } from '@attribution/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidModelError, OnnxModel, fromOnnx, tensor, type OrtModule } from '../src/index.js';

// Models whose weights live in external data files (data_location EXTERNAL, `location` + `offset`/`length`):
// fromOnnx refuses them without `externalDataFolder`, never reads outside that folder, and inlines the bytes
// so that onnxruntime-node and onnxruntime-web load the same self-contained model.

ortWeb.env.wasm.numThreads = 1;
const { makeNode, makeValueInfo, makeTensor, encodeModel, onnx, DataType } = proto;

const W = [0.5, -1, 0.25, 2, -0.75, 1];
const B = [0.1, -0.2];

/** y = tanh(x·W + B), W [3, 2] and B [2], stored inline or as external references. */
function model(external?: { w: Record<string, string>; b: Record<string, string> }): Uint8Array {
  const w = makeTensor('W', DataType.FLOAT, [3, 2], W);
  const b = makeTensor('B', DataType.FLOAT, [2], B);
  for (const [t, refs] of external ? ([[w, external.w], [b, external.b]] as const) : []) {
    t.rawData = new Uint8Array(0);
    t.dataLocation = 1;
    t.externalData = Object.entries(refs).map(([key, value]) => ({ key, value }));
  }
  const m = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'external',
      node: [makeNode('MatMul', ['x', 'W'], ['h']), makeNode('Add', ['h', 'B'], ['z']), makeNode('Tanh', ['z'], ['y'])],
      initializer: [w, b],
      input: [makeValueInfo('x', DataType.FLOAT, ['batch', 3])],
      output: [makeValueInfo('y', DataType.FLOAT, ['batch', 2])],
    },
  });
  return encodeModel(m as never);
}

const floats = (values: readonly number[]): Buffer => Buffer.from(new Float32Array(values).buffer);
const x = tensor(Float32Array.from([1, 2, 3, -1, 0.5, 0]), [2, 3]);

let root: string;
let folder: string;
let outside: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'attribution-external-'));
  folder = path.join(root, 'model');
  outside = path.join(root, 'outside');
  fs.mkdirSync(path.join(folder, 'sub'), { recursive: true });
  fs.mkdirSync(outside);
  // weights.bin: 8 bytes of padding, then B (8 bytes), then W (24 bytes).
  fs.writeFileSync(path.join(folder, 'weights.bin'), Buffer.concat([Buffer.alloc(8, 0xee), floats(B), floats(W)]));
  fs.writeFileSync(path.join(folder, 'sub', 'w.bin'), floats(W));
  fs.writeFileSync(path.join(outside, 'secret.bin'), floats(W));
  fs.symlinkSync(path.join(outside, 'secret.bin'), path.join(folder, 'escape.bin'));
  fs.symlinkSync(outside, path.join(folder, 'escape-dir'));
  fs.symlinkSync(path.join(folder, 'sub', 'w.bin'), path.join(folder, 'inside-link.bin'));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const good = () => model({ w: { location: 'weights.bin', offset: '16', length: '24' }, b: { location: 'weights.bin', offset: '8', length: '8' } });
const withW = (w: Record<string, string>) => model({ w, b: { location: 'weights.bin', offset: '8', length: '8' } });

async function outputOf(ort: OrtModule, bytes: Uint8Array, options: Parameters<typeof fromOnnx>[2]): Promise<number[]> {
  const m = await fromOnnx(ort, bytes, options);
  try {
    const { output } = await m.forward({ inputs: [x] });
    return Array.from(output.data as Float32Array);
  } finally {
    m.dispose();
  }
}

describe('external data', () => {
  it('is refused without externalDataFolder, naming the option and the files', async () => {
    const call = fromOnnx(ortNode, good());
    await expect(call).rejects.toThrow(ArgumentError);
    await expect(call).rejects.toThrow(/externalDataFolder: expected the folder holding the model's external data \(2 tensor\(s\) are stored outside the \.onnx file, in 'weights\.bin'\), got none/);
  });

  it('is refused by the OnnxModel constructor, which could only let ONNX Runtime resolve it', () => {
    expect(() => new OnnxModel(ortNode, good())).toThrow(/model: expected a model whose tensors are stored in the file .*got a model with 2 tensor\(s\) in external files/);
  });

  it('is read from the folder (offsets and lengths, subfolders, in-folder links) and matches the inline model on node and web', async () => {
    for (const ort of [ortNode, ortWeb as unknown as OrtModule]) {
      const want = await outputOf(ort, model(), {});
      expect(await outputOf(ort, good(), { externalDataFolder: folder })).toEqual(want);
      expect(await outputOf(ort, withW({ location: 'sub/w.bin' }), { externalDataFolder: folder })).toEqual(want);
      expect(await outputOf(ort, withW({ location: './sub//w.bin', offset: '0' }), { externalDataFolder: pathToFileURL(folder) })).toEqual(want);
      expect(await outputOf(ort, withW({ location: 'inside-link.bin' }), { externalDataFolder: `${folder}/` })).toEqual(want);
    }
  });

  it('gives the same gradients as the inline model', async () => {
    const inline = await fromOnnx(ortNode, model());
    const external = await fromOnnx(ortNode, good(), { externalDataFolder: folder });
    const a = await new Saliency(inline).attribute(x, { target: 1 });
    const b = await new Saliency(external).attribute(x, { target: 1 });
    expect(Array.from(b.attributions.data as Float32Array)).toEqual(Array.from(a.attributions.data as Float32Array));
    inline.dispose();
    external.dispose();
  });

  it('is summarised by inspectModel without reading it', () => {
    const summary = inspectModel(good());
    expect(summary.inputs).toEqual([{ name: 'x', type: 'float', shape: ['batch', 3] }]);
    expect(summary.outputs[0]?.shape).toEqual(['batch', 2]);
  });

  it.each([
    ['an absolute path', '/etc/passwd', /an absolute path/],
    ['a .. escape', '../outside/secret.bin', /a '\.\.' segment that leaves the folder/],
    ['a .. escape after a subfolder', 'sub/../../outside/secret.bin', /a '\.\.' segment/],
    ['a Windows drive path', 'C:\\Windows\\win.ini', /an absolute path/],
    ['a UNC path', '\\\\server\\share\\w.bin', /an absolute path/],
    ['a URL', 'file:///etc/passwd', /a URL/],
    ['a NUL byte', 'weights.bin\u0000.txt', /a NUL byte/],
  ])('refuses %s', async (_name, location, why) => {
    const call = fromOnnx(ortNode, withW({ location }), { externalDataFolder: folder });
    await expect(call).rejects.toThrow(ArgumentError);
    await expect(call).rejects.toThrow(/externalDataFolder: expected external data locations relative to the folder, inside it/);
    await expect(call).rejects.toThrow(why);
  });

  it.each([
    ['a symbolic link to a file outside', 'escape.bin'],
    ['a file under a symbolic link to a folder outside', 'escape-dir/secret.bin'],
  ])('refuses %s', async (_name, location) => {
    const call = fromOnnx(ortNode, withW({ location }), { externalDataFolder: folder });
    await expect(call).rejects.toThrow(ArgumentError);
    await expect(call).rejects.toThrow(/externalDataFolder: expected external data files inside the folder, got '.*' for tensor 'W', which resolves to '.*outside.*secret\.bin' outside/);
  });

  it('refuses ranges outside the file, data that does not fit the dims, missing files and bad folders', async () => {
    const opts = { externalDataFolder: folder };
    await expect(fromOnnx(ortNode, withW({ location: 'weights.bin', offset: '30', length: '24' }), opts)).rejects.toThrow(InvalidModelError);
    await expect(fromOnnx(ortNode, withW({ location: 'weights.bin', offset: '30', length: '24' }), opts)).rejects.toThrow(/Tensor 'W' reads bytes 30–54 of 'weights\.bin', which has 40 bytes/);
    await expect(fromOnnx(ortNode, withW({ location: 'weights.bin', offset: '8', length: '8' }), opts)).rejects.toThrow(/Tensor 'W' has shape \[3, 2\] \(6 values\) but stores 2 float values/);
    await expect(fromOnnx(ortNode, withW({ location: 'weights.bin', offset: '-8' }), opts)).rejects.toThrow(/Tensor 'W' has an invalid external data offset '-8'/);
    await expect(fromOnnx(ortNode, withW({ location: 'missing.bin' }), opts)).rejects.toThrow(/externalDataFolder: expected a folder holding 'missing\.bin' \(external data of tensor 'W'\)/);
    await expect(fromOnnx(ortNode, withW({ offset: '0' }), opts)).rejects.toThrow(/Tensor 'W' stores its values externally but names no location/);
    await expect(fromOnnx(ortNode, good(), { externalDataFolder: path.join(root, 'nope') })).rejects.toThrow(/externalDataFolder: expected a readable folder/);
    await expect(fromOnnx(ortNode, good(), { externalDataFolder: path.join(folder, 'weights.bin') })).rejects.toThrow(/externalDataFolder: expected a readable folder, got '.*weights\.bin' \(not a folder\)/);
    await expect(fromOnnx(ortNode, good(), { externalDataFolder: 42 as never })).rejects.toThrow(/externalDataFolder: expected a folder path or URL, got 42/);
  });

  it('a misspelt option is caught, with the closest name', async () => {
    await expect(fromOnnx(ortNode, good(), { externalDataFolders: folder } as never)).rejects.toThrow(
      /fromOnnx options: expected only the options output, sessionOptions, executionProviders, cache, gradient, finiteDifferenceStep, externalDataFolder, limits, labels, got unknown option 'externalDataFolders'\. Did you mean externalDataFolder\?/,
    );
  });

  it('leaves models without external data alone, folder or not', async () => {
    expect(await outputOf(ortNode, model(), { externalDataFolder: path.join(root, 'nope') })).toHaveLength(4);
  });
});

describe('external data anywhere ONNX allows it goes through the same confinement', () => {
  const external = (t: proto.TensorProto, location: string, offset = '8', length = '8'): proto.TensorProto => {
    t.rawData = new Uint8Array(0);
    t.dataLocation = 1;
    t.externalData = [
      { key: 'location', value: location },
      { key: 'offset', value: offset },
      { key: 'length', value: length },
    ];
    return t;
  };
  // S = sparse [3] with values B (external) at indices 0 and 2: [0.1, 0, -0.2].
  const sparse = (location: string): object => ({ values: external(makeTensor('S', DataType.FLOAT, [2], B), location), indices: makeTensor('', DataType.INT64, [2], [0, 2]), dims: [3] });
  const wrap = (graph: object, extra: object = {}): Uint8Array =>
    encodeModel(onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: '', version: 13 }, { domain: 'custom', version: 1 }], graph, ...extra }) as never);
  const io = { input: [makeValueInfo('x', DataType.FLOAT, ['batch', 3])], output: [makeValueInfo('y', DataType.FLOAT, ['batch', 3])] };
  const sparseConstant = (location: string): proto.NodeProto => {
    const n = makeNode('Constant', [], ['S']);
    n.attribute = [onnx.AttributeProto.create({ name: 'sparse_value', type: onnx.AttributeProto.AttributeType.SPARSE_TENSOR, sparseTensor: sparse(location) as never }) as never];
    return n;
  };
  const placements: [string, (location: string) => Uint8Array][] = [
    ['a sparse initializer', (location) => wrap({ name: 'g', node: [makeNode('Add', ['x', 'S'], ['y'])], sparseInitializer: [sparse(location)], ...io })],
    ["a Constant's sparse_value", (location) => wrap({ name: 'g', node: [sparseConstant(location), makeNode('Add', ['x', 'S'], ['y'])], ...io })],
    [
      'a model-local function body',
      (location) =>
        wrap(
          { name: 'g', node: [{ ...makeNode('AddS', ['x'], ['y']), domain: 'custom' }], ...io },
          { irVersion: 9, functions: [onnx.FunctionProto.create({ name: 'AddS', domain: 'custom', input: ['x'], output: ['y'], node: [sparseConstant(location), makeNode('Add', ['x', 'S'], ['y'])] as never, opsetImport: [{ domain: '', version: 13 }] })] },
        ),
    ],
    [
      'a Constant in a nested subgraph',
      (location) => {
        const c = makeNode('Constant', [], ['S']);
        c.attribute = [onnx.AttributeProto.create({ name: 'value', type: onnx.AttributeProto.AttributeType.TENSOR, t: external(makeTensor('S', DataType.FLOAT, [3], [0, 0, 0]), location, '16', '12') }) as never];
        const branch = onnx.GraphProto.create({ name: 'b', node: [c, makeNode('Add', ['x', 'S'], ['z'])] as never, output: [makeValueInfo('z', DataType.FLOAT)] });
        const iff = makeNode('If', ['cond'], ['y']);
        iff.attribute = [
          onnx.AttributeProto.create({ name: 'then_branch', type: onnx.AttributeProto.AttributeType.GRAPH, g: branch }) as never,
          onnx.AttributeProto.create({ name: 'else_branch', type: onnx.AttributeProto.AttributeType.GRAPH, g: branch }) as never,
        ];
        return wrap({ name: 'g', node: [iff], initializer: [makeTensor('cond', DataType.BOOL, [], [1])], ...io });
      },
    ],
    [
      'a training graph',
      (location) =>
        wrap(
          { name: 'g', node: [makeNode('Identity', ['x'], ['y'])], ...io },
          { trainingInfo: [{ initialization: { name: 'init', initializer: [external(makeTensor('T', DataType.FLOAT, [2], B), location)], output: [makeValueInfo('T', DataType.FLOAT)] } }] },
        ),
    ],
  ];

  for (const [where, build] of placements) {
    it(`${where}: refused without externalDataFolder, confined with it, inlined when inside`, async () => {
      await expect(fromOnnx(ortNode, build('weights.bin'))).rejects.toThrow(/externalDataFolder: expected the folder holding the model's external data \(\d tensor\(s\) are stored outside the \.onnx file/);
      expect(() => new OnnxModel(ortNode, build('weights.bin'))).toThrow(/got a model with \d tensor\(s\) in external files/);
      await expect(fromOnnx(ortNode, build('../outside/secret.bin'), { externalDataFolder: folder })).rejects.toThrow(/a '\.\.' segment that leaves the folder/);
      await expect(fromOnnx(ortNode, build('escape.bin'), { externalDataFolder: folder })).rejects.toThrow(/outside/);
      const model = await fromOnnx(ortNode, build('weights.bin'), { externalDataFolder: folder });
      const { output } = await model.forward({ inputs: [x] });
      expect(output.dims).toEqual([2, 3]);
      model.dispose();
    });
  }

  it('the ./.env attack: a sparse initializer naming a file of the working directory is refused, never read', async () => {
    const cwd = process.cwd();
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'attribution-env-'));
    fs.writeFileSync(path.join(work, '.env'), floats([1234, 5678]));
    process.chdir(work);
    try {
      await expect(fromOnnx(ortNode, placements[0]![1]('.env'))).rejects.toThrow(ArgumentError);
    } finally {
      process.chdir(cwd);
      fs.rmSync(work, { recursive: true, force: true });
    }
  });

  it("external data in a function's default attribute values (a field the decoder predates) is found in the bytes and refused", async () => {
    // The function's attribute_proto (field 11 of FunctionProto) holds a tensor default with external data.
    const attr = onnx.AttributeProto.encode(onnx.AttributeProto.create({ name: 'w', type: onnx.AttributeProto.AttributeType.TENSOR, t: external(makeTensor('D', DataType.FLOAT, [2], B), '.env') }) as never).finish();
    const fn = onnx.FunctionProto.encode(onnx.FunctionProto.create({ name: 'F', domain: 'custom', input: ['x'], output: ['y'], node: [makeNode('Identity', ['x'], ['y'])] as never, opsetImport: [{ domain: '', version: 13 }] })).finish();
    const varint = (v: number): number[] => (v < 0x80 ? [v] : [(v & 0x7f) | 0x80, ...varint(v >>> 7)]);
    const field = (n: number, payload: Uint8Array): number[] => [...varint(n * 8 + 2), ...varint(payload.length), ...payload];
    const fnWithDefault = Uint8Array.from([...fn, ...field(11, attr)]);
    const base = wrap({ name: 'g', node: [{ ...makeNode('F', ['x'], ['y']), domain: 'custom' }], ...io }, { irVersion: 9 });
    const bytes = Uint8Array.from([...base, ...field(25, fnWithDefault)]);
    // With or without a folder: no folder would make it readable.
    await expect(fromOnnx(ortNode, bytes)).rejects.toThrow(InvalidModelError);
    await expect(fromOnnx(ortNode, bytes, { externalDataFolder: folder })).rejects.toThrow(/keeps external data where this library cannot read it \(function\[0\]\.attribute\[0\]\.tensor\[0\]: default attribute values of a model-local function\)/);
  });
});
