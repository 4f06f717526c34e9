import fs from 'node:fs';
import * as ort from 'onnxruntime-node';
import { fromOnnx, hostBackend, tensor, type OrtModule } from '@attribution/onnx';
import { IntegratedGradients } from '@attribution/primary';
import { createRandom } from '@attribution/tensor';
import { benchModel } from './onnx-ig.js';

// One IG call on MobileNetV2-224 with internalBatchSize 10 and the nSteps given on the command line, in a fresh
// process: prints the process's peak RSS, which must not grow with nSteps (memory is bounded by the batch).
const nSteps = Number(process.argv[2] ?? 50);
const file = benchModel('mobilenet_v2_224.onnx') as string;
const model = await fromOnnx(ort as unknown as OrtModule, fs.readFileSync(file), { sessionOptions: { intraOpNumThreads: 2 } });
const rng = createRandom(9);
const x = tensor(Float32Array.from({ length: 3 * 224 * 224 }, () => rng.normal()), [1, 3, 224, 224]);
const t = performance.now();
const { attributions } = await new IntegratedGradients(model).attribute(x, { target: 7, nSteps, internalBatchSize: 10 });
const ms = performance.now() - t;
hostBackend.dispose(attributions);
model.dispose();
console.log(JSON.stringify({ nSteps, peakRssMb: Number((process.resourceUsage().maxRSS / 1024).toFixed(1)), ms: Number(ms.toFixed(1)) }));
