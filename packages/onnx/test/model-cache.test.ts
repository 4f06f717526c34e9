import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DeepLift, Saliency } from '@attribution/primary';
import { ArgumentError } from '@attribution/tensor';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { fromOnnx, gradientModelCache, HostTensor, type OrtModule } from '../src/index.js';
import { fixture } from './fixtures.js';

const digits = fixture('real/digits_cnn.onnx');
const x = new HostTensor(Float32Array.from({ length: 2 * 64 }, (_, i) => ((i * 37) % 17) / 16), [2, 1, 8, 8], 'float32');
const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'attribution-model-cache-'));
const files = (dir: string): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []);

async function saliency(folder: string | false, ort: OrtModule = ortNode, source: string | Uint8Array = digits): Promise<number[]> {
  const model = await fromOnnx(ort, source, { cache: folder === false ? false : { folder } });
  try {
    return Array.from((await new Saliency(model).attribute(x, { target: 3 })).attributions.data as Float32Array);
  } finally {
    model.dispose();
  }
}

describe('the gradient-model cache', () => {
  it('stores a built gradient model with ONNX Runtime\'s optimised form, and a later model loads it: same gradients', async () => {
    const dir = tmp();
    const uncached = await saliency(false);
    expect(files(dir)).toEqual([]);
    expect(await saliency(dir)).toEqual(uncached);
    // Two entries: the gradient model with its optimised form, and the optimised form of the model as given
    // (Saliency's forward pass), which keeps no copy of the model.
    const byKey = (): Map<string, string[]> => {
      const m = new Map<string, string[]>();
      for (const f of files(dir)) m.set(f.slice(0, 64), [...(m.get(f.slice(0, 64)) ?? []), f.slice(64)]);
      return m;
    };
    expect([...byKey().values()].sort()).toEqual([['.json', '.onnx', '.opt.onnx'], ['.json', '.opt.onnx']]);
    const entry = files(dir);
    const gradientKey = [...byKey()].find(([, suffixes]) => suffixes.includes('.onnx'))?.[0] as string;
    const meta = path.join(dir, `${gradientKey}.json`);
    fs.utimesSync(meta, new Date(0), new Date(0));
    // A new model (another process would be the same): read from the cache (its use is recorded), nothing added.
    expect(await saliency(dir)).toEqual(uncached);
    expect(files(dir)).toEqual(entry);
    expect(fs.statSync(meta).mtimeMs).toBeGreaterThan(1000);
    // The cached model is the gradient model itself: an ONNX file with the gradient output.
    const cached = JSON.parse(fs.readFileSync(meta, 'utf8')) as { gradients: string[]; output: string };
    expect(cached.output).toBe('logits');
    expect(cached.gradients).toEqual(['__attribution/grad/0']);
    // The model as given without its optimised form (removed by hand): optimised and stored again.
    const forwardKey = [...byKey().keys()].find((k) => k !== gradientKey) as string;
    fs.rmSync(path.join(dir, `${forwardKey}.opt.onnx`));
    expect(await saliency(dir)).toEqual(uncached);
    expect(files(dir)).toEqual(entry);
  });

  it('keys by what is built: another rule set, another model, another runtime are other entries', async () => {
    const dir = tmp();
    await saliency(dir);
    const model = await fromOnnx(ortNode, digits, { cache: { folder: dir } });
    await new DeepLift(model).attribute(x, { target: 3 });
    model.dispose();
    // Saliency's gradient model, DeepLift's, and the model as given (both methods' forward pass).
    expect(files(dir).filter((f) => f.endsWith('.json'))).toHaveLength(3);
    // onnxruntime-web: its own gradient entry, with no optimised form (it writes none), and none for the model as given.
    expect(await saliency(dir, ortWeb as unknown as OrtModule)).toEqual(await saliency(false, ortWeb as unknown as OrtModule));
    expect(files(dir).filter((f) => f.endsWith('.json'))).toHaveLength(4);
    expect(files(dir).filter((f) => f.endsWith('.opt.onnx'))).toHaveLength(3);
    // Another model: other bytes, another key.
    const bytes = new Uint8Array(fs.readFileSync(digits));
    const changed = Uint8Array.from(bytes);
    changed[changed.length - 1] = (changed[changed.length - 1] as number) ^ 1; // a weight's last byte
    await saliency(dir, ortNode, changed);
    expect(files(dir).filter((f) => f.endsWith('.json'))).toHaveLength(6);
    const c = gradientModelCache(dir);
    expect(c.folder).toBe(dir);
    expect((await c.size()).entries).toBe(6);
    const before = files(dir).length;
    const cleared = await c.clear();
    expect(cleared.files).toBe(before);
    expect(files(dir)).toEqual([]);
    expect(await c.size()).toEqual({ entries: 0, bytes: 0 });
  });

  it('keeps the folder under maxBytes, the least recently used going first', async () => {
    const dir = tmp();
    const model = await fromOnnx(ortNode, digits, { cache: { folder: dir, maxBytes: 1 } });
    await new Saliency(model).attribute(x, { target: 3 });
    const first = files(dir).filter((f) => f.endsWith('.json'));
    await new DeepLift(model).attribute(x, { target: 3 });
    model.dispose();
    const second = files(dir).filter((f) => f.endsWith('.json'));
    expect(second).toHaveLength(1);
    expect(second).not.toEqual(first);
  });

  it('a damaged entry is built again, not an error; the cache can be off; bad options are refused', async () => {
    const dir = tmp();
    const uncached = await saliency(false);
    await saliency(dir);
    for (const f of files(dir).filter((n) => n.endsWith('.onnx'))) fs.writeFileSync(path.join(dir, f), 'not a model');
    expect(await saliency(dir)).toEqual(uncached);
    expect(fs.statSync(path.join(dir, files(dir).find((f) => f.endsWith('.opt.onnx')) as string)).size).toBeGreaterThan(1000);
    await expect(fromOnnx(ortNode, digits, { cache: { folder: '' } })).rejects.toThrow(ArgumentError);
    await expect(fromOnnx(ortNode, digits, { cache: { maxBytes: -1 } })).rejects.toThrow(/cache: expected true, false, or \{ folder\?: a path, maxBytes\?: a number ≥ 0 \}/);
    await expect(fromOnnx(ortNode, digits, { cache: 'yes' as never })).rejects.toThrow(ArgumentError);
    // A folder that cannot be written: the model is built as without a cache.
    const file = path.join(tmp(), 'a-file');
    fs.writeFileSync(file, '');
    expect(await saliency(path.join(file, 'sub'))).toEqual(uncached);
  });
});
