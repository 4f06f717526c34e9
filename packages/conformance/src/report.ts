import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { loadCases } from './fixtures.js';
import { formatReport, runCase, type BackendUnderTest, type CaseResult } from './harness.js';
import { onnxUnderTest } from './onnx-backend.js';
import { tfjsUnderTest } from './tfjs-backend.js';

/**
 * Prints the conformance report for each backend named on the command line: `cpu`, `wasm` (tfjs),
 * `onnx-node`, `onnx-web` (default: all).
 */
async function main(): Promise<void> {
  tf.enableProdMode();
  const names = process.argv.slice(2).length ? process.argv.slice(2) : ['cpu', 'wasm', 'onnx-node', 'onnx-web'];
  for (const name of names) {
    let but: BackendUnderTest<unknown>;
    if (name === 'onnx-node') but = onnxUnderTest(ortNode, 'onnxruntime-node') as BackendUnderTest<unknown>;
    else if (name === 'onnx-web') but = onnxUnderTest(ortWeb as never, 'onnxruntime-web') as BackendUnderTest<unknown>;
    else {
      await tf.setBackend(name);
      await tf.ready();
      but = tfjsUnderTest() as BackendUnderTest<unknown>;
    }
    const results: CaseResult[] = [];
    for (const c of loadCases()) results.push(await runCase(c, but));
    but.dispose();
    console.log(formatReport(but.name, results));
  }
}

await main();
