import * as ort from 'onnxruntime-web';
import type { OrtModule } from '@attribution/onnx';
import { onnxUnderTest } from '../src/index.js';
import { conformanceSuite } from './suite.js';

ort.env.wasm.numThreads = 1;
conformanceSuite(async () => onnxUnderTest(ort as unknown as OrtModule, 'onnxruntime-web (wasm)'));
