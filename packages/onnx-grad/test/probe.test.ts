import fs from 'node:fs';
import * as ort from 'onnxruntime-node';
import { it } from 'vitest';
import { transformModel } from '../src/index.js';

it('mobilenet + bert', async () => {
  for (const [name, dims] of [['mobilenet_v2_64', 4], ['tiny_bert', 3]] as const) {
    const ref = JSON.parse(fs.readFileSync(`/work/shared/models/${name}.grad.json`, 'utf8'));
    const bytes = fs.readFileSync(`/work/shared/models/${name}.onnx`);
    const t0 = performance.now();
    const built = transformModel(bytes, { wrt: [ref.wrt] });
    console.log(name, 'built in', (performance.now() - t0).toFixed(1), 'ms', built.bytes.length, built.inputs);
    const session = await ort.InferenceSession.create(built.bytes);
    const input = ref.input;
    const x = input.dtype === 'int64' ? new ort.Tensor('int64', BigInt64Array.from(input.data.map(BigInt)), input.shape) : new ort.Tensor('float32', Float32Array.from(input.data), input.shape);
    const [n, classes] = ref.output.shape;
    const w = new Float32Array(n * classes);
    for (let i = 0; i < n; i++) w[i * classes + ref.target] = 1;
    const feeds: Record<string, ort.Tensor> = { [built.inputs[0]!.name]: x, [built.weights!]: new ort.Tensor('float32', w, [n, classes]) };
    const out = await session.run(feeds);
    const g = out[built.gradients[0]!]!.data as Float32Array;
    let worst = 0;
    ref.gradient.data.forEach((v: number, i: number) => { worst = Math.max(worst, Math.abs(g[i]! - v) / (1e-4 + 1e-3 * Math.abs(v))); });
    const o = out[built.output]!.data as Float32Array;
    let worstOut = 0;
    ref.output.data.forEach((v: number, i: number) => { worstOut = Math.max(worstOut, Math.abs(o[i]! - v)); });
    const scale = Math.max(...ref.gradient.data.map((v: number) => Math.abs(v)));
    let rel = 0;
    ref.gradient.data.forEach((v: number, i: number) => { rel = Math.max(rel, Math.abs(g[i]! - v) / scale); });
    console.log(name, 'grad worst ratio', worst, 'max err / max |grad|', rel, 'output max err', worstOut, dims);
  }
});
