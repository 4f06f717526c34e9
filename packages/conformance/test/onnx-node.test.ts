import * as ort from 'onnxruntime-node';
import { onnxUnderTest } from '../src/index.js';
import { conformanceSuite } from './suite.js';

conformanceSuite(async () => onnxUnderTest(ort, 'onnxruntime-node'));
