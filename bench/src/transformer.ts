import fs from 'node:fs';
import { fixturePath } from '@attribution/conformance';
import { fromOnnx, tensor, type OrtModule } from '@attribution/onnx';
import { hasShapeArithmetic, inferShapes, topoSort, transformModel, Graph } from '@attribution/onnx-grad';
import { Saliency } from '@attribution/primary';
import { createRandom } from '@attribution/tensor';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { peakRssMb, round, type BenchRecord } from './record.js';
import { timeInterleaved } from './stats.js';

const SEQUENCE = 128;

/**
 * The gradient model of a transformer encoder layer (`nn.TransformerEncoderLayer` exported at opset 17
 * with dynamic batch and sequence axes) against its forward pass, at sequence length 128 (target ≤ 3):
 * both sessions run on the same prepared feeds, interleaved. Also: a Saliency call end to end against a
 * forward call, and how many sessions repeated calls create (shape arithmetic is reduced once per input
 * shape, never per call).
 */
export async function transformerGradient(runs: number): Promise<BenchRecord[]> {
  const file = fixturePath('architectures/transformer_encoder.opset17.onnx');
  const bytes = new Uint8Array(fs.readFileSync(file));
  const graph = new Graph(bytes);
  topoSort(graph.graph);
  graph.refresh();
  inferShapes(graph);
  const declared = graph.info('input').shape ?? [];
  if (typeof declared[1] === 'number' && declared[1] !== SEQUENCE) {
    console.log(`transformer_encoder.opset17.onnx has a fixed sequence length ${declared[1]}; skipping the sequence-${SEQUENCE} case.`);
    return [];
  }
  const d = declared[2] as number;
  const records: BenchRecord[] = [];
  ortWeb.env.wasm.numThreads = 2;
  const runtimes: [string, OrtModule][] = [
    ['onnxruntime-node', ortNode],
    ['onnxruntime-web', ortWeb as unknown as OrtModule],
  ];
  for (const batch of [1, 8]) {
    const rng = createRandom(5);
    const data = Float32Array.from({ length: batch * SEQUENCE * d }, () => rng.normal());
    const shape = [batch, SEQUENCE, d];
    const built = transformModel(bytes, { wrt: ['input'], inputShapes: hasShapeArithmetic(graph) ? { input: shape } : undefined });
    for (const [name, ort] of runtimes) {
      const options = { graphOptimizationLevel: 'all' as const, intraOpNumThreads: 2 };
      const forward = await ort.InferenceSession.create(bytes, options);
      const gradient = await ort.InferenceSession.create(built.bytes, options);
      const x = new ort.Tensor('float32', data, shape);
      const classes = 6;
      const w = new ort.Tensor('float32', Float32Array.from({ length: batch * classes }, (_, i) => (i % classes === 1 ? 1 : 0)), [batch, classes]);
      const [forwardMs, gradientMs] = await timeInterleaved(
        [async () => void (await forward.run({ input: x })), async () => void (await gradient.run({ input: x, [built.weights as string]: w }))],
        runs,
        2,
        10,
      );
      records.push({
        suite: 'transformer',
        backend: name,
        model: `transformer_encoder (opset 17, sequence ${SEQUENCE})`,
        method: 'gradient model run',
        options: { batch },
        medianMs: round(gradientMs as number, 3),
        reference: 'forward pass of the model file',
        referenceMs: round(forwardMs as number, 3),
        ratio: round((gradientMs as number) / (forwardMs as number)),
        target: '≤ 3',
        peakRssMb: peakRssMb(),
        runs,
      });
      await Promise.all([forward.release(), gradient.release()]);

      // End to end: Saliency (one gradient call, target and weights prepared by the library) against a forward call.
      let created = 0;
      const counted: OrtModule = { Tensor: ort.Tensor, InferenceSession: { create: async (b, o) => (created++, ort.InferenceSession.create(b, o)) } };
      const model = await fromOnnx(counted, bytes, { sessionOptions: { intraOpNumThreads: 2 } });
      const input = tensor(data, shape);
      const saliency = new Saliency(model);
      const [forwardCall, saliencyCall] = await timeInterleaved(
        [async () => void (await model.forward({ inputs: [input] })), async () => void (await saliency.attribute(input, { target: 1, abs: false }))],
        runs,
        2,
        10,
      );
      records.push({
        suite: 'transformer',
        backend: name,
        model: `transformer_encoder (opset 17, sequence ${SEQUENCE})`,
        method: `Saliency (${created} sessions created over ${2 * (runs + 2) * 10} calls)`,
        options: { batch },
        medianMs: round(saliencyCall as number, 3),
        reference: 'model.forward',
        referenceMs: round(forwardCall as number, 3),
        ratio: round((saliencyCall as number) / (forwardCall as number)),
        peakRssMb: peakRssMb(),
        runs,
      });
      model.dispose();
    }
  }
  return records;
}
