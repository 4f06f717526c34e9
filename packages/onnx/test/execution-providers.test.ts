import { Saliency } from '@attribution/primary';
import { ArgumentError, BackendError } from '@attribution/tensor';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { fromOnnx, HostTensor, type OrtModule } from '../src/index.js';
import { fixture } from './fixtures.js';

const digits = fixture('real/digits_cnn.onnx');
const x = new HostTensor(Float32Array.from({ length: 2 * 64 }, (_, i) => ((i * 37) % 17) / 16), [2, 1, 8, 8], 'float32');

async function saliency(ort: OrtModule, executionProviders?: readonly string[]): Promise<Float32Array> {
  const model = await fromOnnx(ort, digits, executionProviders ? { executionProviders } : {});
  try {
    return (await new Saliency(model).attribute(x, { target: 3 })).attributions.data as Float32Array;
  } finally {
    model.dispose();
  }
}

describe('execution providers', () => {
  it("'cpu' on onnxruntime-node and 'wasm' on onnxruntime-web give the default's gradients; the model says what was asked", async () => {
    expect(Array.from(await saliency(ortNode, ['cpu']))).toEqual(Array.from(await saliency(ortNode)));
    expect(Array.from(await saliency(ortWeb as unknown as OrtModule, ['wasm']))).toEqual(Array.from(await saliency(ortWeb as unknown as OrtModule)));
    const model = await fromOnnx(ortNode, digits, { executionProviders: ['cpu', { name: 'cpu' }] as never });
    expect(model.executionProviders).toEqual(['cpu', 'cpu']);
    model.dispose();
  });

  // GPU providers run where the machine has them (their gradients must equal the CPU's); elsewhere the error says what is missing.
  for (const [name, ort, provider, hint] of [
    ['onnxruntime-node', ortNode, 'cuda', /CUDA 12 and cuDNN 9/],
    ['onnxruntime-node', ortNode, 'tensorrt', /TensorRT 10/],
    ['onnxruntime-web', ortWeb, 'webgpu', /navigator\.gpu/],
  ] as const) {
    it(`${provider} on ${name}: runs with the CPU's gradients, or is refused naming what it needs`, async () => {
      let got: Float32Array | undefined;
      try {
        got = await saliency(ort as unknown as OrtModule, [provider]);
      } catch (e) {
        expect(e).toBeInstanceOf(BackendError);
        expect((e as Error).message).toMatch(new RegExp(`^The execution provider '${provider}' is not available here \\(`));
        expect((e as Error).message).toMatch(hint);
        console.log(`${provider} on ${name}: not available on this machine, skipped (${(e as Error).message.slice(0, 120)}…)`);
        return;
      }
      const cpu = await saliency(ort as unknown as OrtModule);
      const scale = Math.max(...Array.from(cpu, Math.abs));
      got.forEach((v, i) => expect(Math.abs(v - (cpu[i] as number))).toBeLessThanOrEqual(1e-3 * scale));
    });
  }

  it('bad values are refused before anything runs', async () => {
    await expect(fromOnnx(ortNode, digits, { executionProviders: [] })).rejects.toThrow(ArgumentError);
    await expect(fromOnnx(ortNode, digits, { executionProviders: 'cuda' as never })).rejects.toThrow(/executionProviders: expected a non-empty list of provider names/);
    await expect(fromOnnx(ortNode, digits, { executionProviders: ['cpu'], sessionOptions: { executionProviders: ['cpu'] } })).rejects.toThrow(/executionProviders: expected the providers in one place/);
    const unknown = await fromOnnx(ortNode, digits, { executionProviders: ['nosuch'] });
    await expect(new Saliency(unknown).attribute(x, { target: 3 })).rejects.toThrow(/The execution provider 'nosuch' is not available here .*Leave executionProviders out/);
    unknown.dispose();
  });
});
