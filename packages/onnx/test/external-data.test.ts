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
      /fromOnnx options: expected only the options output, sessionOptions, gradient, finiteDifferenceStep, externalDataFolder, got unknown option 'externalDataFolders'\. Did you mean externalDataFolder\?/,
    );
  });

  it('leaves models without external data alone, folder or not', async () => {
    expect(await outputOf(ortNode, model(), { externalDataFolder: path.join(root, 'nope') })).toHaveLength(4);
  });
});
