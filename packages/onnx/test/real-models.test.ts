import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { fromOnnx, tensor, type OrtModule } from '../src/index.js';
import { fixture, json } from './fixtures.js';

interface GradFixture {
  wrt: string;
  target: number;
  input: { shape: number[]; dtype: string; data: number[] };
  output: { shape: number[]; data: number[] };
  gradient: { shape: number[]; data: number[] };
}

ortWeb.env.wasm.numThreads = 1;
const runtimes: [string, OrtModule][] = [
  ['onnxruntime-node', ortNode],
  ['onnxruntime-web', ortWeb as unknown as OrtModule],
];

// PyTorch gradients of real architectures: d(sum over the batch of output[:, target]) / d(wrt).
describe.each(runtimes)('whole-model gradients on %s match PyTorch', (_name, ort) => {
  for (const name of ['mobilenet_v2_64', 'tiny_bert']) {
    it(name, async () => {
      const ref = json<GradFixture>(`real/${name}.grad.json`);
      const model = await fromOnnx(ort, fixture(`real/${name}.onnx`));
      const input = ref.input.dtype === 'int64' ? tensor(BigInt64Array.from(ref.input.data.map(BigInt)), ref.input.shape) : tensor(Float32Array.from(ref.input.data), ref.input.shape);
      const [n, classes] = ref.output.shape as [number, number];
      const w = new Float32Array(n * classes);
      for (let i = 0; i < n; i++) w[i * classes + ref.target] = 1;
      const source = ref.wrt === model.inputNames[0] ? { input: 0 } : { layer: ref.wrt };
      const { output, gradients } = await model.gradient({ inputs: [input], outputWeights: tensor(w, [n, classes]), wrt: [source] });
      const g = gradients[0]!.data as Float32Array;
      expect(gradients[0]!.dims).toEqual(ref.gradient.shape);
      const scale = Math.max(...ref.gradient.data.map(Math.abs));
      let worst = 0;
      let relative = 0;
      ref.gradient.data.forEach((v, i) => {
        worst = Math.max(worst, Math.abs(g[i]! - v) / (1e-4 + 1e-3 * Math.abs(v)));
        relative = Math.max(relative, Math.abs(g[i]! - v) / scale);
      });
      expect(worst).toBeLessThanOrEqual(1); // the fixture's tolerance: atol 1e-4, rtol 1e-3
      expect(relative).toBeLessThan(1e-4); // and relative to the gradient's size (MobileNet's are ~1e-10)
      const o = output.data as Float32Array;
      ref.output.data.forEach((v, i) => expect(Math.abs(o[i]! - v)).toBeLessThanOrEqual(1e-4 + 1e-3 * Math.abs(v)));
      model.dispose();
    });
  }
});
