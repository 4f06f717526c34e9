import fs from 'node:fs';
import * as ort from 'onnxruntime-node';
import { ArgumentError, BackendError, ShapeError } from '@attribution/tensor';
import { IntegratedGradients, Saliency } from '@attribution/primary';
import { describe, expect, it, vi } from 'vitest';
import { forwardOnlyGradient, forwardOnlyModel } from '@attribution/testing';
import { HostTensor, InvalidModelError, UnsupportedOperatorError, fromOnnx, hostBackend, tensor } from '../src/index.js';
import { fixture } from './fixtures.js';

describe('fromOnnx', () => {
  const cnn = fixture('models/cnn.onnx');
  const x = tensor(Float32Array.from({ length: 128 }, (_, i) => Math.sin(i)), [2, 1, 8, 8]);

  it('loads from a path, bytes or an ArrayBuffer and describes inputs and outputs', async () => {
    const bytes = fs.readFileSync(cnn);
    for (const source of [cnn, new Uint8Array(bytes), bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)]) {
      const model = await fromOnnx(ort, source);
      expect(model.inputs).toEqual([{ name: 'x', type: 'float32', shape: ['batch', 1, 8, 8] }]);
      expect(model.output).toBe('output');
      model.dispose();
    }
  });

  it('rejects malformed bytes, unreadable paths and a missing runtime with typed errors', async () => {
    await expect(fromOnnx(ort, new Uint8Array([1, 2, 3, 250, 255, 7]))).rejects.toThrow(InvalidModelError);
    const truncated = fs.readFileSync(cnn).subarray(0, 500);
    await expect(fromOnnx(ort, truncated)).rejects.toThrow(InvalidModelError);
    await expect(fromOnnx(ort, '/nonexistent/model.onnx')).rejects.toThrow(/model: expected a readable ONNX file/);
    await expect(fromOnnx({} as never, cnn)).rejects.toThrow(/ort: expected the onnxruntime-node or onnxruntime-web module/);
  });

  it('rejects an unknown output name, listing the outputs', async () => {
    await expect(fromOnnx(ort, cnn, { output: 'logits' })).rejects.toThrow(/output: expected one of the model outputs: 'output', got 'logits'/);
  });

  it('rejects inputs of the wrong shape or dtype, naming the model input', async () => {
    const model = await fromOnnx(ort, cnn);
    const small = tensor(new Float32Array(2 * 16), [2, 1, 4, 4]);
    await expect(model.forward({ inputs: [small] })).rejects.toThrow(ShapeError);
    await expect(model.forward({ inputs: [small] })).rejects.toThrow(/inputs\[0\]: expected shape \[batch, 1, 8, 8\] for model input 'x', got shape \[2, 1, 4, 4\]/);
    const ints = tensor(new Int32Array(128), [2, 1, 8, 8]);
    await expect(model.forward({ inputs: [ints] })).rejects.toThrow(/inputs\[0\]: expected a float32 tensor for model input 'x', got a int32 tensor/);
    await expect(model.forward({ inputs: [x, x] })).rejects.toThrow(ArgumentError);
    const ig = new IntegratedGradients(model);
    await expect(ig.attribute(small, { target: 0 })).rejects.toThrow(ShapeError);
    model.dispose();
  });

  it('names every operator without a backward rule in one error, and estimates by finite differences on request', async () => {
    const model = await fromOnnx(ort, forwardOnlyModel());
    const input = tensor(Float32Array.from([0.3, -0.2, 0.9, 1.1, 0.4, -0.6]), [2, 3]);
    const sal = new Saliency(model);
    const error = await sal.attribute(input, { target: 1, abs: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnsupportedOperatorError);
    expect(error).toBeInstanceOf(BackendError);
    expect((error as UnsupportedOperatorError).operators.map((o) => o.opType)).toEqual(['DFT', 'Det']);
    expect((error as Error).message).toMatch(/No gradient rule for 2 ONNX operators: DFT \(1 node, first 'the_dft'\); Det \(1 node, first 'the_det'\).*finite-difference/);

    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const fd = await fromOnnx(ort, forwardOnlyModel(), { gradient: 'finite-difference' });
    const { attributions } = await new Saliency(fd).attribute(input, { target: 1, abs: false });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]?.[0]).toMatch(/finite-difference gradients cost 2 × 3 forward evaluations per example for each gradient call \(1 model call of up to 512 rows for a batch of 2\)/);
    warn.mockRestore();
    const data = attributions.data as Float32Array;
    const xs = [0.3, -0.2, 0.9, 1.1, 0.4, -0.6];
    for (let r = 0; r < 2; r++) {
      const want = forwardOnlyGradient(xs.slice(3 * r, 3 * r + 3), 1);
      for (let j = 0; j < 3; j++) expect(data[3 * r + j]).toBeCloseTo(want[j]!, 2);
    }
    fd.dispose();
    model.dispose();
  });

  it('reads, replaces and differentiates intermediate tensors', async () => {
    const model = await fromOnnx(ort, cnn);
    const layer = { layer: '/Relu_output_0' };
    const { captured } = await model.forward({ inputs: [x], capture: [layer] });
    expect(captured[0]!.dims).toEqual([2, 3, 8, 8]);
    const zeros = hostBackend.fill([2, 3, 8, 8], 0);
    const replaced = await model.forward({ inputs: [x], replace: [{ ref: layer, value: zeros }] });
    const bias = Array.from(replaced.output.data as Float32Array);
    expect(bias.slice(0, 4)).toEqual(bias.slice(4, 8)); // with the layer zeroed only the bias of fc remains
    const w = hostBackend.tensor([0, 1, 0, 0, 0, 1, 0, 0], [2, 4]);
    const g = await model.gradient({ inputs: [x], outputWeights: w, wrt: [layer, { input: 0 }] });
    expect(g.gradients.map((t) => t.dims)).toEqual([[2, 3, 8, 8], [2, 1, 8, 8]]);
    // the node name works too, and unknown names list what exists
    const byNode = await model.forward({ inputs: [x], capture: [{ layer: '/conv1/Conv', side: 'input', index: 0 }] });
    expect(Array.from(byNode.captured[0]!.data as Float32Array)).toEqual(Array.from(x.data as Float32Array));
    await expect(model.forward({ inputs: [x], capture: [{ layer: 'relu9' }] })).rejects.toThrow(/layer: expected one of the tensors computed by the model \(or a node name\): '\/conv1\/Conv_output_0'/);
    expect(await model.layers()).toContain('/Relu_output_0');
    model.dispose();
  });

  it('feeds int64 token ids and extra model inputs from additionalForwardArgs', async () => {
    const text = await fromOnnx(ort, fixture('models/text.onnx'));
    const ids = tensor(BigInt64Array.from([1n, 2n, 3n, 4n, 5n]), [1, 5]);
    const { output } = await text.forward({ inputs: [ids] });
    expect(output.dims).toEqual([1, 2]);
    const asInt32 = tensor(Int32Array.from([1, 2, 3, 4, 5]), [1, 5]);
    expect(Array.from((await text.forward({ inputs: [asInt32] })).output.data as Float32Array)).toEqual(Array.from(output.data as Float32Array));
    text.dispose();
    const two = await fromOnnx(ort, fixture('models/two_input.onnx'));
    const a = tensor(new Float32Array(8).fill(0.5), [2, 4]);
    const b = tensor(new Float32Array(6).fill(-1), [2, 3]);
    const both = await two.forward({ inputs: [a, b] });
    const viaArgs = await two.forward({ inputs: [a], args: [b] });
    expect(Array.from(viaArgs.output.data as Float32Array)).toEqual(Array.from(both.output.data as Float32Array));
    await expect(two.forward({ inputs: [a] })).rejects.toThrow(/missing 'b'/);
    two.dispose();
  });

  it('reuses sessions and releases them on dispose', async () => {
    const release = vi.fn(async () => undefined);
    let created = 0;
    const spy = {
      Tensor: ort.Tensor,
      InferenceSession: {
        async create(bytes: Uint8Array, options?: object) {
          created++;
          const session = await ort.InferenceSession.create(bytes, options);
          return Object.assign(Object.create(session) as object, { run: session.run.bind(session), release }) as never;
        },
      },
    };
    const model = await fromOnnx(spy as never, cnn);
    const ig = new IntegratedGradients(model);
    for (let i = 0; i < 3; i++) await ig.attribute(x, { target: i, nSteps: 4, internalBatchSize: 4 });
    expect(created).toBe(2); // one forward session, one gradient session
    model.dispose();
    await new Promise((r) => setTimeout(r, 10));
    expect(release).toHaveBeenCalledTimes(2);
    await expect(ig.attribute(x, { target: 0 })).rejects.toThrow(/disposed/);
  });

  it('accepts onnxruntime tensors as inputs', async () => {
    const model = await fromOnnx(ort, cnn);
    const input = new ort.Tensor('float32', x.data as Float32Array, [2, 1, 8, 8]);
    const { attributions } = await new Saliency(model).attribute(input as never, { target: 2 });
    expect(attributions).toBeInstanceOf(HostTensor);
    expect(attributions.dims).toEqual([2, 1, 8, 8]);
    model.dispose();
  });
});

describe('limits on the gradient models built', () => {
  const cnn = fixture('models/cnn.onnx');
  const x = tensor(Float32Array.from({ length: 64 }, (_, i) => Math.sin(i)), [1, 1, 8, 8]);

  it('a gradient model over maxNodes or with a constant over maxConstantElements is refused, naming the limit and how to raise it', async () => {
    const small = await fromOnnx(ort, cnn, { limits: { maxNodes: 12 } });
    await expect(new Saliency(small).attribute(x, { target: 0 })).rejects.toThrow(/The gradient model's node count \(\d+\) exceeds the limit maxNodes = 12; raise it with fromOnnx\(ort, model, \{ limits: \{ maxNodes: … \} \}\)/);
    // The forward pass is the model file itself: no limit applies to it.
    expect((await small.forward({ inputs: [x] })).output.dims).toEqual([1, 4]);
    small.dispose();
    const tiny = await fromOnnx(ort, cnn, { limits: { maxConstantElements: 8 } });
    await expect(new Saliency(tiny).attribute(x, { target: 0 })).rejects.toThrow(/A constant of the gradient model \(\d+\) exceeds the limit maxConstantElements = 8/);
    tiny.dispose();
  });

  it('bad limits are refused with the names that exist', async () => {
    await expect(fromOnnx(ort, cnn, { limits: { maxNode: 5 } as never })).rejects.toThrow(/limits: expected only maxNodes, maxConstantElements, got 'maxNode'\. Did you mean maxNodes\?/);
    await expect(fromOnnx(ort, cnn, { limits: { maxNodes: 0 } })).rejects.toThrow(/limits\.maxNodes: expected a positive integer, got 0/);
  });
});
